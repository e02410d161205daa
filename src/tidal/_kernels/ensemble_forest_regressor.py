"""Adaptive random forest for regression (River 0.26.1's ``forest.ARFRegressor``), compiled.

The forest holds the arrays of ``tree_regressor`` with a leading tree axis (``node_i[t]`` is
tree ``t``'s ``node_i``), ``2 * M`` trees: a foreground and a background tree per member
(``fg[m]`` / ``bg[m]``), plus ``sub[t, node]``: whether the leaf drew its feature subspace.

As in ``ensemble_forest`` (the classifiers), members are independent given their own random
draws, so :func:`run_members` runs member by member over the whole block in parallel
(``prange``; :func:`run_members_serial` runs them in turn, for blocks too small to be worth
waking threads). Each member writes the prediction it made before learning row ``i`` to
``out_m[m, i]`` and its error estimate at that moment to ``out_e[m, i]``, and
:func:`aggregate` combines them row by row in a fixed order. Random numbers are keyed by
(seed, member, row number), so nothing depends on the block size or on the number of threads.
A member stops early (``pos[m]`` < n) before a row that could overflow one of its trees'
node, slot or E-BST rows; the caller grows the arrays and calls again.

The block loop takes the forest's arrays, the members' arrays and the block's rows as three
named tuples (:data:`ForestArrays`, :data:`MemberArrays`, :data:`BlockRows`) rather than 30
positional arrays; the single-tree kernels it calls still take positional arrays.
"""

from __future__ import annotations

# the kernels' long argument lists stay packed
# fmt: off
import math
from collections import namedtuple

import numba
import numpy as np
from numba import prange

from tidal._kernels import inlined, jit
from tidal._kernels.ensemble_forest import (
    C_DRIFT,
    C_WARN,
    N_COUNTS,
    _row_stream,
    _sample_subspace,
    clear_meta,
    detect,
    member_key,
    poisson,
)
from tidal._kernels.tree_hoeffding import predict_leaf
from tidal._kernels.tree_layout import (
    LEAF,
    MI_NNODES,
    MI_ROOT,
    NI_ACTIVE,
    NI_KIND,
)
from tidal._kernels.tree_regressor import (
    PI_LEAF,
    TreeArrays,
    _learn_leaf,
    category_leaf,
    clear_slot_stats,
    grow,
    leaf_value,
    needs_room,
    route_row,
    scratch,
)
from tidal._kernels.tree_regressor_ebst import var_get, var_update

__all__ = [
    "C_DRIFT", "C_WARN", "N_COUNTS", "BlockRows", "ForestArrays", "MemberArrays", "aggregate",
    "clear_tree", "run_members", "run_members_serial",
]

#: the forest's arrays: ``tree_regressor``'s ``TreeArrays``, a tree axis in front, and ``sub``
ForestArrays = namedtuple("ForestArrays", (*TreeArrays._fields, "sub"))
#: the members' arrays: trees, detectors and their states, error statistics, counters
MemberArrays = namedtuple("MemberArrays", (
    "fg", "bg", "bg_on", "s_warn", "s_drift", "dnorm", "metric", "counts",
))
#: one block: rows to predict and to learn (category codes; as the leaf models see them), targets
#: and weights
BlockRows = namedtuple("BlockRows", ("Xp", "Xpr", "Xl", "Xlr", "y", "w"))

# metric[m]: River's metrics.MSE of the member since it was last replaced, a stats.Mean
M_N, M_MEAN = 0, 1


# ----------------------------------------------------------------------------- one tree
@jit
def clear_tree(node_i, node_f, nstat, disabled, lm, eroot, rank, nrank, ncat, slot_free, ef, ei,
               emeta, meta_i, meta_f, sub, t):
    """Make tree ``t`` empty, every row as freshly allocated (the state then keeps no trace of
    where, within a block, a tree was replaced)."""
    node_i[t] = -1
    node_f[t] = 0.0
    nstat[t] = 0.0
    disabled[t] = 0
    lm[t] = 0.0
    clear_slot_stats(eroot, rank, nrank, ncat, t)
    slot_free[t] = 0
    ef[t] = 0.0
    ei[t] = -1
    emeta[t, 0] = 0
    emeta[t, 1] = -1
    emeta[t, 2] = 0
    clear_meta(meta_i, meta_f, sub, t)


@jit
def tree_predict(node_i, node_f, nstat, lm, meta_i, x, xr, lm_use, leaf_kind, present, tw, stack):
    """The tree's prediction for ``x`` (category codes) / ``xr`` (the leaf models' view);
    0.0 before the tree learned anything, as River."""
    root = meta_i[MI_ROOT]
    if root < 0:
        return 0.0
    leaf = predict_leaf(node_i, node_f, nstat[:, :1], present, root, x, tw, stack)
    return leaf_value(node_f, nstat, lm, leaf, xr, lm_use, leaf_kind)


