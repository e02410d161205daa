"""Adaptive Random Forest regressor (Gomes et al., 2018), compiled."""

from __future__ import annotations

import secrets
from typing import Any

import numba
import numpy as np

from tidal._kernels import ensemble_forest_regressor as E
from tidal._kernels import tree_regressor as K
from tidal._kernels.drift_adwin import adwin_reset, adwin_state_size
from tidal.base import CategoryEncoder, ParameterError, Regressor, Tags
from tidal.ensemble._arf import ARFClassifier
from tidal.ensemble._forest import _adwin_params
from tidal.tree import HoeffdingTreeRegressor
from tidal.tree._hoeffding_classifier import HoeffdingTreeClassifier, _pad, grow_categories
from tidal.tree._hoeffding_regressor import _ARRAYS
from tidal.tree._render import TreeView

__all__ = ["ARFRegressor"]

_TREE_PARAMS = (
    "grace_period",
    "max_depth",
    "delta",
    "tau",
    "leaf_prediction",
    "model_selector_decay",
    "nominal_attributes",
    "splitter",
    "min_samples_split",
    "binary_split",
    "max_size",
    "memory_estimate_period",
    "stop_mem_management",
    "remove_poor_attrs",
    "merit_preprune",
)
# the forest: every array of a single regression tree with a tree axis in front, plus whether
# each leaf drew its feature subspace
_TREE = (*_ARRAYS, "sub")
_NODE_AXIS = ("node_i", "node_f", "nstat", "disabled", "lm", "sub")
_SLOT_AXIS = ("eroot", "rank", "nrank", "ncat", "slot_free")
_POOL_AXIS = ("ef", "ei")
_FILL = {"node_i": -1, "eroot": -1, "rank": -1, "ei": -1}
_MEMBER = ("fg", "bg", "bg_on", "s_warn", "s_drift", "dnorm", "metric", "counts")
_AGGREGATION = ("mean", "median")
#: rows x members below which the members run in turn rather than in parallel
_PARALLEL_WORK = 256


class MemberRegressorTree(TreeView):
    """Read-only view of one member's current tree (sizes, ``to_text``, importances)."""

    def __init__(self, owner: ARFRegressor, t: int) -> None:
        self._tree = {k: owner._forest[k][t] for k in _TREE}
        self.feature_names_in_ = owner.feature_names_in_
        self._value_codes = owner._value_codes
        self._categories = getattr(owner, "_categories", None)

    _leaf_text = HoeffdingTreeRegressor._leaf_text


