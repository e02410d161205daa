"""What the tree ensembles share: the forest arrays, growing them, and the block loop."""

from __future__ import annotations

from typing import Any

import numpy as np

from tidal._kernels import ensemble_forest as E
from tidal._kernels.drift_adwin import adwin_reset
from tidal.base import Classifier
from tidal.ensemble._members import Forest, adwin_params
from tidal.tree import HoeffdingTreeClassifier
from tidal.tree.base import TreeView, pad_keys

__all__ = ["TreeEnsemble", "MemberTree"]

_MEMBER = ("fg", "bg", "bg_on", "s_warn", "s_drift", "metric", "counts")


class MemberTree(TreeView):
    """Read-only view of one member's current tree (sizes, ``to_text``, importances)."""

    def __init__(self, owner: TreeEnsemble, t: int) -> None:
        self._tree = {k: owner._forest[k][t] for k in owner._tree_keys()}
        self.feature_names_in_ = owner.feature_names_in_
        self._labels = list(getattr(owner, "_labels", []))
        self._value_codes = owner._value_codes
        self._categories = getattr(owner, "_categories", None)


class TreeEnsemble(Forest, Classifier):
    """Base of the compiled ensembles of Hoeffding trees (subclasses set the mode)."""

    _tree_cls = HoeffdingTreeClassifier
    _MEMBER = _MEMBER
    _y_dtype = np.int64
    _member_view = MemberTree
    _mode = E.MODE_BAG
    _trees_per_member = 1
    #: rows leveraging bagging's members run before they wait for each other
    _lb_stretch = 256

    # subclass hooks --------------------------------------------------------------------
    def _lambda(self) -> float:
        raise NotImplementedError

    def _max_features(self, n_features: int) -> int:
        return n_features

    def _detector_deltas(self) -> tuple[float, float]:
        return 0.01, 0.001

    def _lb_method(self) -> int:
        return E.LB_BAG

    def _weighted(self) -> bool:
        return False

    # parameters -------------------------------------------------------------------------
    def _check_common(self) -> None:
        self._check_members()
        self._ht()._check_params()

    # state ------------------------------------------------------------------------------
    def _init_state(self) -> None:
        F = self.n_features_in_
        J = self._init_nominal(set(self._tree_params().get("nominal_attributes") or []))
        M = self.n_models
        T = M * self._trees_per_member
        C = len(getattr(self, "_labels", None) or [])
        f = HoeffdingTreeClassifier.new_arrays((T,), 16, 8, F, J, C)
        f["sub"] = np.zeros((T, 16), dtype=np.uint8)
        bg_offset = M if self._trees_per_member == 2 else 0
        self._init_forest(f, E.clear_tree, bg_offset, metric=np.zeros((M, 2)))
        self._n_resets = 0

    def _on_new_classes(self, n_classes: int) -> None:
        f = getattr(self, "_forest", None)
        if f is None:
            return
        extra = n_classes - f["stats"].shape[2]
        if extra <= 0:
            return
        pad_keys(f, HoeffdingTreeClassifier.CLASS_AXIS, 1, extra, HoeffdingTreeClassifier.FILL)

    def _state_dict(self) -> dict[str, Any]:
        state = super()._state_dict()
        state["n_resets"] = int(self._n_resets)
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self._n_resets = int(state["n_resets"])

    # the kernel hook --------------------------------------------------------------------
    def _run_kernel(self, pos, pending, end, rows, settings, out_m, est) -> None:  # noqa: ANN001
        f, mb = self._forest, self._members
        ensemble = E.ForestSettings(
            self._mode, self._lb_method(), self._weighted(), self._lambda(), self._maxf,
            self._seed, self._t, self._p_warn, self._p_drift,
        )  # fmt: skip
        forest = E.ForestArrays(*(f[k] for k in E.ForestArrays._fields))
        members = E.MemberArrays(*(mb[k] for k in E.MemberArrays._fields))
        E.run_members(ensemble, pos, pending, end, rows, settings, forest, members, out_m, est)

    def _step_arrays(self, X_pred, X_learn, y, w, out) -> None:  # noqa: ANN001
        n = out.shape[0]
        learn = X_learn is not None
        rows = self._block_inputs(X_pred, X_learn, y, w)
        F = self.n_features_in_
        ht = self._ht()
        settings = ht.K.Settings(self._nom_idx, ht._label_rank(), *ht._params_arrays())
        self._maxf = self._max_features(F)
        warn, drift = self._detector_deltas()
        self._p_warn, self._p_drift = adwin_params(warn), adwin_params(drift)
        M = self.n_models
        C = self._forest["stats"].shape[2]
        out_m = np.zeros((M, n, C))
        est = np.zeros((M, n if learn and self._mode == E.MODE_LB else 0))
        pos = np.zeros(M, dtype=np.int64)
        pending = np.full(M, -1, dtype=np.int64)
        # leveraging bagging replaces members: a replaced member's rows past the replacement
        # are learned again, so members run in stretches rather than far ahead of each other
        stretch = self._lb_stretch if learn and self._mode == E.MODE_LB else n
        end = min(n, stretch)
        while True:
            self._run_kernel(pos, pending, end, rows, settings, out_m, est)
            if ((pending < 0) & (pos < end)).any():  # stopped for room
                self._grow()
            elif (pending >= 0).any():
                self._reset_worst(pos, pending, est)
            elif end < n:
                end = min(n, end + stretch)
            else:
                break
        if X_pred is not None:
            total = out_m.sum(axis=0)
            s = total.sum(axis=1, keepdims=True)
            np.divide(total, s, out=out, where=s > 0)
            out[(s <= 0)[:, 0]] = 0.0
        if learn:
            self._t += n

    def _reset_worst(self, pos: np.ndarray, pending: np.ndarray, est: np.ndarray) -> None:
        """Leveraging bagging: at the earliest row where a member's error rose, replace the
        member whose ADWIN estimates the largest error by a new tree (River's order)."""
        r = int(pending[pending >= 0].min())
        j = int(np.argmax(est[:, r]))
        t = int(self._members["fg"][j])
        f = self._forest
        E.clear_tree(*(f[k] for k in self._tree_keys()), t)
        s = self._members["s_drift"][j]
        s[:] = 0.0
        adwin_reset(s)  # a new detector: its count of detections starts again too
        self._members["counts"][pending == r, E.C_DRIFT] += 1
        pos[j] = r + 1
        pending[j] = -1
        pending[pending == r] = -1
        self._n_resets += 1
