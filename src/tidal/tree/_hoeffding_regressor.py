"""Hoeffding tree regressor: River's algorithm in one compiled loop per block."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels import tree_regressor as K
from tidal._kernels.tree_layout import MF_OVERHEAD, MI_GROWTH, MI_ROOT
from tidal._kernels.tree_regressor_ebst import N_EM
from tidal.base import CategoryEncoder, ParameterError, Regressor, Tags
from tidal.tree._hoeffding_classifier import HoeffdingTreeClassifier, _pad, grow_categories
from tidal.tree._render import TreeView

__all__ = ["HoeffdingTreeRegressor"]

_LEAVES = {"mean": 0, "model": 1, "adaptive": 2}
_ARRAYS = (
    "node_i",
    "node_f",
    "nstat",
    "disabled",
    "lm",
    "eroot",
    "rank",
    "nrank",
    "ncat",
    "slot_free",
    "ef",
    "ei",
    "emeta",
    "meta_i",
    "meta_f",
)


class HoeffdingTreeRegressor(TreeView, Regressor):
    """Hoeffding tree regressor (FIMT-style, variance reduction), compiled.

    The same algorithm, parameters and defaults as River 0.26.1's ``tree.HoeffdingTreeRegressor``
    with its default splitters (``TEBSTSplitter`` for numeric features: an extended binary
    search tree over the values rounded to one decimal, with FIMT-DD's pruning of bad
    candidates; ``NominalSplitterReg`` for categorical ones) and its default leaf model
    (``linear_model.LinearRegression()``: SGD with rate 0.01, squared loss). On the same stream
    it chooses the same splits and predicts the same values.

    Parameters
    ----------
    grace_period
        Weight a leaf must see between split attempts.
    max_depth
        Leaves at this depth stop growing (``None``: no limit).
    delta
        Significance of the Hoeffding bound (the split confidence is ``1 - delta``).
    tau
        Tie threshold: split anyway when the Hoeffding bound falls below it.
    leaf_prediction
        ``"mean"`` (target mean), ``"model"`` (a linear model per leaf, inherited by the
        children at a split) or ``"adaptive"`` (whichever of the two has the smaller decayed
        squared error at the leaf).
    model_selector_decay
        Decay of the squared errors that ``"adaptive"`` compares.
    nominal_attributes
        Names of numeric columns to treat as categories (string columns always are).
    splitter
        ``None`` or ``"tebst"``: River's truncated E-BST (values rounded to one decimal);
        ``"ebst"``: the E-BST on the exact values.
    min_samples_split
        Weight each branch of a candidate split must hold.
    binary_split
        Only binary splits (nominal features then split "value vs the rest").
    max_size
        Memory limit in MiB; when the estimate exceeds it, the deepest leaves are deactivated.
    memory_estimate_period
        Weight seen between two estimates of the tree's size.
    stop_mem_management
        Stop growing altogether once the memory limit is reached.
    remove_poor_attrs
        Drop the statistics of features that cannot win a split.
    merit_preprune
        Consider "no split" as a candidate (pre-pruning).

    Missing values (NaN) are skipped in the statistics and by the leaf models, and follow the
    branch holding the most weight. A category never seen in training follows "not equal" in a
    binary nominal split and the branch holding the most weight in a multiway one; in training,
    a new category opens a new branch of a multiway split. String columns are not inputs of the
    leaf models (River's linear model cannot take them); numeric columns declared nominal are,
    with their values. Rows with a weight <= 0 are not learned. The memory estimate counts the
    tree's arrays, not Python objects as River does, so with a small ``max_size`` the leaves
    deactivated can differ from River's.

    Examples
    --------
    >>> import numpy as np
    >>> from tidal.tree import HoeffdingTreeRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((2000, 2))
    >>> y = np.where(X[:, 0] > 0.5, 3.0, -1.0) + rng.normal(0, 0.1, 2000)
    >>> model = HoeffdingTreeRegressor(grace_period=100, leaf_prediction="mean", max_depth=1)
    >>> model = model.learn_many(X, y)
    >>> print(model.to_text())
    x0 <= 0.5: predicts -0.981 (n=1013, inactive)
    x0 > 0.5: predicts 3 (n=987, inactive)
    >>> model.predict_many(np.array([[0.2, 0.5], [0.8, 0.5]])).round(1).tolist()
    [-1.0, 3.0]
    """

    _tags = Tags(task="regression", handles_categorical=True, handles_missing=True)

    def __init__(
        self,
        grace_period: int = 200,
        max_depth: int | None = None,
        delta: float = 1e-7,
        tau: float = 0.05,
        leaf_prediction: str = "adaptive",
        model_selector_decay: float = 0.95,
        nominal_attributes: list[str] | None = None,
        splitter: str | None = None,
        min_samples_split: int = 5,
        binary_split: bool = False,
        max_size: float = 500.0,
        memory_estimate_period: int = 1000000,
        stop_mem_management: bool = False,
        remove_poor_attrs: bool = False,
        merit_preprune: bool = True,
    ) -> None:
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

    @classmethod
    def _unit_test_params(cls) -> list[dict[str, Any]]:
        return [
            {"grace_period": 20},
            {"grace_period": 20, "leaf_prediction": "mean", "binary_split": True},
        ]

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        def need(ok: bool, name: str, rule: str) -> None:
            if not ok:
                raise ParameterError(f"{name} == {getattr(self, name)!r}, must be {rule}")

        need(self.grace_period > 0, "grace_period", "> 0")
        need(self.max_depth is None or self.max_depth >= 0, "max_depth", "None or >= 0")
        need(0 < self.delta < 1, "delta", "in (0, 1)")
        need(self.tau >= 0, "tau", ">= 0")
        need(self.leaf_prediction in _LEAVES, "leaf_prediction", f"one of {list(_LEAVES)}")
        need(0 <= self.model_selector_decay <= 1, "model_selector_decay", "in [0, 1]")
        need(self.splitter in (None, "tebst", "ebst"), "splitter", 'None, "tebst" or "ebst"')
        need(self.min_samples_split >= 0, "min_samples_split", ">= 0")
        need(self.max_size > 0, "max_size", "> 0")
        need(self.memory_estimate_period > 0, "memory_estimate_period", "> 0")
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            unknown = [a for a in (self.nominal_attributes or []) if a not in names]
            if unknown:
                raise ParameterError(
                    f"nominal_attributes names unknown features {unknown}; "
                    f"the features are {list(names)}"
                )

    def _params_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        pf = np.zeros(K.N_PF)
        pf[K.PF_GRACE] = self.grace_period
        pf[K.PF_DELTA] = self.delta
        pf[K.PF_TAU] = self.tau
        pf[K.PF_MAXDEPTH] = np.inf if self.max_depth is None else self.max_depth
        pf[K.PF_MSS] = self.min_samples_split
        pf[K.PF_DECAY] = self.model_selector_decay
        pf[K.PF_MAXBYTES] = self.max_size * 2**20
        pf[K.PF_MEMPERIOD] = self.memory_estimate_period
        pf[K.PF_LR] = 0.01
        pf[K.PF_ILR] = 0.01
        pf[K.PF_CLIP] = 1e12
        pi = np.zeros(K.N_PI, dtype=np.int64)
        pi[K.PI_LEAF] = _LEAVES[self.leaf_prediction]
        pi[K.PI_BINARY] = int(self.binary_split)
        pi[K.PI_PREPRUNE] = int(self.merit_preprune)
        pi[K.PI_POOR] = int(self.remove_poor_attrs)
        pi[K.PI_STOPMEM] = int(self.stop_mem_management)
        pi[K.PI_ROUND] = int(self.splitter != "ebst")
        return pf, pi

    # ------------------------------------------------------------------ state
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
        Nn, Ns, P = 64, 16, 1024
        s = {
            "node_i": np.full((Nn, K.N_NI), -1, dtype=np.int64),
            "node_f": np.zeros((Nn, K.N_NF)),
            "nstat": np.zeros((Nn, 3)),
            "disabled": np.zeros((Nn, F), dtype=np.uint8),
            "lm": np.zeros((Nn, F + 1)),
            "eroot": np.full((Ns, F), -1, dtype=np.int64),
            "rank": np.full((Ns, F), -1, dtype=np.int64),
            "nrank": np.zeros(Ns, dtype=np.int64),
            "ncat": np.zeros((Ns, len(nominal), 1, 3)),
            "slot_free": np.zeros(Ns, dtype=np.int64),
            "ef": np.zeros((P, 4)),
            "ei": np.full((P, 2), -1, dtype=np.int64),
            "emeta": np.array([0, -1, 0][:N_EM], dtype=np.int64),
            "meta_i": np.zeros(K.N_MI, dtype=np.int64),
            "meta_f": np.zeros(K.N_MF),
        }
        s["meta_i"][MI_ROOT] = -1
        s["meta_i"][MI_GROWTH] = 1
        s["meta_f"][MF_OVERHEAD] = 1.0
        self._tree = s

    def _state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {k: self._tree[k].copy() for k in _ARRAYS}
        state["nom_idx"] = self._nom_idx.copy()
        state["numeric_nominal"] = list(self._numeric_nominal)
        state["value_codes"] = self._value_codes.to_json()
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        self._tree = {k: np.array(state[k]) for k in _ARRAYS}
        self._nom_idx = np.array(state["nom_idx"], dtype=np.int64)
        self._numeric_nominal = list(state["numeric_nominal"])
        self._value_codes = CategoryEncoder.from_json(state["value_codes"])

    # ------------------------------------------------------------------ rendering
    def _leaf_text(self, k: int) -> str:
        n, mean, _ = self._tree["nstat"][k]
        state = "" if self._tree["node_i"][k, K.NI_ACTIVE] == 1 else ", inactive"
        return f"predicts {mean:.3g} (n={n:.6g}{state})"

    # ------------------------------------------------------------------ the kernel hook
    # numeric columns declared nominal become category codes exactly as in the classifier
    _codes = HoeffdingTreeClassifier._codes

    def _lm_use(self) -> np.ndarray:
        return np.array(
            [n not in self.categorical_features_ for n in self.feature_names_in_], dtype=np.uint8
        )

    def _cat_order(self) -> np.ndarray:
        """Codes of each nominal feature in sorted order of their values (River sorts them)."""
        cols = np.nonzero(self._nom_idx >= 0)[0]
        V = self._tree["ncat"].shape[2]
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

    def _ensure_categories(self, X: np.ndarray) -> None:
        grow_categories(self._tree, "ncat", 2, self._nom_idx, X)

    def _grow(self) -> None:
        s = self._tree
        Nn = s["node_i"].shape[0]
        maxc = max(2, s["ncat"].shape[2])
        if s["meta_i"][K.MI_NNODES] + maxc + 1 > Nn:
            extra = max(Nn, maxc + 1)
            s["node_i"] = _pad(s["node_i"], 0, extra, fill=-1)
            for k in ("node_f", "nstat", "disabled", "lm"):
                s[k] = _pad(s[k], 0, extra)
        Ns = s["eroot"].shape[0]
        if s["meta_i"][K.MI_NFREE] == 0 and s["meta_i"][K.MI_NEXTSLOT] >= Ns:
            for k in ("nrank", "ncat", "slot_free"):
                s[k] = _pad(s[k], 0, Ns)
            s["eroot"] = _pad(s["eroot"], 0, Ns, fill=-1)
            s["rank"] = _pad(s["rank"], 0, Ns, fill=-1)
        P = s["ef"].shape[0]
        F = s["eroot"].shape[1]
        if P - s["emeta"][0] + s["emeta"][2] < F:
            s["ef"] = _pad(s["ef"], 0, max(P, F))
            s["ei"] = _pad(s["ei"], 0, max(P, F), fill=-1)

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        n = out.shape[0]
        F = self.n_features_in_
        empty = np.zeros((0, F))
        learn = X_learn is not None
        Xlr = empty if not learn else np.ascontiguousarray(X_learn, dtype=np.float64)
        Xpr = empty if X_pred is None else np.ascontiguousarray(X_pred, dtype=np.float64)
        Xl = self._codes(Xlr, learn=True) if learn else empty
        if X_pred is None:
            Xp = empty
        elif learn and X_pred is X_learn:
            Xpr, Xp = Xlr, Xl
        else:
            Xp = self._codes(Xpr, learn=False)
        if learn:
            self._ensure_categories(Xl)
        yv = np.zeros(0) if y is None else np.asarray(y, dtype=np.float64)
        wv = np.zeros(0) if w is None else np.asarray(w, dtype=np.float64)
        pf, pi = self._params_arrays()
        lm_use = self._lm_use()
        cat_order = self._cat_order()
        s = self._tree
        i = 0
        while True:
            i = K.step(
                Xp, Xpr, Xl, Xlr, yv, wv, out, i, X_pred is not None, learn, self._nom_idx,
                lm_use, cat_order, pf, pi, *(s[k] for k in _ARRAYS),
            )  # fmt: skip
            if i >= n:
                break
            self._grow()