class ARFRegressor(Regressor):
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

    def __init__(
        self,
        n_models: int = 10,
        max_features: int | float | str | None = "sqrt",
        aggregation_method: str = "median",
        lambda_value: float | None = 6,
        disable_weighted_vote: bool = True,
        warning_delta: float | None = 0.01,
        drift_delta: float | None = 0.001,
        grace_period: int = 50,
        max_depth: int | None = None,
        delta: float = 0.01,
        tau: float = 0.05,
        leaf_prediction: str = "adaptive",
        model_selector_decay: float = 0.95,
        nominal_attributes: list[str] | None = None,
        splitter: str | None = None,
        min_samples_split: int = 5,
        binary_split: bool = False,
        max_size: float = 500.0,
        memory_estimate_period: int = 2_000_000,
        stop_mem_management: bool = False,
        remove_poor_attrs: bool = False,
        merit_preprune: bool = True,
        seed: int | None = None,
    ) -> None:
        self.n_models = n_models
        self.max_features = max_features
        self.aggregation_method = aggregation_method
        self.lambda_value = lambda_value
        self.disable_weighted_vote = disable_weighted_vote
        self.warning_delta = warning_delta
        self.drift_delta = drift_delta
        self.grace_period = grace_period
        self.max_depth = max_depth
        self.delta = delta
        self.tau = tau
        self.leaf_prediction = leaf_prediction
        self.model_selector_decay = model_selector_decay
        self.nominal_attributes = nominal_attributes
        self.splitter = splitter
        self.min_samples_split = min_samples_split
        self.binary_split = binary_split
        self.max_size = max_size
        self.memory_estimate_period = memory_estimate_period
        self.stop_mem_management = stop_mem_management
        self.remove_poor_attrs = remove_poor_attrs
        self.merit_preprune = merit_preprune
        self.seed = seed

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
        if not (isinstance(self.n_models, int | np.integer) and self.n_models >= 1):
            raise ParameterError(f"n_models == {self.n_models!r}, must be an int >= 1")
        if self.seed is not None and not (
            isinstance(self.seed, int | np.integer) and self.seed >= 0
        ):
            raise ParameterError(f"seed == {self.seed!r}, must be None or an int >= 0")
        mf = self.max_features
        ok = (
            mf is None
            or mf in ("sqrt", "log2")
            or (isinstance(mf, int) and not isinstance(mf, bool))
            or (isinstance(mf, float) and 0 < mf <= 1)
        )
        if not ok:
            raise ParameterError(
                f'max_features == {mf!r}, must be an int, a float in (0, 1], "sqrt", "log2" or None'
            )
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
        for name in ("warning_delta", "drift_delta"):
            v = getattr(self, name)
            if v is not None and not 0 < v < 1:
                raise ParameterError(f"{name} == {v!r}, must be None or in (0, 1)")
        self._ht()._check_params()

    def _ht(self) -> HoeffdingTreeRegressor:
        """A single tree with the members' parameters, fitted to the same features (it checks
        the parameters and builds the kernel's parameter arrays)."""
        ht = HoeffdingTreeRegressor(**{k: getattr(self, k) for k in _TREE_PARAMS})
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            ht.feature_names_in_ = names
            ht.categorical_features_ = self.categorical_features_
        return ht

    _max_features = ARFClassifier._max_features

    # state ------------------------------------------------------------------------------
    def _init_state(self) -> None:
        names = self.feature_names_in_
        F = len(names)
        declared = set(self.nominal_attributes or [])
        nominal = [n for n in names if n in self.categorical_features_ or n in declared]
        self._nom_idx = np.full(F, -1, dtype=np.int64)
        for j, n in enumerate(nominal):
            self._nom_idx[names.index(n)] = j
        self._numeric_nominal = [n for n in nominal if n not in self.categorical_features_]
        self._value_codes = CategoryEncoder()
        M = self.n_models
        T = 2 * M
        Nn, Ns, P, J = 16, 8, 256, len(nominal)
        f = {
            "node_i": np.full((T, Nn, K.N_NI), -1, dtype=np.int64),
            "node_f": np.zeros((T, Nn, K.N_NF)),
            "nstat": np.zeros((T, Nn, 3)),
            "disabled": np.zeros((T, Nn, F), dtype=np.uint8),
            "lm": np.zeros((T, Nn, F + 1)),
            "eroot": np.full((T, Ns, F), -1, dtype=np.int64),
            "rank": np.full((T, Ns, F), -1, dtype=np.int64),
            "nrank": np.zeros((T, Ns), dtype=np.int64),
            "ncat": np.zeros((T, Ns, J, 1, 3)),
            "slot_free": np.zeros((T, Ns), dtype=np.int64),
            "ef": np.zeros((T, P, 4)),
            "ei": np.full((T, P, 2), -1, dtype=np.int64),
            "emeta": np.zeros((T, 3), dtype=np.int64),
            "meta_i": np.zeros((T, K.N_MI), dtype=np.int64),
            "meta_f": np.zeros((T, K.N_MF)),
            "sub": np.zeros((T, Nn), dtype=np.uint8),
        }
        for t in range(T):
            E.clear_tree(*(f[k] for k in _TREE), t)
        self._forest = f
        size = adwin_state_size(5)
        s_warn = np.zeros((M, size))
        s_drift = np.zeros((M, size))
        for m in range(M):
            adwin_reset(s_warn[m])
            adwin_reset(s_drift[m])
        self._members = {
            "fg": np.arange(M, dtype=np.int64),
            "bg": np.arange(M, dtype=np.int64) + M,
            "bg_on": np.zeros(M, dtype=np.int64),
            "s_warn": s_warn,
            "s_drift": s_drift,
            "dnorm": np.zeros((M, 3)),
            "metric": np.zeros((M, 2)),
            "counts": np.zeros((M, E.N_COUNTS), dtype=np.int64),
        }
        self._seed = int(self.seed) if self.seed is not None else secrets.randbits(62)
        self._t = 0

    def _get_state(self) -> dict[str, Any]:
        # only the rows in use: the spare capacity depends on how the stream was cut in blocks
        f = self._forest
        mi = f["meta_i"]
        nodes = max(1, int(mi[:, K.MI_NNODES].max()))
        slots = max(1, int(mi[:, K.MI_NEXTSLOT].max()))
        pool = max(1, int(f["emeta"][:, 0].max()))
        cats = max(1, int(mi[:, K.MI_NCATS].max()))
        state: dict[str, Any] = {}
        for k, v in f.items():
            if k in _NODE_AXIS:
                v = v[:, :nodes]
            elif k in _SLOT_AXIS:
                v = v[:, :slots]
            elif k in _POOL_AXIS:
                v = v[:, :pool]
            if k == "ncat":
                v = v[:, :, :, :cats]
            state[k] = v.copy()
        state.update({k: v.copy() for k, v in self._members.items()})
        state["nom_idx"] = self._nom_idx.copy()
        state["numeric_nominal"] = list(self._numeric_nominal)
        state["value_codes"] = self._value_codes.to_json()
        state["seed_used"] = int(self._seed)
        state["t"] = int(self._t)
        return state

    def _set_state(self, state: dict[str, Any]) -> None:
        self._forest = {k: np.array(state[k]) for k in _TREE}
        self._members = {k: np.array(state[k]) for k in _MEMBER}
        self._nom_idx = np.array(state["nom_idx"], dtype=np.int64)
        self._numeric_nominal = list(state["numeric_nominal"])
        self._value_codes = CategoryEncoder.from_json(state["value_codes"])
        self._seed = int(state["seed_used"])
        self._t = int(state["t"])

    # inspection -------------------------------------------------------------------------
    def member(self, m: int) -> MemberRegressorTree:
        """A view of member ``m``'s current tree (``n_nodes``, ``depth``, ``to_text()``...)."""
        if getattr(self, "_forest", None) is None:
            raise IndexError("the ensemble has not learned anything yet")
        if not 0 <= m < self.n_models:
            raise IndexError(f"member {m} out of range: there are {self.n_models}")
        return MemberRegressorTree(self, int(self._members["fg"][m]))

    def _per_member(self, attr: str) -> list[int]:
        if getattr(self, "_forest", None) is None:
            return [0] * self.n_models
        return [getattr(self.member(m), attr) for m in range(self.n_models)]

    @property
    def n_nodes(self) -> list[int]:
        """Number of nodes of each member's tree."""
        return self._per_member("n_nodes")

    @property
    def n_leaves(self) -> list[int]:
        return self._per_member("n_leaves")

    @property
    def depth(self) -> list[int]:
        return self._per_member("depth")

    def n_warnings_detected(self, tree_id: int | None = None) -> int:
        """Warnings detected in total, or by member ``tree_id``."""
        return self._count(E.C_WARN, tree_id)

    def n_drifts_detected(self, tree_id: int | None = None) -> int:
        """Drifts detected (trees replaced) in total, or by member ``tree_id``."""
        return self._count(E.C_DRIFT, tree_id)

    def _count(self, col: int, tree_id: int | None) -> int:
        members = getattr(self, "_members", None)
        if members is None:
            return 0
        c = members["counts"][:, col]
        return int(c.sum() if tree_id is None else c[tree_id])

    # the kernel hook --------------------------------------------------------------------
    # numeric columns declared nominal become category codes exactly as in the single trees
    _codes = HoeffdingTreeClassifier._codes

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
        # the kernel skips a detector whose delta is 0
        p_warn = _adwin_params(self.warning_delta or 0.0)
        p_drift = _adwin_params(self.drift_delta or 0.0)
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

    def _cat_order(self) -> np.ndarray:
        """Codes of each nominal feature in sorted order of their values (River sorts them)."""
        V = self._forest["ncat"].shape[3]
        if not self._numeric_nominal and not self.categorical_features_:
            return np.full((0, V), -1, dtype=np.int64)
        cols = np.nonzero(self._nom_idx >= 0)[0]
        order = np.full((len(cols), V), -1, dtype=np.int64)
        for f in cols:
            name = self.feature_names_in_[f]
            table: dict = {}
            for enc in (self._value_codes, getattr(self, "_categories", None)):
                if enc is not None and name in enc.codes:
                    table = enc.codes[name]
            items = list(table.items())
            try:
                items.sort(key=lambda kv: kv[0])
            except TypeError:
                pass
            codes = [c for _, c in items if c < V]
            order[self._nom_idx[f], : len(codes)] = codes
        return order

    def _grow(self) -> None:
        f = self._forest
        mi, em = f["meta_i"], f["emeta"]
        Nn = f["node_i"].shape[1]
        maxc = max(2, f["ncat"].shape[3])
        if (mi[:, K.MI_NNODES] + maxc + 1 > Nn).any():
            extra = max(Nn, maxc + 1)
            for k in _NODE_AXIS:
                f[k] = _pad(f[k], 1, extra, _FILL.get(k, 0))
        Ns = f["eroot"].shape[1]
        if ((mi[:, K.MI_NFREE] == 0) & (mi[:, K.MI_NEXTSLOT] >= Ns)).any():
            for k in _SLOT_AXIS:
                f[k] = _pad(f[k], 1, Ns, _FILL.get(k, 0))
        P, F = f["ef"].shape[1], f["eroot"].shape[2]
        if (P - em[:, 0] + em[:, 2] < F).any():
            for k in _POOL_AXIS:
                f[k] = _pad(f[k], 1, max(P, F), _FILL.get(k, 0))

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        n = out.shape[0]
        F = self.n_features_in_
        empty = np.zeros((0, F))
        learn = X_learn is not None
        Xlr = np.ascontiguousarray(X_learn, dtype=np.float64) if learn else empty
        Xpr = empty if X_pred is None else np.ascontiguousarray(X_pred, dtype=np.float64)
        Xl = self._codes(Xlr, learn=True) if learn else empty
        same = learn and X_pred is X_learn
        if X_pred is None:
            Xp = empty
        elif same:
            Xpr, Xp = Xlr, Xl
        else:
            Xp = self._codes(Xpr, learn=False)
        if learn:
            grow_categories(self._forest, "ncat", 3, self._nom_idx, Xl)
        yv = np.zeros(0) if y is None else np.asarray(y, dtype=np.float64)
        wv = np.zeros(0) if w is None else np.asarray(w, dtype=np.float64)
        pf, pi, lm_use, maxf, lam, p_warn, p_drift = self._kernel_params()
        cat_order = self._cat_order()
        M = self.n_models
        out_m = np.zeros((M, n))
        out_e = np.zeros((M, n))
        pos = np.zeros(M, dtype=np.int64)
        mb = self._members
        # for a few rows, waking the threads costs more than the work (same results either way)
        run = E.run_members if n * M >= _PARALLEL_WORK else E.run_members_serial
        while True:
            f = self._forest
            _dynamic(
                run,
                lam, maxf, self._seed, self._t, pos, Xp, Xpr, Xl, Xlr, yv, wv, X_pred is not None,
                learn, same, self._nom_idx, lm_use, cat_order, pf, pi, *(f[k] for k in _TREE),
                mb["fg"], mb["bg"], mb["bg_on"], p_warn, p_drift, mb["s_warn"], mb["s_drift"],
                mb["dnorm"], mb["metric"], mb["counts"], out_m, out_e,
            )  # fmt: skip
            if not (pos < n).any():
                break
            self._grow()  # a member stopped for room
        if X_pred is not None:
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
