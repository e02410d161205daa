"""What the compiled forests share on the Python side (ARF classifier and regressor, bagging):
their common parameters, the members' bookkeeping and detectors, trimming and growing the
forest arrays, and the read-only views of the members."""

from __future__ import annotations

import math
import secrets
from typing import Any

import numpy as np

from tidal._kernels.drift_adwin import adwin_reset, adwin_state_size
from tidal._kernels.ensemble_forest import C_DRIFT, C_WARN, N_COUNTS
from tidal._kernels.tree_layout import MI_NCATS, MI_NEXTSLOT, MI_NNODES
from tidal.base import ParameterError, parameters
from tidal.tree.base import HoeffdingTree, NominalColumns, grow_categories, grow_for_row

__all__ = ["ARFMembers", "ARFParams", "ARFTreeDefaults", "Forest", "ForestParams", "adwin_params"]


def adwin_params(delta: float) -> np.ndarray:
    """River's ADWIN defaults besides ``delta``: clock 32, 5 buckets, min window 5, grace 10."""
    return np.array([delta, 32, 5, 5, 10], dtype=np.float64)


@parameters
class ForestParams:
    """The parameters of every forest: its number of members, and the seed of its random numbers
    (``None``: a fresh random seed)."""

    n_models: int = 10
    seed: int | None = None


@parameters
class ARFParams(ForestParams):
    """The adaptive random forests' own parameters; ``max_features`` and
    ``disable_weighted_vote`` get their defaults from each forest."""

    max_features: int | float | str | None
    lambda_value: float = 6
    disable_weighted_vote: bool
    warning_delta: float | None = 0.01
    drift_delta: float | None = 0.001


@parameters
class ARFTreeDefaults:
    """The defaults River and MOA give the trees of an adaptive random forest where they differ
    from a single tree's (listed before the trees' parameter group in a forest's bases, so that
    these win)."""

    grace_period: int = 50
    delta: float = 0.01
    memory_estimate_period: int = 2_000_000


