"""Hoeffding tree regressor kernels (River 0.26.1's ``tree.HoeffdingTreeRegressor``), compiled.

The tree uses the classifier's node layout (``tidal._kernels.tree_layout``) and its routing
helpers; a node's target statistics are ``nstat[k] = (n, mean, S)`` (River's ``stats.Var``), its
leaf model ``lm[k] = (weights..., intercept)`` (River's default ``LinearRegression``: SGD 0.01,
squared loss, intercept rate 0.01), and for adaptive leaves ``node_f[k, NF_MC]`` /
``node_f[k, NF_NB]`` hold the decayed squared errors of the mean and of the model. A leaf that
collects statistics owns a slot: the E-BST root of each numeric feature (``eroot``), the
order in which its splitters were created (``rank``) and each category's target statistics
(``ncat``).

The block loop :func:`step` takes the block's rows (``tidal.tree.base.BlockInputs``; ``Xpr`` and
``Xlr`` are the rows as the leaf models see them: numeric columns declared nominal keep their
values there), a :data:`Settings` and a :data:`TreeArrays` (the state's arrays by name):

=============  ===========================================================================
field          what it holds
=============  ===========================================================================
``node_i``     per node: kind, feature, children, sibling, parent, depth, slot... (``NI_*``)
``node_f``     per node: split value, branch category, weight at the last split attempt,
               the adaptive leaf's decayed errors (``NF_*``)
``nstat``      per node: the target's ``(n, mean, S)``
``disabled``   per node and feature: 1 when the leaf does not monitor the feature
``lm``         per node: the leaf model's weights, then its intercept
``eroot``      per slot and feature: the root of the feature's E-BST in the pool (-1: none)
``rank``       per slot and feature: the order in which the leaf's splitters were made
``nrank``      per slot: the number of splitters made
``ncat``       per slot, nominal feature and category: the target's ``(n, mean, S)``
``slot_free``  the stack of freed slots
``ef``/``ei``  the E-BST pool: per pool row, its float and int fields
``emeta``      the pool's bookkeeping (rows used, free list, free count)
``meta_i``     the tree's integer bookkeeping (``MI_*``)
``meta_f``     the tree's float bookkeeping (``MF_*``)
=============  ===========================================================================
"""

from __future__ import annotations

# the kernels' long argument lists stay packed
# fmt: off
from collections import namedtuple

import numpy as np

from tidal._kernels import jit
from tidal._kernels.tree_hoeffding import (
    _leaves_dfs,
    inlined,
    predict_leaf,
    sort_to_leaf,
)
from tidal._kernels.tree_layout import (
    LEAF,
    MF_ACTIVE_EST,
    MF_INACTIVE_EST,
    MF_OVERHEAD,
    MF_WSEEN,
    MI_GROWTH,
    MI_NACTIVE,
    MI_NCATS,
    MI_NINACTIVE,
    MI_NNODES,
    MI_ROOT,
    N_MF,
    N_MI,
    N_NF,
    N_NI,
    NF_EDGE,
    NF_LAST,
    NF_MC,
    NF_NB,
    NF_VALUE,
    NI_ACTIVE,
    NI_DEPTH,
    NI_FEAT,
    NI_KIND,
    NI_SLOT,
    NOMINAL_BINARY,
    NOMINAL_MULTIWAY,
    NUMERIC,
)
from tidal._kernels.tree_nodes import (
    append_child,
    best_two,
    hang_category_leaf,
    hoeffding_bound,
    leaves_to_deactivate,
    new_node,
    release_slot,
    stops_growing,
    take_slot,
)
from tidal._kernels.tree_nodes import needs_room as tree_needs_room
from tidal._kernels.tree_regressor_ebst import (
    best_split,
    free_tree,
    insert,
    pool_room,
    py_round1,
    remove_bad_splits,
    var_isub,
    var_update,
    vr_merit,
)

__all__ = ["N_MF", "N_MI", "N_NF", "N_NI", "step"]

# params_f
PF_GRACE = 0
PF_DELTA = 1
PF_TAU = 2
PF_MAXDEPTH = 3
PF_MSS = 4
PF_DECAY = 5
PF_MAXBYTES = 6
PF_MEMPERIOD = 7
PF_LR = 8
PF_ILR = 9
PF_CLIP = 10
N_PF = 11
# params_i
PI_LEAF = 0  # 0 mean, 1 model, 2 adaptive
PI_BINARY = 1
PI_PREPRUNE = 2
PI_POOR = 3
PI_STOPMEM = 4
PI_ROUND = 5  # TE-BST: feature values rounded to one decimal
N_PI = 6


