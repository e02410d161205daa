"""Online bagging (Oza) and leveraging bagging (Bifet et al.) of Hoeffding trees, compiled."""

from __future__ import annotations

from typing import Any

from tidal._kernels import ensemble_forest as E
from tidal.base import ParameterError, Tags, parameters
from tidal.base.state import encode_params
from tidal.ensemble._forest import TreeEnsemble
from tidal.tree import HoeffdingTreeClassifier
from tidal.tree.base import with_river_nb

__all__ = ["BaggingClassifier", "LeveragingBaggingClassifier"]

_METHODS = {"bag": E.LB_BAG, "me": E.LB_ME, "half": E.LB_HALF, "wt": E.LB_WT, "subag": E.LB_SUBAG}
# in the state of a fitted ensemble: written since the trees have ``nb_likelihood``
_NB_MARK = "members_nb_likelihood"


def with_old_members(state: Any) -> Any:
    """A state written before ``nb_likelihood`` existed, with the members its trees were
    learned as: an explicit ``model`` keeps River's naive Bayes; ``model=None`` meant the tree
    defaults of then, which are River's (``HoeffdingTreeClassifier.river_params``)."""
    params = state.get("params") if isinstance(state, dict) else None
    if not isinstance(params, dict):
        return state
    model = params.get("model")
    if isinstance(model, dict):
        return {**state, "params": {**params, "model": with_river_nb(model)}}
    fitted = state.get("state")
    if model is None and isinstance(fitted, dict) and _NB_MARK not in fitted:
        river = HoeffdingTreeClassifier(**HoeffdingTreeClassifier.river_params)
        return {**state, "params": {**params, "model": encode_params(river)}}
    return state


@parameters
class _Bagged(TreeEnsemble):
    _tags = Tags(task="multiclass", handles_categorical=True, handles_missing=True, stochastic=True)

    model: HoeffdingTreeClassifier | None = None

    def _tree_params(self) -> dict[str, Any]:
        model = self.model if self.model is not None else HoeffdingTreeClassifier()
        return model.get_params()

    def _check_common(self) -> None:
        if self.model is not None and type(self.model) is not HoeffdingTreeClassifier:
            raise ParameterError(
                f"model == {self.model!r}, must be None or a tidal.tree.HoeffdingTreeClassifier "
                "(the members are compiled Hoeffding trees)"
            )
        super()._check_common()

    def load_state(self, state: dict[str, Any]) -> _Bagged:
        """Restore a :meth:`state_dict` (parameters included). Returns self."""
        return super().load_state(with_old_members(state))

    def _state_dict(self) -> dict[str, Any]:
        state = super()._state_dict()
        state[_NB_MARK] = self._ht().nb_likelihood
        return state

    @classmethod
    def _unit_test_params(cls):  # noqa: ANN206
        yield {"n_models": 3, "model": HoeffdingTreeClassifier(grace_period=20), "seed": 42}


@parameters
class BaggingClassifier(_Bagged):
    """Online bagging (Oza & Russell, 2001) of Hoeffding trees.

    Each member learns each row with a weight ``k ~ Poisson(1)`` (River's ``BaggingClassifier``
    calls ``learn_one`` ``k`` times; here, as in MOA, the row is learned once with weight
    ``k``). The prediction averages the members' probabilities.

    Parameters
    ----------
    model
        The member tree's parameters, as a :class:`tidal.tree.HoeffdingTreeClassifier`
        (``None``: its defaults).
    n_models
        Number of members.
    seed
        Seed of the random numbers (``None``: a fresh random seed).

    Examples
    --------
    >>> import numpy as np
    >>> from tidal.ensemble import BaggingClassifier
    >>> from tidal.tree import HoeffdingTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((4000, 3))
    >>> y = (X[:, 0] > 0.5).astype(int)
    >>> tree = HoeffdingTreeClassifier(grace_period=50)
    >>> model = BaggingClassifier(model=tree, n_models=4, seed=1)
    >>> pred = model.step_many(X, y)
    >>> bool((pred[2000:] == y[2000:]).mean() > 0.95)
    True
    """

    _mode = E.MODE_BAG

    def _check_params(self) -> None:
        self._check_common()

    def _lambda(self) -> float:
        return 1.0


@parameters
class LeveragingBaggingClassifier(_Bagged):
    """Leveraging bagging (Bifet, Holmes & Pfahringer, 2010) of Hoeffding trees.

    River 0.26.1's ``ensemble.LeveragingBaggingClassifier`` with its defaults and update order:
    each member learns the row with a weight drawn by ``bagging_method`` (``"bag"``:
    ``Poisson(w)``), then predicts it again and feeds "wrong" to its own ADWIN
    (``adwin_delta``); when some member's ADWIN detects a change that raised its error
    estimate, the member with the largest estimate is replaced by a new tree once the row is
    done. The prediction averages the members' probabilities. As in MOA, a row drawn ``k``
    times is learned once with weight ``k`` (River calls ``learn_one`` ``k`` times). Output
    codes are not implemented.

    Parameters
    ----------
    model
        The member tree's parameters, as a :class:`tidal.tree.HoeffdingTreeClassifier`
        (``None``: its defaults).
    n_models
        Number of members.
    w
        Rate of the Poisson resampling weights.
    adwin_delta
        Confidence of each member's ADWIN.
    bagging_method
        ``"bag"``, ``"me"``, ``"half"``, ``"wt"`` or ``"subag"`` (River's).
    seed
        Seed of the random numbers (``None``: a fresh random seed).

    Examples
    --------
    >>> import numpy as np
    >>> from tidal.ensemble import LeveragingBaggingClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((4000, 3))
    >>> y = (X[:, 0] > 0.5).astype(int)
    >>> model = LeveragingBaggingClassifier(n_models=4, seed=1)
    >>> pred = model.step_many(X, y)
    >>> bool((pred[2000:] == y[2000:]).mean() > 0.95)
    True
    >>> model.n_detected_changes
    0
    """

    _mode = E.MODE_LB

    w: float = 6
    adwin_delta: float = 0.002
    bagging_method: str = "bag"

    def _check_params(self) -> None:
        self._check_common()
        if not self.w > 0:
            raise ParameterError(f"w == {self.w!r}, must be > 0")
        if not 0 < self.adwin_delta < 1:
            raise ParameterError(f"adwin_delta == {self.adwin_delta!r}, must be in (0, 1)")
        if self.bagging_method not in _METHODS:
            raise ParameterError(
                f"bagging_method == {self.bagging_method!r}, must be one of {list(_METHODS)}"
            )

    def _lambda(self) -> float:
        return float(self.w)

    def _lb_method(self) -> int:
        return _METHODS[self.bagging_method]

    def _detector_deltas(self) -> tuple[float, float]:
        return 0.0, float(self.adwin_delta)

    @property
    def n_detected_changes(self) -> int:
        """Number of rows after which a member was replaced."""
        return int(getattr(self, "_n_resets", 0))
