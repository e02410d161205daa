"""The Hoeffding tree family's Python side, public within tidal (the forests build on it).

- :class:`NominalColumns`: which columns are nominal (categorical ones, and numeric ones named
  in ``nominal_attributes``, turned into category codes), the rows a kernel takes for a block,
  and River's sorted order of each nominal feature's categories. Single trees and forests.
- :class:`TreeParams`, :class:`ClassifierTreeParams`, :class:`RegressorTreeParams`: the trees'
  parameters, declared once for the single trees and the forests (which pass them on to their
  members and may change some defaults).
- :class:`HoeffdingTree`: the base of the single trees: the parameters every Hoeffding tree
  checks and hands to its kernel, the state (the kernel's arrays by name), growing the arrays,
  and the block loop (run the kernel; when it stops for room, grow and run it again).
- Array helpers: :func:`pad`, :func:`pad_keys`, :func:`grow_categories`, :func:`grow_for_row`.

A tree's arrays are a dict of numpy arrays; its class names them (``ARRAYS``, the state's
keys) and says along which axis each grows (``NODE_AXIS``, ``SLOT_AXIS``, ``POOL_AXIS``,
``CLASS_AXIS``, with ``FILL`` for the arrays not filled with 0). A forest holds the same arrays
with a tree axis in front and reuses these names. The kernels take them as named tuples with
the same names (the kernel module's ``TreeArrays``), built from the state in one place
(:meth:`HoeffdingTree._kernel_state`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from tidal._kernels import tree_layout as L
from tidal.base import CategoryEncoder, ParameterError, parameters
from tidal.tree._render import TreeView

__all__ = [
    "BlockInputs",
    "ClassifierTreeParams",
    "HoeffdingTree",
    "NominalColumns",
    "RegressorTreeParams",
    "TreeParams",
    "TreeView",
    "grow_categories",
    "grow_for_row",
    "pad",
    "pad_keys",
    "with_river_nb",
]


def pad(a: np.ndarray, axis: int, extra: int, fill: float = 0) -> np.ndarray:
    """``a`` with ``extra`` more rows along ``axis``, filled with ``fill``."""
    shape = list(a.shape)
    shape[axis] = extra
    return np.concatenate([a, np.full(shape, fill, dtype=a.dtype)], axis=axis)


def pad_keys(
    arrays: dict[str, np.ndarray], keys: Any, axis: int, extra: int, fill: dict[str, int]
) -> None:
    """Pad ``arrays[k]`` for each ``k`` in ``keys`` by ``extra`` rows along ``axis`` (``keys``
    a tuple of names, or a dict name -> axis added to ``axis``)."""
    for k in keys:
        ax = axis + keys[k] if isinstance(keys, dict) else axis
        arrays[k] = pad(arrays[k], ax, extra, fill.get(k, 0))


def grow_categories(
    arrays: dict[str, np.ndarray], key: str, axis: int, nom_idx: np.ndarray, X: np.ndarray
) -> None:
    """Widen ``arrays[key]`` along its category ``axis`` (doubling) so that every category code
    in the nominal columns of ``X`` has a slot."""
    nom = np.nonzero(nom_idx >= 0)[0]
    if len(nom) == 0 or X.shape[0] == 0:
        return
    cols = X[:, nom]
    if np.isnan(cols).all():
        return
    need = int(np.nanmax(cols)) + 1
    table = arrays[key]
    if need > table.shape[axis]:
        arrays[key] = pad(table, axis, max(need, 2 * table.shape[axis]) - table.shape[axis])


def grow_for_row(
    arrays: dict[str, np.ndarray],
    cls: type[HoeffdingTree],
    lead: int,
    also_nodes: tuple[str, ...] = (),
) -> None:
    """Room for one more learned row in every tree of ``arrays`` (a single tree's when ``lead``
    is 0, a forest's, trees on axis 0, when it is 1): the node rows a split can add (in
    ``cls.NODE_AXIS`` and ``also_nodes``), a free slot, and (trees with a pool) the pool rows a
    row can add."""
    mi = arrays["meta_i"].reshape(-1, L.N_MI)
    Nn = arrays["node_i"].shape[lead]
    maxc = max(2, arrays[cls.CATS].shape[lead + 2])
    if (mi[:, L.MI_NNODES] + maxc + 1 > Nn).any():
        pad_keys(arrays, (*cls.NODE_AXIS, *also_nodes), lead, max(Nn, maxc + 1), cls.FILL)
    Ns = arrays[cls.SLOT_AXIS[0]].shape[lead]
    if ((mi[:, L.MI_NFREE] == 0) & (mi[:, L.MI_NEXTSLOT] >= Ns)).any():
        pad_keys(arrays, cls.SLOT_AXIS, lead, Ns, cls.FILL)
    cls.grow_pool(arrays, lead)


def with_river_nb(state: Any) -> Any:
    """A state written before ``nb_likelihood`` existed, with the naive Bayes its trees were
    learned with (River's) instead of today's default."""
    params = state.get("params") if isinstance(state, dict) else None
    if isinstance(params, dict) and "nb_likelihood" not in params:
        return {**state, "params": {**params, "nb_likelihood": "river"}}
    return state


class BlockInputs(NamedTuple):
    """The arrays a tree kernel takes for one block: rows to predict and to learn with nominal
    columns as category codes (``Xp``, ``Xl``) and as given (``Xpr``, ``Xlr``: the regression
    trees' leaf models read values), targets and weights; empty arrays for what is absent.
    When the same rows are predicted and learned, ``Xp is Xl`` (the kernels rely on it)."""

    Xp: np.ndarray
    Xl: np.ndarray
    Xpr: np.ndarray
    Xlr: np.ndarray
    y: np.ndarray
    w: np.ndarray
    do_pred: bool
    do_learn: bool
    same: bool


class NominalColumns:
    """Mixin: the nominal columns of a tree or a forest (``_nom_idx``: each feature's index
    among the nominal ones, -1 for numeric ones; ``_numeric_nominal``: numeric columns declared
    nominal, coded by ``_value_codes`` in order of appearance)."""

    feature_names_in_: tuple[str, ...]
    categorical_features_: Any
    _y_dtype: Any = np.float64

    def _init_nominal(self, declared: set[str]) -> int:
        """Index the nominal features (categorical, or numeric ``declared`` nominal); returns
        their number."""
        names = self.feature_names_in_
        nominal = [n for n in names if n in self.categorical_features_ or n in declared]
        self._nom_idx = np.full(len(names), -1, dtype=np.int64)
        for j, n in enumerate(nominal):
            self._nom_idx[names.index(n)] = j
        self._numeric_nominal = [n for n in nominal if n not in self.categorical_features_]
        self._value_codes = CategoryEncoder()
        return len(nominal)

    def _nominal_state(self) -> dict[str, Any]:
        return {
            "nom_idx": self._nom_idx.copy(),
            "numeric_nominal": list(self._numeric_nominal),
            "value_codes": self._value_codes.to_json(),
        }

    def _set_nominal_state(self, state: dict[str, Any]) -> None:
        self._nom_idx = np.array(state["nom_idx"], dtype=np.int64)
        self._numeric_nominal = list(state["numeric_nominal"])
        self._value_codes = CategoryEncoder.from_json(state["value_codes"])

    def _codes(self, X: np.ndarray, learn: bool) -> np.ndarray:
        """Numeric columns declared nominal, as category codes (unseen at prediction: -1)."""
        if not self._numeric_nominal:
            return X
        X = X.copy()
        for name in self._numeric_nominal:
            j = self.feature_names_in_.index(name)
            X[:, j] = self._value_codes.encode(name, X[:, j].astype(object), learn)
        return X

    def _ensure_categories(self, X: np.ndarray) -> None:
        """Widen the per-category counts for the categories of the learned rows ``X``."""
        raise NotImplementedError

    def _block_inputs(self, X_pred: Any, X_learn: Any, y: Any, w: Any) -> BlockInputs:
        learn = X_learn is not None
        same = learn and X_pred is X_learn
        empty = np.zeros((0, self.n_features_in_))
        Xlr = np.ascontiguousarray(X_learn, dtype=np.float64) if learn else empty
        Xl = self._codes(Xlr, learn=True) if learn else empty
        if learn:
            self._ensure_categories(Xl)
        if X_pred is None:
            Xpr = Xp = empty
        elif same:
            Xpr, Xp = Xlr, Xl
        else:
            Xpr = np.ascontiguousarray(X_pred, dtype=np.float64)
            Xp = self._codes(Xpr, learn=False)
        yv = np.zeros(0, self._y_dtype) if y is None else np.asarray(y, dtype=self._y_dtype)
        wv = np.zeros(0) if w is None else np.asarray(w, dtype=np.float64)
        return BlockInputs(Xp, Xl, Xpr, Xlr, yv, wv, X_pred is not None, learn, same)

    def _category_order(self, n_codes: int) -> np.ndarray:
        """Codes of each nominal feature in sorted order of their values (River sorts them)."""
        cols = np.nonzero(self._nom_idx >= 0)[0]
        order = np.full((len(cols), n_codes), -1, dtype=np.int64)
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
            codes = [c for _, c in items if c < n_codes]
            order[self._nom_idx[f], : len(codes)] = codes
        return order


@parameters
class TreeParams:
    """The parameters of every Hoeffding tree (River's names and meanings); ``delta``,
    ``leaf_prediction`` and ``max_size`` get their defaults from each kind of tree. The single
    trees' docstrings describe them."""

    grace_period: int = 200
    max_depth: int | None = None
    delta: float
    tau: float = 0.05
    leaf_prediction: str
    nominal_attributes: list[str] | None = None
    splitter: str | None = None
    binary_split: bool = False
    max_size: float
    memory_estimate_period: int = 1_000_000
    stop_mem_management: bool = False
    remove_poor_attrs: bool = False
    merit_preprune: bool = True


@parameters
class ClassifierTreeParams(TreeParams):
    """The parameters of the classification trees and of their forests (see
    :class:`tidal.tree.HoeffdingTreeClassifier`). ``delta`` is CapyMOA's, ``nb_likelihood``
    MOA's; River's are in the tree's ``river_params``."""

    delta: float = 1e-3
    leaf_prediction: str = "nba"
    max_size: float = 100.0
    split_criterion: str = "info_gain"
    nb_threshold: int = 0
    min_branch_fraction: float = 0.01
    max_share_to_split: float = 0.99
    nb_likelihood: str = "moa"


@parameters
class RegressorTreeParams(TreeParams):
    """The parameters of the regression trees and of their forests (see
    :class:`tidal.tree.HoeffdingTreeRegressor`), with River's defaults."""

    delta: float = 1e-7
    leaf_prediction: str = "adaptive"
    max_size: float = 500.0
    model_selector_decay: float = 0.95
    min_samples_split: int = 5


def _require(model: Any, ok: bool, name: str, rule: str) -> None:
    if not ok:
        raise ParameterError(f"{name} == {getattr(model, name)!r}, must be {rule}")


class HoeffdingTree(NominalColumns, TreeView):
    """Base of the compiled Hoeffding trees. A subclass names its kernel's arrays and axes (see
    the module), its leaf predictions (``LEAVES``), and implements :meth:`_check_own`,
    :meth:`_own_params`, :meth:`new_arrays` and :meth:`_block_args` (its kernel's settings;
    the kernel ``K.step`` takes the block's :class:`BlockInputs`, the settings and the state's
    named structures ``K.STATE``)."""

    ARRAYS: tuple[str, ...]
    NODE_AXIS: tuple[str, ...]
    SLOT_AXIS: tuple[str, ...]
    POOL_AXIS: tuple[str, ...] = ()
    #: arrays holding one entry per class, and the axis of the classes (no tree axis)
    CLASS_AXIS: dict[str, int] = {}
    CATS: str  # the per-category counts (categories on axis 2)
    FILL: dict[str, int]
    LEAVES: dict[str, int]
    K: Any  # the kernel module (its parameter indices)

    # ------------------------------------------------------------------ parameters
    def _check_params(self) -> None:
        def need(ok: bool, name: str, rule: str) -> None:
            _require(self, ok, name, rule)

        need(self.grace_period > 0, "grace_period", "> 0")
        need(self.max_depth is None or self.max_depth >= 0, "max_depth", "None or >= 0")
        need(0 < self.delta < 1, "delta", "in (0, 1)")
        need(self.tau >= 0, "tau", ">= 0")
        need(self.leaf_prediction in self.LEAVES, "leaf_prediction", f"one of {list(self.LEAVES)}")
        self._check_own(need)
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

    def _check_own(self, need: Callable[[bool, str, str], None]) -> None:
        """Check the parameters only this tree has (``need(ok, name, rule)``)."""

    def _params_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The kernel's float and int parameter arrays."""
        K = self.K
        pf = np.zeros(K.N_PF)
        pf[K.PF_GRACE] = self.grace_period
        pf[K.PF_DELTA] = self.delta
        pf[K.PF_TAU] = self.tau
        pf[K.PF_MAXBYTES] = self.max_size * 2**20
        pf[K.PF_MEMPERIOD] = self.memory_estimate_period
        pf[K.PF_MAXDEPTH] = np.inf if self.max_depth is None else self.max_depth
        pi = np.zeros(K.N_PI, dtype=np.int64)
        pi[K.PI_LEAF] = self.LEAVES[self.leaf_prediction]
        pi[K.PI_BINARY] = int(self.binary_split)
        pi[K.PI_PREPRUNE] = int(self.merit_preprune)
        pi[K.PI_POOR] = int(self.remove_poor_attrs)
        pi[K.PI_STOPMEM] = int(self.stop_mem_management)
        self._own_params(pf, pi)
        return pf, pi

    def _own_params(self, pf: np.ndarray, pi: np.ndarray) -> None:
        """Fill the kernel parameters only this tree has."""

    # ------------------------------------------------------------------ state
    @classmethod
    def new_arrays(
        cls, lead: tuple[int, ...], Nn: int, Ns: int, F: int, J: int, C: int
    ) -> dict[str, np.ndarray]:
        """Empty arrays for ``Nn`` nodes, ``Ns`` slots, ``F`` features (``J`` nominal) and ``C``
        classes, with ``lead`` axes in front (a forest's tree axis)."""
        raise NotImplementedError

    @staticmethod
    def common_arrays(lead: tuple[int, ...], Nn: int, Ns: int, F: int) -> dict[str, np.ndarray]:
        """The arrays every Hoeffding tree has: nodes, the slots' bookkeeping, the meta data."""
        return {
            "node_i": np.full((*lead, Nn, L.N_NI), -1, dtype=np.int64),
            "node_f": np.zeros((*lead, Nn, L.N_NF)),
            "disabled": np.zeros((*lead, Nn, F), dtype=np.uint8),
            "rank": np.full((*lead, Ns, F), -1, dtype=np.int64),
            "nrank": np.zeros((*lead, Ns), dtype=np.int64),
            "slot_free": np.zeros((*lead, Ns), dtype=np.int64),
            "meta_i": np.zeros((*lead, L.N_MI), dtype=np.int64),
            "meta_f": np.zeros((*lead, L.N_MF)),
        }

    def _init_state(self) -> None:
        J = self._init_nominal(set(self.nominal_attributes or []))
        C = len(getattr(self, "_labels", None) or [])
        s = self.new_arrays((), 64, 16, self.n_features_in_, J, C)
        s["meta_i"][L.MI_ROOT] = -1
        s["meta_i"][L.MI_GROWTH] = 1
        s["meta_f"][L.MF_OVERHEAD] = 1.0
        self._tree = s

    def _on_new_classes(self, n_classes: int) -> None:
        s = getattr(self, "_tree", None)
        if s is None or not self.CLASS_AXIS:
            return
        extra = n_classes - s["stats"].shape[1]
        if extra > 0:
            pad_keys(s, self.CLASS_AXIS, 0, extra, self.FILL)

    def _state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {k: self._tree[k].copy() for k in self.ARRAYS}
        state.update(self._nominal_state())
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        self._tree = {k: np.array(state[k]) for k in self.ARRAYS}
        self._set_nominal_state(state)

    # ------------------------------------------------------------------ the block loop
    def _ensure_categories(self, X: np.ndarray) -> None:
        grow_categories(self._tree, self.CATS, 2, self._nom_idx, X)

    @classmethod
    def grow_pool(cls, arrays: dict[str, np.ndarray], lead: int) -> None:
        """Grow the pool axis when a tree could run out of it (trees that have one)."""

    def _grow(self) -> None:
        grow_for_row(self._tree, type(self), 0)

    def _block_args(self, inp: BlockInputs) -> tuple:
        """What the kernel takes besides the rows and the tree, fixed over a block: its
        ``K.Settings`` (a named tuple)."""
        raise NotImplementedError

    def _kernel_state(self) -> tuple:
        """The tree's arrays as the kernel's named structures (``K.STATE``: ``TreeArrays``,
        then any the tree adds), taken from the state by their names."""
        return tuple(cls(*(self._tree[k] for k in cls._fields)) for cls in self.K.STATE)

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        inp = self._block_inputs(X_pred, X_learn, y, w)
        settings = self._block_args(inp)
        i = 0
        while True:
            # the state again after each growth: growing replaces arrays
            i = self.K.step(inp, out, i, settings, *self._kernel_state())
            if i >= out.shape[0]:
                break
            self._grow()
