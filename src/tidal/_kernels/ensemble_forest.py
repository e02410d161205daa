"""Ensembles of Hoeffding trees (ARF, online bagging, leveraging bagging), compiled.

Every member's trees live in one "forest": the arrays of ``tree_hoeffding`` with a leading tree
axis (``node_i[t]`` is tree ``t``'s ``node_i``). ARF keeps ``2 * M`` trees (a foreground and a
background tree per member, ``fg[m]`` / ``bg[m]`` say which); bagging keeps ``M``.

Members are independent given their own random draws, so :func:`run_members` runs member by
member over the whole block, in parallel (``prange`` over members); the ensemble vote only
combines each member's prediction made before it learned the row, written to ``out_m[m, i]``.
Random numbers come from a counter-based generator keyed by (seed, member, row number): the
draws do not depend on the block size, the number of threads, or on re-running a row.

A member stops early (``pos[m]`` < end) before a row when one of its trees could run out of
node or slot rows; the caller grows the arrays and calls again. In leveraging bagging a member
also stops after a row where its ADWIN detected an increase of its error (``pending[m]``): the
caller then resets the worst member at that row (members only interact there), and runs the
reset member again from there: its work past that row is lost, so the caller runs leveraging
bagging in stretches of rows (``end``) rather than the whole block at once.

:func:`run_members` takes named structures rather than dozens of positional arrays: a
:data:`ForestSettings` (the ensemble's mode and parameters for the call), the block's rows
(``tidal.tree.base.BlockInputs``), the trees' ``tree_hoeffding.Settings``, the
:data:`ForestArrays` (the trees) and the :data:`MemberArrays`:

============  ============================================================================
field         what it holds
============  ============================================================================
``fg``/``bg``  per member: its foreground and background tree
``bg_on``     per member: 1 while its background tree learns (ARF, after a warning)
``s_warn``    per member: the state of its warning detector (ADWIN)
``s_drift``   per member: the state of its drift detector (ADWIN)
``metric``    per member: ``(correct, seen)`` since it was last replaced (ARF's weights)
``counts``    per member: warnings and drifts detected (``C_*``)
============  ============================================================================
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np
from numba import prange

from tidal._kernels import jit
from tidal._kernels.drift_adwin import adwin_reset, adwin_update
from tidal._kernels.tree_hoeffding import (
    TreeArrays,
    _argmax_present,
    _learn_leaf,
    category_leaf,
    clear_slot_stats,
    grow,
    inlined,
    leaf_proba,
    predict_leaf,
    route_row,
    scratch,
    sizes,
)
from tidal._kernels.tree_layout import (
    LEAF,
    MF_OVERHEAD,
    MI_GROWTH,
    MI_NNODES,
    MI_ROOT,
    NI_ACTIVE,
    NI_KIND,
)
from tidal._kernels.tree_nodes import needs_room

MODE_BAG, MODE_ARF, MODE_LB = 0, 1, 2
# leveraging bagging's resampling methods (River's names)
LB_BAG, LB_ME, LB_HALF, LB_WT, LB_SUBAG = 0, 1, 2, 3, 4
# per-member counters
C_WARN, C_DRIFT, N_COUNTS = 0, 1, 2

_ADWIN_TOTAL, _ADWIN_WIDTH = 2, 4
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)

# fmt: off
#: the forest's arrays: ``tree_hoeffding``'s ``TreeArrays`` with a tree axis in front, and
#: ``sub[t, node]``: whether the leaf drew its feature subspace
ForestArrays = namedtuple("ForestArrays", (*TreeArrays._fields, "sub"))
#: the members' arrays (see the module docstring)
MemberArrays = namedtuple("MemberArrays", (
    "fg", "bg", "bg_on", "s_warn", "s_drift", "metric", "counts",
))
#: the ensemble for one call of :func:`run_members`: ``mode`` (``MODE_*``), leveraging
#: bagging's ``lb_method`` (``LB_*``), ``weighted`` (ARF's accuracy-weighted vote), ``lam``
#: (the Poisson rate of the resampling), ``maxf`` (features in a leaf's random subspace),
#: ``seed``, ``t0`` (the rows learned before the block: the random numbers' row number) and the
#: warning and drift detectors' ADWIN parameters (a delta of 0: off)
ForestSettings = namedtuple("ForestSettings", (
    "mode", "lb_method", "weighted", "lam", "maxf", "seed", "t0", "warn_params", "drift_params",
))
# fmt: on


# ----------------------------------------------------------------------------- random numbers
@jit
def mix64(z):
    """SplitMix64's finaliser: a bijection of uint64 with good avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@jit
def member_key(seed, m):
    return mix64(mix64(np.uint64(seed) + _GOLDEN) ^ mix64(np.uint64(m) * _GOLDEN + _GOLDEN))