@jit
def tree_learn(node_i, node_f, nstat, disabled, lm, eroot, rank, nrank, ncat, slot_free, ef, ei,
               emeta, meta_i, meta_f, sub, x, xr, y, wi, nom_idx, lm_use, cat_order, pf, pi, maxf,
               rs, present, tw, stack, leaves, ops, frames, post, cand_post, perm):
    """Learn one row: the learning half of ``tree_regressor.step``, plus ARF's random feature
    subspace, drawn the first time an active leaf learns when ``maxf`` < number of features
    (River's ``BaseRandomLeaf``)."""
    n0 = meta_i[MI_NNODES]
    node, clean = route_row(node_i, node_f, nstat, disabled, lm, meta_i, meta_f, x, wi, present,
                            tw, stack)  # fmt: skip
    if node_i[node, NI_KIND] != LEAF:
        node = category_leaf(node_i, node_f, nstat, disabled, lm, meta_i, node, x)
    for k in range(n0, meta_i[MI_NNODES]):
        sub[k] = 0  # a new root or category leaf draws its own subspace
    if maxf < x.shape[0] and sub[node] == 0 and node_i[node, NI_ACTIVE] == 1:
        _sample_subspace(disabled, node, maxf, rs, perm)
        sub[node] = 1
    _learn_leaf(node, x, xr, y, wi, nom_idx, lm_use, pf, pi, node_i, node_f, nstat, disabled, lm,
                eroot, rank, nrank, ncat, slot_free, ef, ei, emeta, meta_i)
    n0 = meta_i[MI_NNODES]
    grow(node, clean, nom_idx, lm_use, cat_order, pf, pi, node_i, node_f, nstat, disabled, lm,
         eroot, rank, ncat, slot_free, ef, ei, emeta, meta_i, meta_f, post, cand_post, ops, frames,
         stack, leaves)
    for k in range(n0, meta_i[MI_NNODES]):
        sub[k] = 0  # the leaves of a split draw their own subspace


# ----------------------------------------------------------------------------- the ensemble
@jit
def drift_input(norm, err):
    """River's ``ARFRegressor._drift_detector_input``: the error min-max normalised with
    mean +- 3 standard deviations of the member's errors so far (``norm`` = its ``stats.Var``)."""
    var_update(norm, err, 1.0)
    if norm[0] == 1.0:
        return 0.5
    sd = math.sqrt(var_get(norm))
    return (err + 3.0 * sd) / (6.0 * sd) if sd > 0.0 else 0.5


@jit
def _clear(T, t):
    clear_tree(T.node_i, T.node_f, T.nstat, T.disabled, T.lm, T.eroot, T.rank, T.nrank, T.ncat,
               T.slot_free, T.ef, T.ei, T.emeta, T.meta_i, T.meta_f, T.sub, t)


@jit
def _detect(m, err, mb, p_warn, p_drift, T):
    """ARF's warning and drift detectors of member ``m`` after it learned a row (River's order:
    a warning starts a fresh background tree, a drift replaces the tree by it)."""
    if p_warn[0] <= 0.0 and p_drift[0] <= 0.0:
        return
    x = drift_input(mb.dnorm[m], err)
    fresh, dropped = detect(m, x, mb.fg, mb.bg, mb.bg_on, p_warn, p_drift, mb.s_warn, mb.s_drift,
                            mb.metric, mb.counts)
    for t in (fresh, dropped):
        if t >= 0:
            _clear(T, t)


@inlined
def _learn(T, t, x, xr, y, wk, nom_idx, lm_use, cat_order, pf, pi, maxf, rs, scratch_, perm):
    present, tw, stack, leaves, ops, frames, post, cand_post = scratch_
    tree_learn(T.node_i[t], T.node_f[t], T.nstat[t], T.disabled[t], T.lm[t], T.eroot[t],
               T.rank[t], T.nrank[t], T.ncat[t], T.slot_free[t], T.ef[t], T.ei[t], T.emeta[t],
               T.meta_i[t], T.meta_f[t], T.sub[t], x, xr, y, wk, nom_idx, lm_use, cat_order, pf,
               pi, maxf, rs, present, tw, stack, leaves, ops, frames, post, cand_post, perm)


