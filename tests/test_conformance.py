"""The conformance suite: every learner tidal exports x every check its tags call for.

Test ids read ``LearnerName:check_name`` (``LearnerName-1`` for a class's second parameter set).
A learner class opts in with its tags; it may define ``_unit_test_params()`` (a classmethod
yielding dicts of parameters) when its default constructor is not enough.
"""

from __future__ import annotations

import pytest

from tidal.checks import checks_for, dataset_for, learner_cases

_IMPORT_ERRORS: dict[str, BaseException] = {}


def _cases() -> list:
    # one learner's checks on one test worker (pytest-xdist --dist loadgroup): its kernels are
    # compiled once, not by two workers at the same time
    return [
        pytest.param(
            learner,
            check,
            id=f"{name}:{check.__name__}",
            marks=pytest.mark.xdist_group(name.split("-")[0]),
        )
        for name, learner in learner_cases(_IMPORT_ERRORS)
        for check in checks_for(learner)
    ]


_CASES = _cases()


@pytest.mark.parametrize(("learner", "check"), _CASES)
def test_conformance(learner, check):
    check(learner, dataset_for(learner))


def _third_party(e: BaseException) -> bool:
    """An optional dependency that is not installed (not a tidal module that is broken)."""
    name = getattr(e, "name", None) or ""
    return isinstance(e, ModuleNotFoundError) and not name.startswith("tidal")


def test_every_learner_module_imports_and_every_learner_builds():
    broken = {
        k: f"{type(e).__name__}: {e}" for k, e in _IMPORT_ERRORS.items() if not _third_party(e)
    }
    assert not broken, (
        "modules that fail to import, or learners that cannot be built with their default "
        "constructor or _unit_test_params() (none of their checks ran): "
        + "; ".join(f"{k}: {v}" for k, v in broken.items())
    )


def test_learners_were_found():
    names = {p.id.split(":")[0] for p in _CASES}
    assert {"MajorityClassifier", "NoChangeClassifier", "RunningMeanRegressor"} <= names


# --------------------------------------------------------------------------- the checks can fail
# Each mutant below has one planted bug; the check named next to it must catch it.
import numpy as np  # noqa: E402

from tidal import checks  # noqa: E402
from tidal.base import Tags  # noqa: E402
from tidal.dummy import MajorityClassifier, RunningMeanRegressor  # noqa: E402


class _MeanOfBlock(RunningMeanRegressor):
    """Predicts every row of a block with the mean from before the block."""

    def _step_arrays(self, X_pred, X_learn, y, w, out):
        before = self._mean
        super()._step_arrays(X_pred, X_learn, y, w, out)
        if X_pred is not None:
            out[:] = before


class _LeakyState(MajorityClassifier):
    """state_dict hands out the live counts, which later learning updates in place."""

    def _state_dict(self):
        return {"counts": self._counts}

    def _step_arrays(self, X_pred, X_learn, y, w, out):
        counts = self._counts
        super()._step_arrays(X_pred, X_learn, y, w, out)
        if X_learn is not None and len(counts) == len(self._counts):
            counts[:] = self._counts
            self._counts = counts


class _ForgetfulState(RunningMeanRegressor):
    """Restores the mean but not the weight behind it."""

    def _load_state(self, state):
        self._sum_w, self._mean = 0.0, float(state["mean"])


class _Unpicklable(RunningMeanRegressor):
    def _init_state(self):
        super()._init_state()
        self._scale = lambda v: v


class _Unseeded(RunningMeanRegressor):
    """Claims a seed but draws from an unseeded generator."""

    _tags = Tags(task="regression", stochastic=True)

    def __init__(self, seed: int = 0):
        self.seed = seed

    def _step_arrays(self, X_pred, X_learn, y, w, out):
        super()._step_arrays(X_pred, X_learn, y, w, out)
        out += np.random.default_rng().normal(size=out.shape) * 1e-3


class _NumpyScalar(RunningMeanRegressor):
    def predict_one(self, x):
        return np.float64(super().predict_one(x))


class _Unnormalised(MajorityClassifier):
    def _step_arrays(self, X_pred, X_learn, y, w, out):
        super()._step_arrays(X_pred, X_learn, y, w, out)
        out *= 2.0


class _NaNOut(RunningMeanRegressor):
    """Says it handles missing values, then predicts NaN for them."""

    def _step_arrays(self, X_pred, X_learn, y, w, out):
        super()._step_arrays(X_pred, X_learn, y, w, out)
        if X_pred is not None:
            out[np.isnan(X_pred).any(axis=1)] = np.nan


class _TouchyInit(RunningMeanRegressor):
    """Logic in __init__: a clone is not equal to the original."""

    def __init__(self, scale: float = 1.0):
        self.scale = scale * 2


class _EagerCounter(RunningMeanRegressor):
    """Counts the rows it is given before they are validated."""

    _tags = Tags(task="regression")

    def _matrix(self, X, learn):
        if learn and self.is_fitted:
            self._sum_w += 1.0
        return super()._matrix(X, learn)


class _CountsPredictions(RunningMeanRegressor):
    """Keeps a count of predictions in its state."""

    def _step_arrays(self, X_pred, X_learn, y, w, out):
        super()._step_arrays(X_pred, X_learn, y, w, out)
        if X_learn is None:
            self._sum_w += len(out)


class _LostClasses(MajorityClassifier):
    """Forgets to grow its counts for a class that appears after a restore."""

    def _load_state(self, state):
        super()._load_state(state)
        self._on_new_classes = lambda n: None


_MUTANTS = [
    (_MeanOfBlock(), checks.check_block_size_invariance),
    (_LeakyState(), checks.check_state_roundtrip_midstream),
    (_ForgetfulState(), checks.check_state_roundtrip_midstream),
    (_Unpicklable(), checks.check_pickle_roundtrip_midstream),
    (_Unseeded(), checks.check_seed_determinism),
    (_NumpyScalar(), checks.check_learn_one_equals_learn_many),
    (_Unnormalised(), checks.check_step_proba_consistent),
    (_NaNOut(), checks.check_nan_handling),
    (_TouchyInit(), checks.check_clone),
    (_LostClasses(), checks.check_state_roundtrip_midstream),
    (_CountsPredictions(), checks.check_predict_changes_nothing),
    (_EagerCounter(), checks.check_nan_handling),
    (_EagerCounter(), checks.check_extra_or_missing_feature),
]


@pytest.mark.parametrize(
    ("mutant", "check"), _MUTANTS, ids=[f"{type(m).__name__}:{c.__name__}" for m, c in _MUTANTS]
)
def test_check_catches_planted_bug(mutant, check):
    with pytest.raises(Exception):  # noqa: B017 (an AssertionError or the bug's own error)
        check(mutant, checks.dataset_for(mutant))