@jit
def _row_stream(key, t, rs):
    """Start the stream of member ``key`` at row number ``t`` (held in ``rs[0]``)."""
    rs[0] = mix64(key ^ mix64(np.uint64(t) + _GOLDEN))


@jit
def uniform(rs):
    """The next float in [0, 1) of the stream in ``rs[0]``."""
    rs[0] = rs[0] + _GOLDEN
    return float(mix64(rs[0]) >> _S11) * (1.0 / 9007199254740992.0)


@jit
def poisson(rate, rs):
    """Knuth's algorithm, as River's ``utils.random.poisson``."""
    lim = math.exp(-rate)
    k = 0
    p = 1.0
    while p > lim:
        k += 1
        p *= uniform(rs)
    return k - 1


# ----------------------------------------------------------------------------- one tree
@jit
def clear_tree(node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord,
               slot_free, meta_i, meta_f, sub, t):  # fmt: skip
    """Make tree ``t`` empty, every row as freshly allocated (so that the state does not keep
    traces of when, within a block, a tree was replaced)."""
    node_i[t] = -1
    node_f[t] = 0.0
    stats[t] = 0.0
    present[t] = 0
    disabled[t] = 0
    clear_slot_stats(g, fw, rank, nrank, cnt, cnt_ord, t)
    slot_free[t] = 0
    clear_meta(meta_i, meta_f, sub, t)


@jit
def clear_meta(meta_i, meta_f, sub, t):
    """The bookkeeping of an empty tree ``t`` (every forest's ``clear_tree`` ends with it)."""
    meta_i[t, :] = 0
    meta_i[t, MI_ROOT] = -1
    meta_i[t, MI_GROWTH] = 1
    meta_f[t, :] = 0.0
    meta_f[t, MF_OVERHEAD] = 1.0
    sub[t, :] = 0


@inlined
def tree_of(forest, t):
    """Tree ``t`` of a :data:`ForestArrays`, as a ``TreeArrays``."""
    return TreeArrays(forest.node_i[t], forest.node_f[t], forest.stats[t], forest.present[t],
                      forest.disabled[t], forest.g[t], forest.fw[t], forest.rank[t],
                      forest.nrank[t], forest.cnt[t], forest.cnt_ord[t], forest.slot_free[t],
                      forest.meta_i[t], forest.meta_f[t])  # fmt: skip


@jit
def tree_proba(tree, x, settings, out, bufs, info):
    """Write the probabilities of ``tree`` (a ``TreeArrays``) for ``x`` to ``out``; return the
    predicted class code (River's ``predict_one``: first maximum in the leaf's dict order), -1
    for "None". ``bufs`` are ``tree_hoeffding.scratch``'s work arrays; ``info`` gets the leaf
    and ``leaf_proba``'s naive Bayes flag, for ``tree_learn``."""
    nom_idx, pf, pi = settings.nominal_index, settings.float_params, settings.int_params
    tw, work, order, votes = bufs[0], bufs[1], bufs[3], bufs[4]
    out[:] = 0.0
    info[0] = -1
    info[1] = -1
    root = tree.meta_i[MI_ROOT]
    if root < 0:
        return -1
    leaf = predict_leaf(tree.node_i, tree.node_f, tree.stats, tree.present, root, x, tw, work)
    info[0] = leaf
    info[1] = leaf_proba(tree.stats, tree.present, tree.node_i, tree.node_f, tree.g, tree.fw,
                         tree.rank, tree.cnt, tree.cnt_ord, leaf, x, nom_idx, pf, pi, order, votes,
                         out)  # fmt: skip
    return _argmax_present(out, tree.present, leaf)


@jit
def _sample_subspace(disabled, node, k, rs, perm):
    """Monitor ``k`` features drawn without replacement at this leaf (ARF's random subspace)."""
    F = perm.shape[0]
    for f in range(F):
        perm[f] = f
        disabled[node, f] = 1
    for r in range(k):
        j = r + int(uniform(rs) * (F - r))
        tmp = perm[r]
        perm[r] = perm[j]
        perm[j] = tmp
        disabled[node, perm[r]] = 0