class Forest(ForestParams, NominalColumns):
    """Mixin of the forests, with their parameters. A forest holds the arrays of its members'
    trees, each with a tree axis in front, as ``_tree_cls`` (a
    :class:`tidal.tree.base.HoeffdingTree`) names and grows them, plus ``sub`` (whether each
    leaf drew its feature subspace); ``_MEMBER`` names the per-member arrays; ``_member_view``
    is the class of :meth:`member`."""

    _tree_cls: type[HoeffdingTree]
    _MEMBER: tuple[str, ...]
    _member_view: type

    @classmethod
    def _tree_keys(cls) -> tuple[str, ...]:
        return (*cls._tree_cls.ARRAYS, "sub")

    @classmethod
    def _tree_param_names(cls) -> tuple[str, ...]:
        """The member trees' parameters the forest has too (it passes them on); computed once
        per class (scikit-learn's ``_get_param_names`` inspects the signature at every call)."""
        names = cls.__dict__.get("_tree_param_cache")
        if names is None:
            own = set(cls._get_param_names())
            names = tuple(k for k in cls._tree_cls._get_param_names() if k in own)
            cls._tree_param_cache = names
        return names

    def _tree_params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._tree_param_names()}

    def _ht(self) -> HoeffdingTree:
        """A single tree with the members' parameters, fitted to the same features and classes
        (it checks the parameters and builds the kernel's parameter arrays)."""
        ht = self._tree_cls(**self._tree_params())
        ht._labels = list(getattr(self, "_labels", []))
        names = getattr(self, "feature_names_in_", None)
        if names is not None:
            ht.feature_names_in_ = names
            ht.categorical_features_ = self.categorical_features_
        return ht

    # parameters -------------------------------------------------------------------------
    def _check_members(self) -> None:
        if not (isinstance(self.n_models, int | np.integer) and self.n_models >= 1):
            raise ParameterError(f"n_models == {self.n_models!r}, must be an int >= 1")
        if self.seed is not None and not (
            isinstance(self.seed, int | np.integer) and self.seed >= 0
        ):
            raise ParameterError(f"seed == {self.seed!r}, must be None or an int >= 0")

    # state ------------------------------------------------------------------------------
    def _init_forest(
        self, forest: dict[str, np.ndarray], clear_tree: Any, bg_offset: int, **extra: np.ndarray
    ) -> None:
        """Take ``forest`` with every tree emptied by the kernel ``clear_tree``, then set each
        member's trees (``fg``; ``bg`` = ``fg + bg_offset``), detectors (``extra`` arrays
        besides), counters, and the seed and row clock."""
        for t in range(forest["meta_i"].shape[0]):
            clear_tree(*(forest[k] for k in self._tree_keys()), t)
        self._forest = forest
        M = self.n_models
        size = adwin_state_size(5)
        s_warn = np.zeros((M, size))
        s_drift = np.zeros((M, size))
        for m in range(M):
            adwin_reset(s_warn[m])
            adwin_reset(s_drift[m])
        self._members = {
            "fg": np.arange(M, dtype=np.int64),
            "bg": np.arange(M, dtype=np.int64) + bg_offset,
            "bg_on": np.zeros(M, dtype=np.int64),
            "s_warn": s_warn,
            "s_drift": s_drift,
            **extra,
            "counts": np.zeros((M, N_COUNTS), dtype=np.int64),
        }
        self._seed = int(self.seed) if self.seed is not None else secrets.randbits(62)
        self._t = 0

    def _pool_used(self) -> int:
        return 1

    def _state_dict(self) -> dict[str, Any]:
        # only the rows in use: the spare capacity depends on how the stream was cut in blocks
        f = self._forest
        mi = f["meta_i"]
        cls = self._tree_cls
        used = {
            (*cls.NODE_AXIS, "sub"): max(1, int(mi[:, MI_NNODES].max())),
            cls.SLOT_AXIS: max(1, int(mi[:, MI_NEXTSLOT].max())),
            cls.POOL_AXIS: max(1, self._pool_used()),
        }
        state: dict[str, Any] = {}
        for k, v in f.items():
            for axis, rows in used.items():
                if k in axis:
                    v = v[:, :rows]
            if k == cls.CATS:
                v = v[:, :, :, : max(1, int(mi[:, MI_NCATS].max()))]
            state[k] = v.copy()
        state.update({k: v.copy() for k, v in self._members.items()})
        state.update(self._nominal_state())
        state["seed_used"] = int(self._seed)
        state["t"] = int(self._t)
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        self._forest = {k: np.array(state[k]) for k in self._tree_keys()}
        self._members = {k: np.array(state[k]) for k in self._MEMBER}
        self._set_nominal_state(state)
        self._seed = int(state["seed_used"])
        self._t = int(state["t"])

    def _ensure_categories(self, X: np.ndarray) -> None:
        grow_categories(self._forest, self._tree_cls.CATS, 3, self._nom_idx, X)

    def _grow(self) -> None:
        """Room for one more row in every tree (the kernel stops a member that could overflow)."""
        grow_for_row(self._forest, self._tree_cls, 1, also_nodes=("sub",))

    # inspection -------------------------------------------------------------------------
    def member(self, m: int) -> Any:
        """A view of member ``m``'s current tree (``n_nodes``, ``depth``, ``to_text()``...)."""
        if getattr(self, "_forest", None) is None:
            raise IndexError("the ensemble has not learned anything yet")
        if not 0 <= m < self.n_models:
            raise IndexError(f"member {m} out of range: there are {self.n_models}")
        return self._member_view(self, int(self._members["fg"][m]))

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
        """Number of leaves of each member's tree."""
        return self._per_member("n_leaves")

    @property
    def depth(self) -> list[int]:
        """Depth of each member's tree."""
        return self._per_member("depth")

    def _count(self, col: int, tree_id: int | None) -> int:
        members = getattr(self, "_members", None)
        if members is None:
            return 0
        c = members["counts"][:, col]
        return int(c.sum() if tree_id is None else c[tree_id])


class ARFMembers(ARFParams, Forest):
    """Mixin of the adaptive random forests, with their parameters: random feature subspaces
    and the warning and drift detectors."""

    def _check_arf(self) -> None:
        self._check_members()
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
        for name in ("warning_delta", "drift_delta"):
            v = getattr(self, name)
            if v is not None and not 0 < v < 1:
                raise ParameterError(f"{name} == {v!r}, must be None or in (0, 1)")

    def _max_features(self, n_features: int) -> int:
        """River's ``_set_max_features``, except that a share is rounded (MOA's
        ``Math.round(n * m / 100)``) where River truncates it."""
        mf = self.max_features
        if mf == "sqrt":
            k = round(math.sqrt(n_features))
        elif mf == "log2":
            k = round(math.log2(n_features))
        elif mf is None:
            k = n_features
        elif isinstance(mf, float):
            k = math.floor(mf * n_features + 0.5)
        else:
            k = int(mf)
        if k < 0:
            k += n_features
        return min(max(k, 1), n_features)

    def _detector_deltas(self) -> tuple[float, float]:
        # the kernel skips a detector whose delta is 0
        return (self.warning_delta or 0.0), (self.drift_delta or 0.0)

    def n_warnings_detected(self, tree_id: int | None = None) -> int:
        """Warnings detected in total, or by member ``tree_id``."""
        return self._count(C_WARN, tree_id)

    def n_drifts_detected(self, tree_id: int | None = None) -> int:
        """Drifts detected (trees replaced) in total, or by member ``tree_id``."""
        return self._count(C_DRIFT, tree_id)