# ----------------------------------------------------------------------------- nodes and slots
@jit
def _new_node(node_i, node_f, nstat, disabled, lm, meta_i, parent, depth):
    k = new_node(node_i, node_f, disabled, meta_i, parent, depth)
    nstat[k, :] = 0.0
    lm[k, :] = 0.0
    return k


#: the tree's arrays, under the state's names (see the module docstring)
TreeArrays = namedtuple("TreeArrays", (
    "node_i", "node_f", "nstat", "disabled", "lm", "eroot", "rank", "nrank", "ncat", "slot_free",
    "ef", "ei", "emeta", "meta_i", "meta_f",
))
#: what :func:`step` takes besides the rows and the tree, fixed over a block: each feature's
#: index among the nominal ones (-1: numeric), whether the leaf models use each feature, River's
#: sorted order of each nominal feature's category codes, and the float and int parameters
#: (``PF_*``, ``PI_*``)
Settings = namedtuple("Settings", (
    "nominal_index", "model_features", "category_order", "float_params", "int_params",
))
#: the named structures of the state :func:`step` takes after the settings, in order
STATE = (TreeArrays,)

@jit
def category_leaf(node_i, node_f, nstat, disabled, lm, meta_i, node, x):
    """A new leaf under multiway branch ``node`` for ``x``'s category, which has none yet."""
    leaf = _new_node(node_i, node_f, nstat, disabled, lm, meta_i, node, node_i[node, NI_DEPTH] + 1)
    hang_category_leaf(node_i, node_f, meta_i, node, leaf, x)
    return leaf


@inlined
def clear_slot_stats(eroot, rank, nrank, ncat, k):
    """Empty the splitter statistics at ``k``: a tree's slot ``k``, or a forest's tree ``k``."""
    eroot[k] = -1
    rank[k] = -1
    nrank[k] = 0
    ncat[k] = 0.0


@jit
def _alloc_slot(meta_i, slot_free, eroot, rank, nrank, ncat):
    s = take_slot(meta_i, slot_free)
    clear_slot_stats(eroot, rank, nrank, ncat, s)
    return s


@jit
def _deactivate(node_i, node, meta_i, slot_free, eroot, ef, ei, emeta, stack):
    """Leaf ``node`` stops learning: its E-BSTs go back to the pool, its slot to the free list."""
    s = node_i[node, NI_SLOT]
    if s >= 0:
        for f in range(eroot.shape[1]):
            free_tree(ef, ei, emeta, eroot[s, f], stack)
            eroot[s, f] = -1
    release_slot(node_i, node, meta_i, slot_free)
    node_i[node, NI_ACTIVE] = 0


# ----------------------------------------------------------------------------- leaf models
@jit
def lm_predict(lm, node, xr, lm_use):
    F = lm.shape[1] - 1
    s = 0.0
    for f in range(F):
        v = xr[f]
        if lm_use[f] and v == v:
            s += lm[node, f] * v
    return s + lm[node, F]


@jit
def _lm_learn(lm, node, xr, lm_use, y, w, pf):
    F = lm.shape[1] - 1
    lg = 2.0 * (lm_predict(lm, node, xr, lm_use) - y)
    lg *= w
    clip = pf[PF_CLIP]
    lg = max(min(lg, clip), -clip)
    lm[node, F] -= pf[PF_ILR] * lg
    lr = pf[PF_LR]
    for f in range(F):
        v = xr[f]
        if lm_use[f] and v == v:
            lm[node, f] -= lr * (v * lg)


@jit
def leaf_value(node_f, nstat, lm, node, xr, lm_use, leaf_kind):
    if leaf_kind == 0:
        return nstat[node, 1]
    if leaf_kind == 2 and node_f[node, NF_MC] < node_f[node, NF_NB]:
        return nstat[node, 1]
    return lm_predict(lm, node, xr, lm_use)