@jit
def tree_learn(tree, sub, x, yc, wi, settings, maxf, rs, bufs, perm, info, nb_out):
    """Learn one row in ``tree`` (a ``TreeArrays``; ``sub`` its leaves' "subspace drawn"):
    the learning half of ``tree_hoeffding.step``, plus a random feature
    subspace drawn the first time a leaf learns when ``maxf`` < number of features. When
    ``info[0]`` is the leaf the row reaches, ``nb_out`` holds its prediction (``tree_proba``'s)
    and naive Bayes is not computed twice; pass ``info[0] = -1`` otherwise.

    Returns the leaf where a new prediction of ``x`` would end (the row went down by its own
    values and the leaf did not split), -1 when that takes sorting ``x`` again."""
    (node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord, slot_free,
     meta_i, meta_f) = tree  # fmt: skip
    nom_idx, label_rank, pf, pi = settings
    tw, work, leaves, order, votes, tmp, post, post_p = bufs
    node, clean = route_row(node_i, node_f, stats, present, disabled, meta_i, meta_f, x, wi, tw,
                            work)  # fmt: skip
    if node_i[node, NI_KIND] != LEAF:
        node = category_leaf(node_i, node_f, stats, present, disabled, meta_i, node, x)
    if maxf < x.shape[0] and sub[node] == 0 and node_i[node, NI_ACTIVE] == 1:
        _sample_subspace(disabled, node, maxf, rs, perm)
        sub[node] = 1
    nb_done = info[1] if node == info[0] else -1
    _learn_leaf(node, x, yc, wi, node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt,
                cnt_ord, slot_free, meta_i, nom_idx, pf, pi, order, votes, tmp, nb_done,
                nb_out)  # fmt: skip
    n0 = meta_i[MI_NNODES]
    grow(node, clean, node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord,
         slot_free, meta_i, meta_f, nom_idx, label_rank, pf, pi, post, post_p, work,
         leaves)  # fmt: skip
    for k in range(n0, meta_i[MI_NNODES]):
        sub[k] = 0  # the leaves of a split draw their own subspace
    return node if clean and node_i[node, NI_KIND] == LEAF else -1


# ----------------------------------------------------------------------------- the ensemble
@jit
def adwin_estimation(s):
    return s[_ADWIN_TOTAL] / s[_ADWIN_WIDTH] if s[_ADWIN_WIDTH] > 0 else 0.0


@jit
def run_member(m, ensemble, pos, pending, end, rows, settings, forest, members, out_m, est_hist):
    """Run member ``m`` from ``pos[m]`` up to row ``end`` of the block ``rows`` (see the module
    docstring): ``ensemble`` a :data:`ForestSettings`, ``settings`` the trees'
    ``tree_hoeffding.Settings``, ``forest`` a :data:`ForestArrays`, ``members`` a
    :data:`MemberArrays`; its probabilities go to ``out_m[m]``, leveraging bagging's error
    estimates to ``est_hist[m]``. It touches only its own trees and rows of the member arrays."""
    mode, lb_method, weighted, lam, maxf, seed, t0, p_warn, p_drift = ensemble
    Xp, Xl, y, w = rows.Xp, rows.Xl, rows.y, rows.w
    do_pred, do_learn, same_x = rows.do_pred, rows.do_learn, rows.same
    nom_idx, label_rank, pf, pi = settings
    (node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord, slot_free, meta_i,
     meta_f, sub) = forest  # fmt: skip
    fg, bg, bg_on, s_warn, s_drift, metric, counts = members
    n = end
    Nn, Ns, C, F, maxc = sizes(tree_of(forest, 0))  # every tree has the same
    if pending[m] >= 0:
        return
    key = member_key(seed, m)
    rs = np.zeros(1, dtype=np.uint64)
    bufs = scratch(Nn, F, C, maxc)
    tmp = bufs[5]
    perm = np.empty(F, dtype=np.int64)
    pr = np.empty(C)
    info = np.full(2, -1, dtype=np.int64)
    none = np.full(2, -1, dtype=np.int64)  # "no prediction to reuse": never written
    i = pos[m]
    while i < n:
        t = fg[m]
        if do_learn:
            if needs_room(meta_i[t], Nn, Ns, maxc):
                break
            if bg_on[m] == 1 and needs_room(meta_i[bg[m]], Nn, Ns, maxc):
                break
        yp = -2
        if do_pred:
            yp = tree_proba(tree_of(forest, t), Xp[i], settings, pr, bufs, info)
            scale = 1.0
            if weighted and metric[m, 1] > 0 and metric[m, 0] > 0:
                scale = metric[m, 0] / metric[m, 1]
            for c in range(C):
                out_m[m, i, c] = pr[c] * scale
        if not do_learn:
            i += 1
            continue
        if not (w[i] > 0.0):
            if mode == MODE_LB:
                est_hist[m, i] = adwin_estimation(s_drift[m])
            i += 1
            continue
        x = Xl[i]
        yc = y[i]
        _row_stream(key, t0 + i, rs)
        have = do_pred and same_x  # pr and info hold the tree's prediction of this x
        if (mode == MODE_ARF or (mode == MODE_LB and lb_method == LB_ME)) and not have:
            yp = tree_proba(tree_of(forest, t), x, settings, pr, bufs, info)
            have = True
        if mode == MODE_ARF:
            metric[m, 1] += 1.0
            if yp == yc:
                metric[m, 0] += 1.0
        k = 0
        if mode == MODE_LB and lb_method != LB_BAG:
            if lb_method == LB_ME:
                err = adwin_estimation(s_drift[m])
                if yp != yc:
                    k = 1
                elif err != 1.0 and uniform(rs) < err / (1.0 - err):
                    k = 1
            elif lb_method == LB_HALF:
                k = 1 if uniform(rs) < 0.5 else 0
            elif lb_method == LB_WT:
                k = 1 + poisson(1.0, rs)
            else:
                k = 1 if poisson(1.0, rs) > 0 else 0
        else:
            k = poisson(lam, rs)
        leaf = -1
        if k > 0:
            wk = k * w[i]
            reuse = info if have else none
            if mode == MODE_ARF and bg_on[m] == 1:
                b = bg[m]
                tree_learn(tree_of(forest, b), sub[b], x, yc, wk, settings, maxf, rs, bufs,
                           perm, none, tmp)  # fmt: skip
            leaf = tree_learn(tree_of(forest, t), sub[t], x, yc, wk, settings, maxf, rs, bufs,
                              perm, reuse, pr)  # fmt: skip
            if mode == MODE_ARF:
                _arf_detect(m, yp != yc, members, p_warn, p_drift, forest)
        if mode == MODE_LB:
            # the member's prediction of the row it just learned, for its ADWIN
            if k == 0 and have:
                yq = yp  # the tree has not changed since it predicted this row
            elif leaf >= 0:  # known leaf: only its prediction is new
                tmp[:] = 0.0
                leaf_proba(stats[t], present[t], node_i[t], node_f[t], g[t], fw[t], rank[t],
                           cnt[t], cnt_ord[t], leaf, x, nom_idx, pf, pi, bufs[3], bufs[4],
                           tmp)  # fmt: skip
                yq = _argmax_present(tmp, present[t], leaf)
            else:
                yq = tree_proba(tree_of(forest, t), x, settings, tmp, bufs, info)
            before = adwin_estimation(s_drift[m])
            up = False
            if meta_i[t, MI_ROOT] >= 0:
                if adwin_update(p_drift, s_drift[m], 1.0 if yq != yc else 0.0):
                    up = adwin_estimation(s_drift[m]) > before
            est_hist[m, i] = adwin_estimation(s_drift[m])
            if up:
                pending[m] = i
                i += 1
                break
        i += 1
    pos[m] = i


