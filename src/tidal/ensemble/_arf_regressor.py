"""Adaptive Random Forest regressor (Gomes et al., 2018), compiled."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from tidal._kernels import ensemble_forest_regressor as E
from tidal.base import ParameterError, Regressor, Tags, parameters
from tidal.ensemble._members import ARFMembers, ARFTreeDefaults, adwin_params
from tidal.tree import HoeffdingTreeRegressor
from tidal.tree.base import RegressorTreeParams, TreeView

__all__ = ["ARFRegressor"]

_MEMBER = ("fg", "bg", "bg_on", "s_warn", "s_drift", "dnorm", "metric", "counts")
_AGGREGATION = ("mean", "median")
#: rows x members below which the members run in turn rather than in parallel
_PARALLEL_WORK = 256


class MemberRegressorTree(TreeView):
    """Read-only view of one member's current tree (sizes, ``to_text``, importances)."""

    def __init__(self, owner: ARFRegressor, t: int) -> None:
        self._tree = {k: owner._forest[k][t] for k in owner._tree_keys()}
        self.feature_names_in_ = owner.feature_names_in_
        self._value_codes = owner._value_codes
        self._categories = getattr(owner, "_categories", None)

    _leaf_text = HoeffdingTreeRegressor._leaf_text


@parameters
class ARFRegressor(ARFTreeDefaults, RegressorTreeParams, ARFMembers, Regressor):
    """Adaptive Random Forest regressor: Hoeffding regression trees on Poisson-resampled rows
    and random feature subspaces, each with a warning and a drift detector on its error; a
    warning starts a background tree, a drift replaces the tree by it.

    River 0.26.1's ``forest.ARFRegressor`` algorithm, parameters, defaults and update order:
    for each member, predict the row, update the member's MSE, draw ``k ~
    Poisson(lambda_value)`` and, when ``k > 0``, learn the row with weight ``k`` (background
    tree first), then feed the member's error ``y - prediction``, min-max normalised with the
    mean +- 3 standard deviations of its errors so far, to the warning detector (ADWIN, delta
    0.01) and the drift detector (ADWIN, delta 0.001). Each leaf monitors ``max_features``
    features drawn at random the first time it learns. The forest predicts the median of the
    members' predictions (River's default) or their mean.

    The random numbers come from tidal's own generator (keyed by seed, member and row), so the
    trees differ from River's for the same seed; results never depend on the block size or on
    the number of threads. Members are updated in parallel (numba threads). Differences from
    River, all deliberate: a sample weight multiplies ``k`` (River ignores it) and rows of
    weight 0 are skipped; the weighted mean (``disable_weighted_vote=False``) is
    ``sum(weight * prediction)`` with weights summing to 1, where River divides that once more
    by the number of trees (and gives NaN for a single tree); ``min_samples_split`` reaches the
    trees (River's forest drops it and uses 5); ``lambda_value=None`` turns resampling off.

    Parameters
    ----------
    n_models
        Number of trees.
    max_features
        Features monitored per leaf: an int, a float (share of the features), ``"sqrt"``,
        ``"log2"`` or ``None`` (all).
    aggregation_method
        ``"median"`` or ``"mean"`` of the members' predictions.
    lambda_value
        Rate of the Poisson resampling weights; ``None``: no resampling (weight 1).
    disable_weighted_vote
        With ``aggregation_method="mean"``: ``False`` weights each member by
        ``sum(MSE) - its MSE`` (MSE since it was last replaced).
    warning_delta, drift_delta
        Confidence of the ADWIN warning and drift detectors (``None`` disables warnings, and
        so background trees; ``drift_delta=None`` disables tree replacement).
    grace_period, max_depth, delta, tau, leaf_prediction, model_selector_decay,
    nominal_attributes, splitter, min_samples_split, binary_split, max_size,
    memory_estimate_period, stop_mem_management, remove_poor_attrs, merit_preprune
        The trees' parameters (see :class:`tidal.tree.HoeffdingTreeRegressor`; the defaults
        are River's ARF defaults: grace period 50, delta 0.01, adaptive leaves).
    seed
        Seed of the random numbers (``None``: a fresh random seed).

    Examples
    --------
    >>> import numpy as np
    >>> from tidal.ensemble import ARFRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((4000, 5))
    >>> y = 10 * np.sin(np.pi * X[:, 0] * X[:, 1]) + 20 * (X[:, 2] - 0.5) ** 2 + 10 * X[:, 3]
    >>> model = ARFRegressor(n_models=5, seed=1)
    >>> pred = model.step_many(X, y)  # predict each row, then learn it
    >>> mae = np.abs(pred[2000:] - y[2000:]).mean()
    >>> baseline = np.abs(y[2000:] - y[:2000].mean()).mean()
    >>> bool(mae < 0.5 * baseline)
    True
    >>> len(model.n_nodes), model.n_drifts_detected()
    (5, 0)
    """

    _tags = Tags(task="regression", handles_categorical=True, handles_missing=True, stochastic=True)

    _tree_cls = HoeffdingTreeRegressor
    _MEMBER = _MEMBER
    _member_view = MemberRegressorTree

    max_features: int | float | str | None = "sqrt"
    lambda_value: float | None = 6  # None: no resampling (the classifier needs a rate)
    disable_weighted_vote: bool = True
    aggregation_method: str = "median"

    @classmethod
    def _unit_test_params(cls):  # noqa: ANN206
        yield {"n_models": 3, "grace_period": 20, "seed": 42}
        yield {
            "n_models": 4,
            "grace_period": 20,
            "aggregation_method": "mean",
            "disable_weighted_vote": False,
            "leaf_prediction": "mean",
            "max_features": 2,
            "seed": 7,
        }

    # parameters -------------------------------------------------------------------------
    def _check_params(self) -> None:
        self._check_arf()
        if self.aggregation_method not in _AGGREGATION:
            raise ParameterError(
                f"aggregation_method == {self.aggregation_method!r}, must be one of {_AGGREGATION}"
            )
        lam = self.lambda_value
        number = isinstance(lam, int | float | np.integer | np.floating) and not isinstance(
            lam, bool
        )
        if lam is not None and not (number and lam > 0):
            raise ParameterError(f"lambda_value == {lam!r}, must be None or > 0")
        self._ht()._check_params()

    # state ------------------------------------------------------------------------------
    def _init_state(self) -> None:
        F = self.n_features_in_
        J = self._init_nominal(set(self.nominal_attributes or []))
        M = self.n_models
        T = 2 * M
        f = HoeffdingTreeRegressor.new_arrays((T,), 16, 8, F, J, 0, P=256)
        f["sub"] = np.zeros((T, 16), dtype=np.uint8)
        self._init_forest(f, E.clear_tree, M, dnorm=np.zeros((M, 3)), metric=np.zeros((M, 2)))

    def _pool_used(self) -> int:
        return int(self._forest["emeta"][:, 0].max())

    # the kernel hook --------------------------------------------------------------------
    def _kernel_params(self) -> tuple:
        """The kernel's parameter arrays, rebuilt only when a parameter or the features changed
        (they cost more than learning one row)."""
        key = (
            self.feature_names_in_,
            self.categorical_features_,
            *(getattr(self, k) for k in _PARAM_NAMES),
        )
        cached = self.__dict__.get("_kernel_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        ht = self._ht()
        pf, pi = ht._params_arrays()
        lam = 0.0 if self.lambda_value is None else float(self.lambda_value)
        p_warn, p_drift = (adwin_params(d) for d in self._detector_deltas())
        value = (
            pf,
            pi,
            ht._lm_use(),
            self._max_features(self.n_features_in_),
            lam,
            p_warn,
            p_drift,
        )
        self._kernel_cache = (key, value)
        return value

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        n = out.shape[0]
        Xp, Xl, Xpr, Xlr, yv, wv, do_pred, learn, same = self._block_inputs(X_pred, X_learn, y, w)
        pf, pi, lm_use, maxf, lam, p_warn, p_drift = self._kernel_params()
        cat_order = self._category_order(self._forest["ncat"].shape[3])
        M = self.n_models
        out_m = np.zeros((M, n))
        out_e = np.zeros((M, n))
        pos = np.zeros(M, dtype=np.int64)
        mb = E.MemberArrays(**{k: self._members[k] for k in E.MemberArrays._fields})
        rows = E.BlockRows(Xp, Xpr, Xl, Xlr, yv, wv)
        # for a few rows, waking the threads costs more than the work (same results either way)
        run = E.run_members if n * M >= _PARALLEL_WORK else E.run_members_serial
        while True:
            trees = E.ForestArrays(**{k: self._forest[k] for k in E.ForestArrays._fields})
            _dynamic(
                run,
                lam, maxf, self._seed, self._t, pos, rows, do_pred, learn, same, self._nom_idx,
                lm_use, cat_order, pf, pi, trees, mb, p_warn, p_drift, out_m, out_e,
            )  # fmt: skip
            if not (pos < n).any():
                break
            self._grow()  # a member stopped for room
        if do_pred:
            median = self.aggregation_method == "median"
            E.aggregate(out_m, out_e, median, not self.disable_weighted_vote, out)
        if learn:
            self._t += n


#: the constructor's parameters (scikit-learn's ``_get_param_names`` inspects it at every call)
_PARAM_NAMES = tuple(ARFRegressor._get_param_names())


def _dynamic(kernel: Any, *args: Any) -> None:
    """Run ``kernel`` with members handed to threads one at a time (the thread that finishes
    first takes the next one), as its docstring asks."""
    before = numba.set_parallel_chunksize(1)
    try:
        kernel(*args)
    finally:
        numba.set_parallel_chunksize(before)