# ----------------------------------------------------------------------------- learning
@jit
def _learn_leaf(
    node, x, xr, y, w, nom_idx, lm_use, pf, pi, node_i, node_f, nstat, disabled, lm, eroot, rank,
    nrank, ncat, slot_free, ef, ei, emeta, meta_i,
):
    leaf_kind = pi[PI_LEAF]
    if leaf_kind == 2:
        dm = y - nstat[node, 1]
        dl = y - lm_predict(lm, node, xr, lm_use)
        decay = pf[PF_DECAY]
        node_f[node, NF_MC] = decay * node_f[node, NF_MC] + dm * dm
        node_f[node, NF_NB] = decay * node_f[node, NF_NB] + dl * dl
    var_update(nstat[node], y, w)
    if node_i[node, NI_ACTIVE] == 1:
        s = node_i[node, NI_SLOT]
        if s < 0:
            s = _alloc_slot(meta_i, slot_free, eroot, rank, nrank, ncat)
            node_i[node, NI_SLOT] = s
        for f in range(x.shape[0]):
            xv = x[f]
            if disabled[node, f] or xv != xv:
                continue
            if rank[s, f] < 0:
                rank[s, f] = nrank[s]
                nrank[s] += 1
            j = nom_idx[f]
            if j >= 0:
                v = int(xv)
                var_update(ncat[s, j, v], y, w)
                if v + 1 > meta_i[MI_NCATS]:
                    meta_i[MI_NCATS] = v + 1
            else:
                key = py_round1(xv) if pi[PI_ROUND] == 1 else xv
                eroot[s, f] = insert(ef, ei, emeta, eroot[s, f], key, y, w)
    if leaf_kind != 0:
        _lm_learn(lm, node, xr, lm_use, y, w, pf)


@jit
def _nominal_best(ncat, s, j, cat_order, pre, post, best_post, pf, pi):
    """``NominalSplitterReg.best_evaluated_split_suggestion``: (merit, multiway, value)."""
    mss = pf[PF_MSS]
    best = -np.inf
    multi = False
    value = 0.0
    nb = 0
    for r in range(cat_order.shape[1]):
        v = cat_order[j, r]
        if v >= 0 and ncat[s, j, v, 0] > 0.0:
            post[nb, :] = ncat[s, j, v]
            nb += 1
    if pi[PI_BINARY] == 0 and nb > 2:
        best = vr_merit(pre, post, nb, mss)
        multi = True
    for r in range(cat_order.shape[1]):
        v = cat_order[j, r]
        if v < 0 or not ncat[s, j, v, 0] > 0.0:
            continue
        post[0, :] = ncat[s, j, v]
        post[1, :] = pre
        var_isub(post[1], post[0])
        m = vr_merit(pre, post, 2, mss)
        if m > best:
            best = m
            multi = False
            value = float(v)
            best_post[:, :] = post[:2, :]
    return best, multi, value


@jit
def _make_children(
    node, kind, f, value, cpost, nom_idx, cat_order, pi, node_i, node_f, nstat, disabled, lm, ncat,
    meta_i,
):
    depth = node_i[node, NI_DEPTH] + 1
    s = node_i[node, NI_SLOT]
    nb = 0
    j = nom_idx[f]
    for r in range(cat_order.shape[1] if kind == NOMINAL_MULTIWAY else 2):
        if kind == NOMINAL_MULTIWAY:
            v = cat_order[j, r]
            if v < 0 or not ncat[s, j, v, 0] > 0.0:
                continue
        ch = _new_node(node_i, node_f, nstat, disabled, lm, meta_i, node, depth)
        if kind == NOMINAL_MULTIWAY:
            nstat[ch, :] = ncat[s, j, v]
            node_f[ch, NF_EDGE] = float(v)
        else:
            nstat[ch, :] = cpost[r]
        node_f[ch, NF_LAST] = nstat[ch, 0]
        if pi[PI_LEAF] != 0:
            lm[ch, :] = lm[node, :]
        if pi[PI_LEAF] == 2:
            node_f[ch, NF_MC] = node_f[node, NF_MC]
            node_f[ch, NF_NB] = node_f[node, NF_NB]
        append_child(node_i, node, ch)
        nb += 1
    node_i[node, NI_KIND] = kind
    node_i[node, NI_FEAT] = f
    node_f[node, NF_VALUE] = value
    return nb