@numba.njit(cache=True, nogil=True, parallel=True)
def run_members(ensemble, pos, pending, end, rows, settings, forest, members, out_m, est_hist):
    """:func:`run_member` for every member, in parallel (numba threads)."""
    for m in prange(pos.shape[0]):
        run_member(m, ensemble, pos, pending, end, rows, settings, forest, members, out_m,
                   est_hist)  # fmt: skip


@inlined
def detect(m, x, fg, bg, bg_on, p_warn, p_drift, s_warn, s_drift, metric, counts):
    """ARF's warning and drift detectors of member ``m``, fed ``x`` after it learned a row
    (River's order: a warning starts a fresh background tree, a drift replaces the tree by it;
    a detector whose delta is 0 is off). Returns the trees to clear, -1 for none: the fresh
    background tree and the discarded one."""
    fresh = -1
    dropped = -1
    if p_warn[0] > 0 and adwin_update(p_warn, s_warn[m], x):
        fresh = bg[m]
        bg_on[m] = 1
        adwin_reset(s_warn[m])
        counts[m, C_WARN] += 1
    if p_drift[0] > 0 and adwin_update(p_drift, s_drift[m], x):
        dropped = fg[m]
        if bg_on[m] == 1:
            # the background tree takes over; the replaced tree's rows become the spare tree
            fg[m] = bg[m]
            bg[m] = dropped
            bg_on[m] = 0
            adwin_reset(s_warn[m])
        adwin_reset(s_drift[m])
        metric[m, :] = 0.0  # the member's accuracy (or error) since it was last replaced
        counts[m, C_DRIFT] += 1
    return fresh, dropped


@jit
def _arf_detect(m, wrong, members, p_warn, p_drift, forest):
    """:func:`detect` fed "the member was wrong", then the trees it names cleared."""
    mb = members
    fresh, dropped = detect(m, 1.0 if wrong else 0.0, mb.fg, mb.bg, mb.bg_on, p_warn, p_drift,
                            mb.s_warn, mb.s_drift, mb.metric, mb.counts)  # fmt: skip
    for t in (fresh, dropped):
        if t >= 0:
            clear_tree(forest.node_i, forest.node_f, forest.stats, forest.present,
                       forest.disabled, forest.g, forest.fw, forest.rank, forest.nrank, forest.cnt,
                       forest.cnt_ord, forest.slot_free, forest.meta_i, forest.meta_f, forest.sub,
                       t)  # fmt: skip
