"""Hoeffding adaptive tree classifier: a Hoeffding tree that replaces branches on drift."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tidal._kernels import tree_adaptive as KA
from tidal._kernels.drift_adwin import adwin_reset, adwin_state_size
from tidal.base import parameters
from tidal.tree._hoeffding_classifier import HoeffdingTreeClassifier
from tidal.tree.base import BlockInputs, pad_keys

__all__ = ["HoeffdingAdaptiveTreeClassifier"]

_HAT = KA.AdaptiveArrays._fields  # ("adw", "merr", "alt", "alt_of", "hmeta", "rng")
_HAT_NODE = ("adw", "merr", "alt", "alt_of")  # a row per node
# River's drift.ADWIN() defaults: delta, clock, max_buckets, min_window_length, grace_period
_ADWIN = np.array([0.002, 32.0, 5.0, 5.0, 10.0])
_FILL = {**HoeffdingTreeClassifier.FILL, "alt": -1, "alt_of": -1}


@parameters
class HoeffdingAdaptiveTreeClassifier(HoeffdingTreeClassifier):
    """Hoeffding adaptive tree (HAT) classifier, compiled.

    River 0.26.1's ``tree.HoeffdingAdaptiveTreeClassifier``: a Hoeffding tree whose nodes each
    watch their 0/1 error with ADWIN. When a branch's error rises, it starts an alternate leaf
    that learns the rows the branch sees; the branch is replaced by the alternate when the
    alternate's error is significantly lower (or as soon as the alternate splits, as in River),
    and the alternate is dropped when it is significantly worse. A prediction sums the
    distributions of the leaf reached and of the alternates met on the way, each weighted by
    the inverse square of its error.

    Parameters are the :class:`HoeffdingTreeClassifier`'s, with its defaults (``delta=1e-3``
    and ``nb_likelihood="moa"`` where River has 1e-7 and River's naive Bayes: on Elec2, mean of 5
    seeds, 0.815 -> 0.829; ``river_params`` restores River's), plus:

    bootstrap_sampling
        Weight each row at each leaf by a Poisson(1) draw (River's online bagging of the
        leaves). The draws come from tidal's own generator seeded by ``seed``: with it on,
        results are reproducible for a seed but not River's draw for draw.
    drift_window_threshold
        Errors both a branch and its alternate must have seen before they are compared.
    switch_significance
        Significance of the comparison of the two error rates.
    seed
        Seed of the bootstrap draws.

    Missing values and unseen categories are handled as in :class:`HoeffdingTreeClassifier`.
    With ``bootstrap_sampling=False`` and ``river_params`` it predicts River's probabilities on
    the same stream. The nodes of replaced branches and discarded alternates are dropped from
    the arrays when they make up half of them, so memory follows the live tree, not the number
    of drifts seen. The memory estimate (``max_size``) does not count the nodes' ADWIN states.

    Examples
    --------
    >>> import numpy as np
    >>> from tidal.tree import HoeffdingAdaptiveTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((6000, 2))
    >>> y = np.where(np.arange(6000) < 3000, X[:, 0] > 0.5, X[:, 1] > 0.5).astype(int)
    >>> model = HoeffdingAdaptiveTreeClassifier(grace_period=50, seed=1)
    >>> pred = model.step_many(X, y)
    >>> bool((pred[5000:] == y[5000:]).mean() > 0.9)
    True
    >>> model.n_alternate_trees > 0
    True
    """

    bootstrap_sampling: bool = True
    drift_window_threshold: int = 300
    switch_significance: float = 0.05
    seed: int | None = None

    @classmethod
    def _unit_test_params(cls) -> list[dict[str, Any]]:
        return [{"grace_period": 20, "seed": 1}, {"grace_period": 20, "bootstrap_sampling": False}]

    def _check_own(self, need: Callable[[bool, str, str], None]) -> None:
        super()._check_own(need)
        need(self.drift_window_threshold >= 0, "drift_window_threshold", ">= 0")
        need(0 < self.switch_significance < 1, "switch_significance", "in (0, 1)")

    # ------------------------------------------------------------------ inspection
    @property
    def n_alternate_trees(self) -> int:
        """Alternate trees started so far."""
        return self._hmeta(KA.HM_NALT)

    @property
    def n_pruned_alternate_trees(self) -> int:
        return self._hmeta(KA.HM_NPRUNED)

    @property
    def n_switch_alternate_trees(self) -> int:
        return self._hmeta(KA.HM_NSWITCH)

    def _hmeta(self, k: int) -> int:
        return int(self._tree["hmeta"][k]) if self._tree_or_none() is not None else 0

    def _live(self) -> np.ndarray:
        """Nodes reachable from the root (detached ones wait in the arrays for `_compact`)."""
        s = self._tree
        ni = s["node_i"]
        seen = np.zeros(ni.shape[0], dtype=bool)
        root = int(s["meta_i"][KA.MI_ROOT])
        stack = [root] if root >= 0 else []
        while stack:
            k = stack.pop()
            seen[k] = True
            stack.extend(self._children(k))
        return seen

    @property
    def n_nodes(self) -> int:
        return int(self._live().sum()) if self._n() else 0

    @property
    def n_leaves(self) -> int:
        if not self._n():
            return 0
        return int((self._live() & (self._tree["node_i"][:, KA.NI_KIND] == KA.LEAF)).sum())

    @property
    def depth(self) -> int:
        if not self._n():
            return 0
        return int(self._tree["node_i"][self._live(), KA.NI_DEPTH].max())

    # ------------------------------------------------------------------ state
    def _init_state(self) -> None:
        super()._init_state()
        Nn = self._tree["node_i"].shape[0]
        self._tree.update(
            adw=np.zeros((Nn, adwin_state_size(int(_ADWIN[2])))),
            merr=np.zeros((Nn, 2)),
            alt=np.full(Nn, -1, dtype=np.int64),
            alt_of=np.full(Nn, -1, dtype=np.int64),
            hmeta=np.zeros(KA.N_HM, dtype=np.int64),
            rng=np.array([0 if self.seed is None else self.seed], dtype=np.int64),
        )
        if self.seed is None and self.bootstrap_sampling:  # unused without bootstrap
            self._tree["rng"][0] = np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1
        self._tree["hmeta"][KA.HM_BOOT] = int(self.bootstrap_sampling)

    def _state_dict(self) -> dict[str, Any]:
        state = super()._state_dict()
        state.update({k: self._tree[k].copy() for k in _HAT})
        return state

    def _load_state(self, state: dict[str, Any]) -> None:
        super()._load_state(state)
        self._tree.update({k: np.array(state[k]) for k in _HAT})

    _compacts = True  # tests turn it off to check that dropping dead nodes changes nothing

    def _attached(self) -> np.ndarray:
        """Nodes reachable from the root through children and alternates, in index order."""
        s = self._tree
        alt = s["alt"]
        root = int(s["meta_i"][KA.MI_ROOT])
        found, stack = [], [root] if root >= 0 else []
        while stack:
            k = stack.pop()
            found.append(k)
            stack.extend(self._children(k))
            if alt[k] >= 0:
                stack.append(int(alt[k]))
        return np.sort(np.array(found, dtype=np.int64))

    def _compact(self) -> None:
        """Drop the nodes of replaced branches and discarded alternates when they are at least
        half of the nodes made. They are detached and their leaves' statistics already freed,
        but their rows (and their ADWIN windows) would otherwise stay: the arrays grew with
        every alternate tree ever started. Node numbers only name nodes (every walk follows the
        links), so renumbering the kept ones in their order changes no prediction."""
        s = self._tree
        used = int(s["meta_i"][KA.MI_NNODES])
        keep = self._attached()
        if 2 * len(keep) > used:
            return
        n = len(keep)
        new = np.full(s["node_i"].shape[0] + 1, -1, dtype=np.int64)  # new[-1]: a missing link
        new[keep] = np.arange(n)
        for k in (*self.NODE_AXIS, *_HAT_NODE):
            s[k][:n] = s[k][keep]
        links = s["node_i"][:n, [KA.NI_CHILD, KA.NI_SIB, KA.NI_PARENT]]
        s["node_i"][:n, [KA.NI_CHILD, KA.NI_SIB, KA.NI_PARENT]] = new[links]
        s["alt"][:n] = new[s["alt"][:n]]
        s["alt_of"][:n] = new[s["alt_of"][:n]]
        s["node_i"][n:used] = -1
        for k in ("node_f", "stats", "present", "disabled", "merr"):
            s[k][n:used] = 0
        s["alt"][n:used] = -1
        s["alt_of"][n:used] = -1
        for k in range(n, used):
            adwin_reset(s["adw"][k])
        s["meta_i"][KA.MI_ROOT] = new[s["meta_i"][KA.MI_ROOT]]
        s["meta_i"][KA.MI_NNODES] = n

    def _grow(self) -> None:
        s = self._tree
        Nn = s["node_i"].shape[0]
        D = int(s["hmeta"][KA.HM_MAXDEPTH]) + 2
        maxc = max(2, s["cnt"].shape[2])
        if s["meta_i"][KA.MI_NNODES] + D * (maxc + 2) > Nn and self._compacts:
            self._compact()
        if s["meta_i"][KA.MI_NNODES] + D * (maxc + 2) > Nn:
            extra = max(Nn, D * (maxc + 2))
            pad_keys(s, (*self.NODE_AXIS, *_HAT_NODE), 0, extra, _FILL)
            for k in range(Nn, Nn + extra):
                adwin_reset(s["adw"][k])
        Ns = s["g"].shape[0]
        if s["meta_i"][KA.MI_NFREE] + Ns - s["meta_i"][KA.MI_NEXTSLOT] < D + 1:
            pad_keys(s, self.SLOT_AXIS, 0, max(Ns, D + 1), self.FILL)

    # ------------------------------------------------------------------ the kernel hook
    K = KA  # its own block loop; the parameter indices are the classifier tree's

    def _block_args(self, inp: BlockInputs) -> tuple:
        nom_idx, label_rank, pf, pi = super()._block_args(inp)
        pi2 = pi.copy()
        pi2[KA.PI_LEAF_NBA[0]] = KA.PI_LEAF_NBA[1]  # HAT leaves always keep both counts
        hf = np.array([self.switch_significance, float(self.drift_window_threshold)])
        return KA.Settings(nom_idx, label_rank, pf, pi, pi2, _ADWIN, hf)