@jit
def _attempt_split(
    node, nom_idx, lm_use, cat_order, pf, pi, node_i, node_f, nstat, disabled, lm, eroot, rank,
    ncat, slot_free, ef, ei, emeta, meta_i, meta_f, post, cand_post, ops, frames, stack, leaves,
):
    s = node_i[node, NI_SLOT]
    F = eroot.shape[1]
    pre = nstat[node]
    mss = pf[PF_MSS]
    cand_m = np.empty(F + 1)
    cand_f = np.full(F + 1, -1, dtype=np.int64)
    cand_kind = np.zeros(F + 1, dtype=np.int64)
    cand_v = np.zeros(F + 1)
    k = 0
    if pi[PI_PREPRUNE] == 1:
        cand_m[0] = -np.inf
        k = 1
    by_rank = np.argsort(rank[s], kind="mergesort")
    for r in range(F):
        f = by_rank[r]
        if rank[s, f] < 0:
            continue
        j = nom_idx[f]
        if j < 0:
            m, v = best_split(ef, ei, eroot[s, f], pre, mss, ops, post, cand_post[k])
            cand_kind[k] = NUMERIC
            if m > -np.inf:
                cand_f[k] = f
        else:
            m, multi, v = _nominal_best(ncat, s, j, cat_order, pre, post, cand_post[k], pf, pi)
            cand_kind[k] = NOMINAL_MULTIWAY if multi else NOMINAL_BINARY
            cand_f[k] = f
        cand_m[k] = m
        cand_v[k] = v
        k += 1
    best, second = best_two(cand_m, k)
    should = False
    if k < 2:
        should = k > 0
    else:
        hb = hoeffding_bound(1.0, pf[PF_DELTA], pre[0])
        mb = cand_m[best]
        m2 = cand_m[second]
        if mb > 0.0 and (m2 / mb < 1.0 - hb or hb < pf[PF_TAU]):
            should = True
        if pi[PI_POOR] == 1 and mb != 0.0:
            ratio = m2 / mb
            for i in range(k):
                f = cand_f[i]
                if f >= 0 and cand_m[i] / mb < ratio - 2.0 * hb and not disabled[node, f]:
                    free_tree(ef, ei, emeta, eroot[s, f], stack)
                    eroot[s, f] = -1
                    if nom_idx[f] >= 0:
                        ncat[s, nom_idx[f]] = 0.0
                    rank[s, f] = -1
                    disabled[node, f] = 1
        if not should and mb > 0.0 and m2 > 0.0:
            ratio = m2 / mb
            for f in range(F):
                if rank[s, f] >= 0 and nom_idx[f] < 0:
                    eroot[s, f] = remove_bad_splits(
                        ef, ei, emeta, eroot[s, f], pre, mss, ratio, mb, hb, frames, post
                    )
    if not should:
        return
    if cand_f[best] < 0:
        _deactivate(node_i, node, meta_i, slot_free, eroot, ef, ei, emeta, stack)
        meta_i[MI_NINACTIVE] += 1
        meta_i[MI_NACTIVE] -= 1
    else:
        nb = _make_children(
            node, cand_kind[best], cand_f[best], cand_v[best], cand_post[best], nom_idx, cat_order,
            pi, node_i, node_f, nstat, disabled, lm, ncat, meta_i,
        )
        _deactivate(node_i, node, meta_i, slot_free, eroot, ef, ei, emeta, stack)
        meta_i[MI_NACTIVE] += nb - 1
    enforce_size_limit(pf, pi, node_i, meta_i, meta_f, slot_free, eroot, ef, ei, emeta, stack,
                       leaves)  # fmt: skip


# ----------------------------------------------------------------------------- memory
@jit
def enforce_size_limit(pf, pi, node_i, meta_i, meta_f, slot_free, eroot, ef, ei, emeta, stack,
                       leaves):  # fmt: skip
    """River's ``_enforce_size_limit``; a regression leaf's promise is minus its depth."""
    if stops_growing(meta_i, meta_f, pf[PF_MAXBYTES], pi[PI_STOPMEM] == 1):
        return
    L = _leaves_dfs(node_i, meta_i[MI_ROOT], leaves, stack)
    promise = np.empty(L)
    for i in range(L):
        promise[i] = -float(node_i[leaves[i], NI_DEPTH])
    drop = leaves_to_deactivate(node_i, leaves[:L], promise, meta_i, meta_f, pf[PF_MAXBYTES],
                                pf[PF_MAXDEPTH])
    for k in drop:
        _deactivate(node_i, k, meta_i, slot_free, eroot, ef, ei, emeta, stack)