@jit
def run_member(m, lam, maxf, seed, t0, pos, R, do_pred, do_learn, same_x, nom_idx, lm_use,
               cat_order, pf, pi, T, mb, p_warn, p_drift, out_m, out_e):
    """Run member ``m`` from ``pos[m]`` over the block ``R`` (see the module docstring).

    For each row the member predicts it, updates its MSE, draws ``k ~ Poisson(lam)`` (``k = 1``
    when ``lam`` <= 0: no resampling) and, when ``k > 0``, learns the row with weight
    ``k * w[i]`` (background tree first) and feeds its normalised error to its detectors.
    It touches only its own trees and its own rows of the member arrays.
    """
    n = out_m.shape[1]
    Nn = T.node_i.shape[1]
    Ns = T.eroot.shape[1]
    P = T.ef.shape[1]
    F = T.eroot.shape[2]
    maxc = max(2, T.ncat.shape[3])
    leaf_kind = pi[PI_LEAF]
    key = member_key(seed, m)
    rs = np.zeros(1, dtype=np.uint64)
    work = scratch(Nn, P, F, maxc)
    present, tw, stack = work[0], work[1], work[2]
    perm = np.empty(F, dtype=np.int64)
    fg, bg, bg_on, metric = mb.fg, mb.bg, mb.bg_on, mb.metric
    i = pos[m]
    while i < n:
        t = fg[m]
        if do_learn:
            if needs_room(T.meta_i[t], T.emeta[t], Nn, Ns, P, F, maxc):
                break
            b = bg[m]
            if bg_on[m] == 1 and needs_room(T.meta_i[b], T.emeta[b], Nn, Ns, P, F, maxc):
                break
        yp = 0.0
        if do_pred:
            yp = tree_predict(T.node_i[t], T.node_f[t], T.nstat[t], T.lm[t], T.meta_i[t], R.Xp[i],
                              R.Xpr[i], lm_use, leaf_kind, present, tw, stack)
            out_m[m, i] = yp
            out_e[m, i] = metric[m, M_MEAN]
        if not do_learn or not (R.w[i] > 0.0):
            i += 1
            continue
        if not (do_pred and same_x):
            yp = tree_predict(T.node_i[t], T.node_f[t], T.nstat[t], T.lm[t], T.meta_i[t], R.Xl[i],
                              R.Xlr[i], lm_use, leaf_kind, present, tw, stack)
        err = R.y[i] - yp
        metric[m, M_N] += 1.0
        metric[m, M_MEAN] += (1.0 / metric[m, M_N]) * (err * err - metric[m, M_MEAN])
        _row_stream(key, t0 + i, rs)
        k = 1 if lam <= 0.0 else poisson(lam, rs)
        if k > 0:
            wk = k * R.w[i]
            if bg_on[m] == 1:
                _learn(T, bg[m], R.Xl[i], R.Xlr[i], R.y[i], wk, nom_idx, lm_use, cat_order, pf, pi,
                       maxf, rs, work, perm)
            _learn(T, t, R.Xl[i], R.Xlr[i], R.y[i], wk, nom_idx, lm_use, cat_order, pf, pi, maxf,
                   rs, work, perm)
            _detect(m, err, mb, p_warn, p_drift, T)
        i += 1
    pos[m] = i


@numba.njit(cache=True, nogil=True, parallel=True)
def run_members(lam, maxf, seed, t0, pos, R, do_pred, do_learn, same_x, nom_idx, lm_use,
                cat_order, pf, pi, T, mb, p_warn, p_drift, out_m, out_e):
    """:func:`run_member` for every member, in parallel (numba threads). Members take unequal
    time (tree sizes, background trees): callers set ``numba.set_parallel_chunksize(1)`` so
    that a free thread takes the next member rather than waiting for a fixed share to be done
    (inside the kernel, that call would keep numba from caching it)."""
    for m in prange(pos.shape[0]):
        run_member(m, lam, maxf, seed, t0, pos, R, do_pred, do_learn, same_x, nom_idx, lm_use,
                   cat_order, pf, pi, T, mb, p_warn, p_drift, out_m, out_e)


@jit
def run_members_serial(lam, maxf, seed, t0, pos, R, do_pred, do_learn, same_x, nom_idx, lm_use,
                       cat_order, pf, pi, T, mb, p_warn, p_drift, out_m, out_e):
    """:func:`run_member` for every member in turn: the same results as :func:`run_members`,
    without waking threads (for a few rows, starting them costs more than the work)."""
    for m in range(pos.shape[0]):
        run_member(m, lam, maxf, seed, t0, pos, R, do_pred, do_learn, same_x, nom_idx, lm_use,
                   cat_order, pf, pi, T, mb, p_warn, p_drift, out_m, out_e)


@jit
def aggregate(out_m, out_e, median, weighted, out):
    """Combine the members' predictions of each row, always in the same order.

    ``median``: the median (mean of the two middle values for an even count). Otherwise the
    mean or, with ``weighted``, the mean weighted by River's weights ``sum(mse) - mse_m``
    (``out_e`` holds each member's MSE when it predicted), normalised to sum to 1; the plain
    mean while those weights are all zero.
    """
    M = out_m.shape[0]
    n = out_m.shape[1]
    vals = np.empty(M)
    for i in range(n):
        if median:
            for m in range(M):
                vals[m] = out_m[m, i]
            vals.sort()
            h = M // 2
            out[i] = vals[h] if M % 2 == 1 else (vals[h - 1] + vals[h]) / 2.0
            continue
        total = 0.0
        if weighted:
            for m in range(M):
                total += out_e[m, i]
        norm = 0.0
        if total != 0.0:
            for m in range(M):
                norm += total - out_e[m, i]
        if norm > 0.0:
            s = 0.0
            for m in range(M):
                s += (total - out_e[m, i]) / norm * out_m[m, i]
            out[i] = s
        else:
            s = 0.0
            for m in range(M):
                s += out_m[m, i]
            out[i] = s / M