@jit
def _tree_bytes(node_i, lm, ncat, eroot, emeta, meta_i):
    """Bytes of the tree's records: nodes, their leaf models, slots and live E-BST nodes."""
    F = eroot.shape[1]
    node_bytes = 8.0 * (N_NI + N_NF + 3 + F + 1) + F
    slot_bytes = 8.0 * (2 * F + 1 + 3 * ncat.shape[1] * meta_i[MI_NCATS])
    ebst = 48.0 * (emeta[0] - emeta[2])
    return node_bytes, slot_bytes, ebst


@jit
def estimate_model_size(pf, pi, node_i, lm, ncat, eroot, ef, ei, emeta, meta_i, meta_f,
                        slot_free, stack, leaves):  # fmt: skip
    node_bytes, slot_bytes, ebst = _tree_bytes(node_i, lm, ncat, eroot, emeta, meta_i)
    L = _leaves_dfs(node_i, meta_i[MI_ROOT], leaves, stack)
    n_act = 0
    for i in range(L):
        if node_i[leaves[i], NI_ACTIVE] == 1:
            n_act += 1
    total_active = n_act * (node_bytes + slot_bytes) + ebst
    total_inactive = (L - n_act) * node_bytes
    if total_active > 0 and meta_i[MI_NACTIVE] > 0:
        meta_f[MF_ACTIVE_EST] = total_active / meta_i[MI_NACTIVE]
    if total_inactive > 0 and meta_i[MI_NINACTIVE] > 0:
        meta_f[MF_INACTIVE_EST] = total_inactive / meta_i[MI_NINACTIVE]
    actual = meta_i[MI_NNODES] * node_bytes + n_act * slot_bytes + ebst
    est = (
        meta_i[MI_NACTIVE] * meta_f[MF_ACTIVE_EST] + meta_i[MI_NINACTIVE] * meta_f[MF_INACTIVE_EST]
    )
    if est > 0:
        meta_f[MF_OVERHEAD] = actual / est
    if actual > pf[PF_MAXBYTES]:
        enforce_size_limit(pf, pi, node_i, meta_i, meta_f, slot_free, eroot, ef, ei, emeta, stack,
                           leaves)  # fmt: skip


@inlined
def needs_room(meta_i, emeta, n_nodes, n_slots, n_pool, n_features, maxc):
    """Whether learning one row could overflow the tree's node, slot or E-BST rows."""
    if tree_needs_room(meta_i, n_nodes, n_slots, maxc):
        return True
    return pool_room(emeta, n_pool) < n_features


@inlined
def route_row(node_i, node_f, nstat, disabled, lm, meta_i, meta_f, x, wi, present, tw, stack):
    """Count a learning row's weight and sort it down, making the root when there is none yet;
    returns ``(node, clean)`` as ``tree_hoeffding.sort_to_leaf`` does (the caller makes a
    missing category's leaf, as ``tree_hoeffding.route_row`` says why)."""
    meta_f[MF_WSEEN] += wi
    if meta_i[MI_ROOT] < 0:
        meta_i[MI_ROOT] = _new_node(node_i, node_f, nstat, disabled, lm, meta_i, -1, 0)
        meta_i[MI_NACTIVE] = 1
    return sort_to_leaf(node_i, node_f, nstat[:, :1], present, meta_i[MI_ROOT], x, tw, stack)


# ----------------------------------------------------------------------------- the block loop
@jit
def scratch(Nn, P, F, maxc):
    """Work arrays for learning rows in a tree with ``Nn`` node rows, ``P`` E-BST rows, ``F``
    features and ``maxc`` categories: ``present`` (all ones: one statistic, always present),
    then ``tw``, ``stack``, ``leaves``, ``ops``, ``frames``, ``post`` and ``cand_post``."""
    return (np.ones((Nn, 1), dtype=np.int64), np.empty(Nn),
            np.empty(max(Nn, P) + 1, dtype=np.int64), np.empty(Nn, dtype=np.int64),
            np.empty(3 * P + 4, dtype=np.int64), np.empty((P + 1, 5), dtype=np.int64),
            np.empty((maxc, 3)), np.empty((F + 1, 2, 3)))


@inlined
def grow(node, clean, nom_idx, lm_use, cat_order, pf, pi, node_i, node_f, nstat, disabled, lm,
         eroot, rank, ncat, slot_free, ef, ei, emeta, meta_i, meta_f, post, cand_post, ops, frames,
         stack, leaves):
    """After leaf ``node`` learned a row: at the maximum depth, deactivate it; otherwise attempt
    a split once per grace period of weight (only after a row that went down by its own values,
    ``clean``). Then estimate the model's size once per ``memory_estimate_period``."""
    if clean and meta_i[MI_GROWTH] == 1 and node_i[node, NI_ACTIVE] == 1:
        if node_i[node, NI_DEPTH] >= pf[PF_MAXDEPTH]:
            _deactivate(node_i, node, meta_i, slot_free, eroot, ef, ei, emeta, stack)
            meta_i[MI_NACTIVE] -= 1
            meta_i[MI_NINACTIVE] += 1
        else:
            ws = nstat[node, 0]
            if ws - node_f[node, NF_LAST] >= pf[PF_GRACE]:
                _attempt_split(node, nom_idx, lm_use, cat_order, pf, pi, node_i, node_f, nstat,
                               disabled, lm, eroot, rank, ncat, slot_free, ef, ei, emeta, meta_i,
                               meta_f, post, cand_post, ops, frames, stack, leaves)
                node_f[node, NF_LAST] = ws
    if meta_f[MF_WSEEN] % pf[PF_MEMPERIOD] == 0:
        estimate_model_size(pf, pi, node_i, lm, ncat, eroot, ef, ei, emeta, meta_i, meta_f,
                            slot_free, stack, leaves)


@jit
def step(rows, out, start, settings, tree):
    """Predict then learn each row of ``rows`` from ``start`` (predictions to ``out``); returns
    the row where it stopped. ``settings`` is a :data:`Settings`, ``tree`` a :data:`TreeArrays`.

    It stops before row ``i`` only when the node, slot or E-BST arrays could be too small for
    that row; the caller grows them and calls again from that row.
    """
    Xp, Xpr, Xl, Xlr, y, w = rows.Xp, rows.Xpr, rows.Xl, rows.Xlr, rows.y, rows.w
    do_pred, do_learn = rows.do_pred, rows.do_learn
    nom_idx, lm_use, cat_order = (settings.nominal_index, settings.model_features,
                                  settings.category_order)
    pf, pi = settings.float_params, settings.int_params
    (node_i, node_f, nstat, disabled, lm, eroot, rank, nrank, ncat, slot_free, ef, ei, emeta,
     meta_i, meta_f) = tree
    n = out.shape[0]
    Nn = node_i.shape[0]
    Ns = eroot.shape[0]
    P = ef.shape[0]
    F = eroot.shape[1]
    maxc = max(2, ncat.shape[2])
    leaf_kind = pi[PI_LEAF]
    present, tw, stack, leaves, ops, frames, post, cand_post = scratch(Nn, P, F, maxc)
    cnt = nstat[:, :1]
    for i in range(start, n):
        if do_learn and needs_room(meta_i, emeta, Nn, Ns, P, F, maxc):
            return i
        root = meta_i[MI_ROOT]
        if do_pred and root >= 0:
            leaf = predict_leaf(node_i, node_f, cnt, present, root, Xp[i], tw, stack)
            out[i] = leaf_value(node_f, nstat, lm, leaf, Xpr[i], lm_use, leaf_kind)
        if not do_learn or not (w[i] > 0.0):
            continue
        x = Xl[i]
        wi = w[i]
        node, clean = route_row(node_i, node_f, nstat, disabled, lm, meta_i, meta_f, x, wi,
                                present, tw, stack)  # fmt: skip
        if node_i[node, NI_KIND] != LEAF:
            node = category_leaf(node_i, node_f, nstat, disabled, lm, meta_i, node, x)
        _learn_leaf(
            node, x, Xlr[i], y[i], wi, nom_idx, lm_use, pf, pi, node_i, node_f, nstat, disabled,
            lm, eroot, rank, nrank, ncat, slot_free, ef, ei, emeta, meta_i,
        )
        grow(node, clean, nom_idx, lm_use, cat_order, pf, pi, node_i, node_f, nstat, disabled, lm,
             eroot, rank, ncat, slot_free, ef, ei, emeta, meta_i, meta_f, post, cand_post, ops,
             frames, stack, leaves)
    return n
