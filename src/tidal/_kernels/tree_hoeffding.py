"""Hoeffding tree (VFDT) classifier kernels: the whole per-row loop over a block, compiled.

The tree lives in structure-of-arrays form (see ``tidal._kernels.tree_layout`` for the
layout). The arithmetic follows River 0.26.1 (``river.tree.HoeffdingTreeClassifier`` with its
Gaussian splitter and nominal splitter) operation by operation, including its order of float
operations where it matters, so that splits and predictions agree with River.

Powers are computed with a run-time exponent (``params_f[PF_HALF]``, ``params_f[PF_TWO]``):
a literal ``x ** 0.5`` is turned into ``sqrt`` by LLVM, which differs from CPython's
``pow(x, 0.5)`` in the last bit for about 0.1 % of inputs.

The block loop :func:`step` takes three named structures rather than dozens of positional arrays:

- the block's rows, ``tidal.tree.base.BlockInputs`` (``Xp``/``Xl``: rows to predict and to
  learn, nominal columns as category codes; ``y``: class codes; ``w``: weights; the flags
  ``do_pred``, ``do_learn`` and ``same``: the predicted rows are the learned ones);
- :data:`Settings`, what is fixed over a block: ``nominal_index`` (each feature's index among
  the nominal ones, -1 for a numeric one), ``label_rank`` (each class code's rank in sorted
  label order), ``float_params`` and ``int_params`` (the tree's parameters, indexed by the
  ``PF_*`` and ``PI_*`` constants of ``tree_layout``);
- :data:`TreeArrays`, the tree: the state's arrays under the state's names.

=============  ===========================================================================
field          what it holds (one row per node, per slot: an active leaf's statistics)
=============  ===========================================================================
``node_i``     per node: kind, feature, children, sibling, parent, depth, slot... (``NI_*``)
``node_f``     per node: split value, branch category, weight at the last split attempt,
               naive Bayes' and majority class's correct weights (``NF_*``)
``stats``      per node and class: the weight seen (River's ``stats`` dict)
``present``    per node and class: 0 when the class is not in the dict, else its position + 1
``disabled``   per node and feature: 1 when the leaf does not monitor the feature
``g``          per slot, feature and class: the Gaussian estimator (``G_*``)
``fw``         per slot and feature: the weight the feature was seen with
``rank``       per slot and feature: the order in which the leaf first saw the feature
``nrank``      per slot: the number of features seen
``cnt``        per slot, nominal feature, category and class: the weight seen
``cnt_ord``    per slot, nominal feature and class: the class's position in River's dict
``slot_free``  the stack of freed slots
``meta_i``     the tree's integer bookkeeping (root, counts of nodes and leaves; ``MI_*``)
``meta_f``     the tree's float bookkeeping (weight seen, size estimates; ``MF_*``)
=============  ===========================================================================
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from tidal._kernels import inlined, jit

# fmt: off
from tidal._kernels.tree_layout import (  # noqa: F401  (re-exported for the learners)
    G_HLOGV,
    G_M2VAR,
    G_MAX,
    G_MEAN,
    G_MIN,
    G_N,
    G_ORD,
    G_S,
    G_VAR,
    HALF_LOG_TAU,
    LEAF,
    MF_ACTIVE_EST,
    MF_INACTIVE_EST,
    MF_OVERHEAD,
    MF_WSEEN,
    MI_GROWTH,
    MI_NACTIVE,
    MI_NCATS,
    MI_NCLASSES,
    MI_NEXTSLOT,
    MI_NFREE,
    MI_NINACTIVE,
    MI_NNODES,
    MI_ROOT,
    N_G,
    N_MF,
    N_MI,
    N_NF,
    N_NI,
    N_PF,
    N_PI,
    NEG_INF,
    NF_EDGE,
    NF_LAST,
    NF_MC,
    NF_NB,
    NF_VALUE,
    NI_ACTIVE,
    NI_CHILD,
    NI_DEPTH,
    NI_FEAT,
    NI_KIND,
    NI_NCHILD,
    NI_PARENT,
    NI_SIB,
    NI_SLOT,
    NOMINAL_BINARY,
    NOMINAL_MULTIWAY,
    NUMERIC,
    PF_DELTA,
    PF_GRACE,
    PF_HALF,
    PF_MAXBYTES,
    PF_MAXDEPTH,
    PF_MBF,
    PF_MEMPERIOD,
    PF_MSS,
    PF_NBTHR,
    PF_NSPLITS,
    PF_TAU,
    PF_TWO,
    PI_BINARY,
    PI_CODE0,
    PI_CODE1,
    PI_CRIT,
    PI_LEAF,
    PI_NBMODE,
    PI_POOR,
    PI_PREPRUNE,
    PI_STOPMEM,
)
from tidal._kernels.tree_nodes import (
    append_child,
    best_two,
    deactivate,
    hang_category_leaf,
    hoeffding_bound,
    leaves_to_deactivate,
    needs_room,
    new_node,
    push_children,
    release_slot,
    stops_growing,
    take_slot,
)
from tidal._kernels.tree_split import (
    nominal_best,
    nominal_binary_dists,
    nominal_multiway_dists,
    numeric_best,
    numeric_dists,
)

#: the tree's arrays, under the state's names (see the module docstring)
TreeArrays = namedtuple("TreeArrays", (
    "node_i", "node_f", "stats", "present", "disabled", "g", "fw", "rank", "nrank", "cnt",
    "cnt_ord", "slot_free", "meta_i", "meta_f",
))
#: what :func:`step` takes besides the rows and the tree, fixed over a block
Settings = namedtuple("Settings", ("nominal_index", "label_rank", "float_params", "int_params"))
#: the named structures of the state :func:`step` takes after the settings, in order
STATE = (TreeArrays,)

# ----------------------------------------------------------------------------- small helpers

@jit
def _next_in_order(present, node, last):
    """The class with the smallest dict position above ``last`` (-1 when none)."""
    best = -1
    for c in range(present.shape[1]):
        p = present[node, c]
        if p > last and (best < 0 or p < present[node, best]):
            best = c
    return best


@inlined
def leaf_total(stats, present, node):
    """``sum(stats.values())`` in River's dict order (``present`` holds position + 1)."""
    t = 0.0
    C = stats.shape[1]
    if C <= 2:
        for c in range(C):
            if present[node, c]:
                t += stats[node, c]
        return t
    c = _next_in_order(present, node, 0)
    while c >= 0:
        t += stats[node, c]
        c = _next_in_order(present, node, present[node, c])
    return t


@inlined
def _add_class(present, node, c):
    if present[node, c] == 0:
        present[node, c] = present[node].max() + 1


# ----------------------------------------------------------------------------- nodes and slots
@jit
def _new_node(node_i, node_f, stats, present, disabled, meta_i, parent, depth):
    k = new_node(node_i, node_f, disabled, meta_i, parent, depth)
    stats[k, :] = 0.0
    present[k, :] = 0
    return k


@jit
def category_leaf(node_i, node_f, stats, present, disabled, meta_i, node, x):
    """A new leaf under multiway branch ``node`` for ``x``'s category, which has none yet."""
    depth = node_i[node, NI_DEPTH] + 1
    leaf = _new_node(node_i, node_f, stats, present, disabled, meta_i, node, depth)
    hang_category_leaf(node_i, node_f, meta_i, node, leaf, x)
    return leaf


@inlined
def clear_slot_stats(g, fw, rank, nrank, cnt, cnt_ord, k):
    """Empty the splitter statistics at ``k``: a tree's slot ``k``, or a forest's tree ``k``."""
    g[k] = 0.0
    fw[k] = 0.0
    rank[k] = -1
    nrank[k] = 0
    cnt[k] = 0.0
    cnt_ord[k] = -1


@jit
def _alloc_slot(meta_i, slot_free, g, fw, rank, nrank, cnt, cnt_ord):
    s = take_slot(meta_i, slot_free)
    clear_slot_stats(g, fw, rank, nrank, cnt, cnt_ord, s)
    return s


@jit
def subtree_weights(node_i, stats, present, root, out, work):
    """Total leaf weight under every node of the subtree at ``root`` (River's ``total_weight``)."""
    n = 0
    work[0] = root
    top = 1
    order = np.empty(node_i.shape[0], dtype=np.int64)
    while top > 0:
        top -= 1
        k = work[top]
        order[n] = k
        n += 1
        top = push_children(node_i, k, work, top)
    for r in range(n - 1, -1, -1):
        k = order[r]
        if node_i[k, NI_KIND] == LEAF:
            out[k] = leaf_total(stats, present, k)
        else:
            t = 0.0
            ch = node_i[k, NI_CHILD]
            while ch >= 0:
                t += out[ch]
                ch = node_i[ch, NI_SIB]
            out[k] = t


@jit
def _most_common_child(node_i, stats, present, node, tw, work):
    subtree_weights(node_i, stats, present, node, tw, work)
    best = -1
    bw = 0.0
    ch = node_i[node, NI_CHILD]
    if node_i[node, NI_KIND] != NOMINAL_MULTIWAY:
        right = node_i[ch, NI_SIB]
        return right if tw[ch] < tw[right] else ch
    while ch >= 0:
        if best < 0 or tw[ch] > bw:
            best = ch
            bw = tw[ch]
        ch = node_i[ch, NI_SIB]
    return best


@inlined
def _branch(node_i, node_f, node, x):
    """The child ``x`` goes to, or -1 when it has no branch (missing value, new category)."""
    v = x[node_i[node, NI_FEAT]]
    if v != v:
        return -1
    kind = node_i[node, NI_KIND]
    left = node_i[node, NI_CHILD]
    if kind == NUMERIC:
        return left if v <= node_f[node, NF_VALUE] else node_i[left, NI_SIB]
    if kind == NOMINAL_BINARY:
        return left if v == node_f[node, NF_VALUE] else node_i[left, NI_SIB]
    ch = left
    while ch >= 0:
        if node_f[ch, NF_EDGE] == v:
            return ch
        ch = node_i[ch, NI_SIB]
    return -1


@inlined
def predict_leaf(node_i, node_f, stats, present, root, x, tw, work):
    node = root
    while node_i[node, NI_KIND] != LEAF:
        b = _branch(node_i, node_f, node, x)
        if b < 0:
            b = _most_common_child(node_i, stats, present, node, tw, work)
        node = b
    return node


@inlined
def sort_to_leaf(node_i, node_f, stats, present, node, x, tw, work):
    """Sort a learning row down from ``node``; return ``(node, clean)``.

    ``node`` is the leaf the row reaches or, when the row's category has no child yet at a
    multiway branch, that branch (the caller adds the child: each tree lays its nodes out its
    own way). A missing value, or a category unseen at a binary split, follows the heaviest
    child and makes the row not ``clean``: the leaf it reaches then attempts no split.
    """
    clean = True
    while True:
        while node_i[node, NI_KIND] != LEAF:
            b = _branch(node_i, node_f, node, x)
            if b < 0:
                break
            node = b
        if node_i[node, NI_KIND] == LEAF:
            return node, clean
        clean = False
        fv = x[node_i[node, NI_FEAT]]
        if node_i[node, NI_KIND] == NOMINAL_MULTIWAY and fv == fv:
            return node, clean
        node = _most_common_child(node_i, stats, present, node, tw, work)


# ----------------------------------------------------------------------------- leaf predictions
@inlined
def _mc_proba(stats, present, node, out):
    total = leaf_total(stats, present, node)
    for c in range(stats.shape[1]):
        if present[node, c]:
            out[c] = stats[node, c] / total if total != 0.0 else stats[node, c]
        else:
            out[c] = 0.0


@inlined
def _moa_log_likelihood(g, cnt, s, f, j, c, xv):
    """log P(x_f = xv | c) as MOA's Gaussian and nominal attribute observers give it.

    ``d * d`` rather than River's ``d ** 2``: libm's ``pow`` costs more than the rest of the
    likelihood, and MOA squares by multiplying too."""
    if j < 0:
        if g[s, f, c, G_N] <= 0.0:
            return -np.inf
        if g[s, f, c, G_VAR] > 0.0:
            d = xv - g[s, f, c, G_MEAN]
            return d * d / g[s, f, c, G_M2VAR] - HALF_LOG_TAU - g[s, f, c, G_HLOGV]
        return 0.0 if xv == g[s, f, c, G_MEAN] else -np.inf
    tot = 0.0
    nv = 0
    for u in range(cnt.shape[2]):
        if cnt[s, j, u, c] > 0.0:
            tot += cnt[s, j, u, c]
            nv = u + 1
    if nv == 0:
        return -np.inf
    v = int(xv)
    k = cnt[s, j, v, c] if 0 <= v < cnt.shape[2] else 0.0
    return math.log((k + 1.0) / (tot + nv))


@inlined
def _nb_proba(stats, present, node_i, g, fw, rank, cnt, cnt_ord, node, x, nom_idx, pf, moa, order,
              votes, out):  # fmt: skip
    """River's ``do_naive_bayes_prediction``; returns False when it predicts nothing.

    With ``moa`` the likelihoods are MOA's (``NaiveBayes.doNaiveBayesPrediction``): a class the
    leaf has no estimator of for a feature, or whose estimator has zero variance and a mean other
    than the value, gets likelihood 0 (River skips such features instead); a category gets
    Laplace-smoothed frequencies. When every class has likelihood 0 it predicts nothing.
    """
    C = stats.shape[1]
    total = leaf_total(stats, present, node)
    any_present = False
    for c in range(C):
        out[c] = 0.0
        if present[node, c]:
            any_present = True
    if not any_present or total == 0.0:
        return False
    s = node_i[node, NI_SLOT]
    if moa:
        _moa_votes(stats, present, node, total, x, s, g, fw, rank, cnt, nom_idx, votes)
        return _votes_to_proba(present, node, votes, out)
    two = pf[PF_TWO]
    m = 0
    if s >= 0:
        F = fw.shape[1]
        for f in range(F):
            if rank[s, f] >= 0:
                order[rank[s, f]] = f
                m += 1
    for c in range(C):
        if not present[node, c]:
            continue
        cw = stats[node, c]
        if cw > 0:
            vote = math.log(cw / total)
        else:
            votes[c] = 0.0
            continue
        for r in range(m):
            f = order[r]
            xv = x[f]
            if xv != xv:
                continue
            j = nom_idx[f]
            if j < 0:
                if g[s, f, c, G_VAR] > 0.0:
                    d = xv - g[s, f, c, G_MEAN]
                    vote += d**two / g[s, f, c, G_M2VAR] - HALF_LOG_TAU - g[s, f, c, G_HLOGV]
            else:
                if cnt_ord[s, j, c] < 0:  # River's defaultdict registers the class on lookup
                    cnt_ord[s, j, c] = cnt_ord[s, j].max() + 1
                v = int(xv)
                p = 0.0
                if v >= 0 and v < cnt.shape[2] and cnt[s, j, v, c] > 0.0:
                    tot = 0.0
                    for u in range(cnt.shape[2]):
                        if cnt[s, j, u, c] > 0.0:
                            tot += cnt[s, j, u, c]
                    p = cnt[s, j, v, c] / tot
                vote += math.log(p) if p > 0 else 0.0
        votes[c] = vote
    return _votes_to_proba(present, node, votes, out)


@inlined
def _moa_votes(stats, present, node, total, x, s, g, fw, rank, cnt, nom_idx, votes):
    """Log prior plus MOA's log-likelihoods, features in column order (MOA's order)."""
    C = stats.shape[1]
    for c in range(C):
        if present[node, c]:
            cw = stats[node, c]
            votes[c] = math.log(cw / total) if cw > 0 else -np.inf
    if s < 0:
        return
    for f in range(fw.shape[1]):
        if rank[s, f] < 0:
            continue
        xv = x[f]
        if xv != xv:
            continue
        j = nom_idx[f]
        for c in range(C):
            if present[node, c] and stats[node, c] > 0:
                votes[c] += _moa_log_likelihood(g, cnt, s, f, j, c, xv)


@inlined
def _votes_to_proba(present, node, votes, out):
    """Normalise log-votes into ``out`` (log-sum-exp); False when every vote is -inf."""
    C = votes.shape[0]
    max_ll = -np.inf
    for c in range(C):
        if present[node, c] and votes[c] > max_ll:
            max_ll = votes[c]
    if max_ll == -np.inf:
        return False
    acc = 0.0
    if C <= 2:
        for c in range(C):
            if present[node, c]:
                acc += math.exp(votes[c] - max_ll)
    else:
        c = _next_in_order(present, node, 0)
        while c >= 0:
            acc += math.exp(votes[c] - max_ll)
            c = _next_in_order(present, node, present[node, c])
    lse = max_ll + math.log(acc)
    for c in range(C):
        if present[node, c]:
            out[c] = math.exp(votes[c] - lse)
    return True


@inlined
def _argmax_present(p, present, node):
    """``max(d, key=d.get)``: the first maximum in the dict's order."""
    best = -1
    for c in range(p.shape[0]):
        if present[node, c] and (
            best < 0
            or p[c] > p[best]
            or (p[c] == p[best] and present[node, c] < present[node, best])
        ):
            best = c
    return best


@inlined
def leaf_proba(stats, present, node_i, node_f, g, fw, rank, cnt, cnt_ord, node, x, nom_idx, pf, pi,
               order, votes, out):  # fmt: skip
    """The probabilities of leaf ``node`` for ``x`` in ``out``; returns 1 when naive Bayes gave
    them, 0 when it gave none (and the class counts did), -1 when the leaf predicts by its class
    counts. The tree's arrays come one by one (as in :data:`TreeArrays`): this runs per row, and
    taking a tuple of arrays there costs reference counting on every row."""
    leaf_kind = pi[PI_LEAF]
    active = node_i[node, NI_ACTIVE] == 1
    use_nb = False
    if leaf_kind == 1:
        use_nb = active and leaf_total(stats, present, node) >= pf[PF_NBTHR]
    elif leaf_kind == 2:
        use_nb = active and node_f[node, NF_NB] >= node_f[node, NF_MC]
    if use_nb:
        ok = _nb_proba(stats, present, node_i, g, fw, rank, cnt, cnt_ord, node, x, nom_idx, pf,
                       pi[PI_NBMODE] == 1, order, votes, out)  # fmt: skip
        if not ok and pi[PI_NBMODE] == 1:
            # every class has likelihood 0 (MOA then predicts nothing): the counts still know
            _mc_proba(stats, present, node, out)
        return 1 if ok else 0
    _mc_proba(stats, present, node, out)
    return -1


# ----------------------------------------------------------------------------- learning
@inlined
def _learn_leaf(node, x, yc, wi, node_i, node_f, stats, present, disabled, g, fw, rank, nrank,
                cnt, cnt_ord, slot_free, meta_i, nom_idx, pf, pi, order, votes, tmp, nb_done,
                nb_out):  # fmt: skip
    """Learn one row at a leaf (the tree's arrays one by one, as in :data:`leaf_proba`).
    ``nb_done`` >= 0 when the naive Bayes prediction of this very row at this leaf is already in
    ``nb_out`` (1) or was empty (0): it is not computed twice."""
    active = node_i[node, NI_ACTIVE] == 1
    if pi[PI_LEAF] == 2 and active:
        any_present = False
        for c in range(stats.shape[1]):
            if present[node, c]:
                any_present = True
        if not any_present:
            node_f[node, NF_MC] += wi
        else:
            _mc_proba(stats, present, node, tmp)
            if _argmax_present(tmp, present, node) == yc:
                node_f[node, NF_MC] += wi
        if nb_done < 0:
            ok = _nb_proba(stats, present, node_i, g, fw, rank, cnt, cnt_ord, node, x, nom_idx, pf,
                           pi[PI_NBMODE] == 1, order, votes, tmp)  # fmt: skip
            if ok and _argmax_present(tmp, present, node) == yc:
                node_f[node, NF_NB] += wi
        elif nb_done == 1 and _argmax_present(nb_out, present, node) == yc:
            node_f[node, NF_NB] += wi
    stats[node, yc] += wi
    _add_class(present, node, yc)
    if yc + 1 > meta_i[MI_NCLASSES]:
        meta_i[MI_NCLASSES] = yc + 1
    if not active:
        return
    s = node_i[node, NI_SLOT]
    if s < 0:
        s = _alloc_slot(meta_i, slot_free, g, fw, rank, nrank, cnt, cnt_ord)
        node_i[node, NI_SLOT] = s
    for f in range(x.shape[0]):
        xv = x[f]
        if disabled[node, f] or xv != xv:
            continue
        if fw[s, f] == 0.0:
            rank[s, f] = nrank[s]
            nrank[s] += 1
        fw[s, f] += wi
        j = nom_idx[f]
        if j >= 0:
            v = int(xv)
            if cnt_ord[s, j, yc] < 0:
                cnt_ord[s, j, yc] = cnt_ord[s, j].max() + 1
            cnt[s, j, v, yc] += wi
            if v + 1 > meta_i[MI_NCATS]:
                meta_i[MI_NCATS] = v + 1
            continue
        if g[s, f, yc, G_N] == 0.0:
            g[s, f, yc, G_ORD] = (g[s, f, :, G_N] > 0.0).sum()
            g[s, f, yc, G_MIN] = xv
            g[s, f, yc, G_MAX] = xv
        else:
            if xv < g[s, f, yc, G_MIN]:
                g[s, f, yc, G_MIN] = xv
            if xv > g[s, f, yc, G_MAX]:
                g[s, f, yc, G_MAX] = xv
        mean_old = g[s, f, yc, G_MEAN]
        n = g[s, f, yc, G_N] + wi
        g[s, f, yc, G_N] = n
        mean_new = mean_old + (wi / n) * (xv - mean_old)
        g[s, f, yc, G_MEAN] = mean_new
        g[s, f, yc, G_S] += wi * (xv - mean_old) * (xv - mean_new)
        var = g[s, f, yc, G_S] / (n - 1.0) if n > 1.0 else 0.0
        g[s, f, yc, G_VAR] = var
        if var > 0.0:
            g[s, f, yc, G_HLOGV] = 0.5 * math.log(var)
            g[s, f, yc, G_M2VAR] = -2.0 * var


@jit
def _leaves_dfs(node_i, root, out, work):
    """Leaves left to right (River's ``iter_leaves``); returns their count."""
    n = 0
    work[0] = root
    top = 1
    while top > 0:
        top -= 1
        k = work[top]
        if node_i[k, NI_KIND] == LEAF:
            out[n] = k
            n += 1
            continue
        # push children in reverse so that the first child is visited first
        start = top
        top = push_children(node_i, k, work, top)
        lo, hi = start, top - 1
        while lo < hi:
            t = work[lo]
            work[lo] = work[hi]
            work[hi] = t
            lo += 1
            hi -= 1
    return n


@jit
def _sizes(node_i, fw, cnt, meta_i):
    """Bytes of a leaf's own record and of an active leaf's splitter statistics."""
    ncls = meta_i[MI_NCLASSES]
    F = fw.shape[1]
    node_bytes = 8.0 * (N_NI + N_NF) + 9.0 * ncls + F
    slot_bytes = 8.0 * (F * ncls * 5 + 2 * F) + 8.0 * cnt.shape[1] * meta_i[MI_NCATS] * ncls
    return node_bytes, slot_bytes


@jit
def enforce_size_limit(pf, pi, node_i, stats, present, meta_i, meta_f, slot_free, work, leaves):
    """River's ``_enforce_size_limit``; a leaf's promise is its weight outside its majority
    class."""
    if stops_growing(meta_i, meta_f, pf[PF_MAXBYTES], pi[PI_STOPMEM] == 1):
        return
    L = _leaves_dfs(node_i, meta_i[MI_ROOT], leaves, work)
    promise = np.empty(L)
    for i in range(L):
        k = leaves[i]
        t = leaf_total(stats, present, k)
        if t > 0:
            mx = -np.inf
            for c in range(stats.shape[1]):
                if present[k, c] and stats[k, c] > mx:
                    mx = stats[k, c]
            promise[i] = t - mx
        else:
            promise[i] = 0.0
    drop = leaves_to_deactivate(node_i, leaves[:L], promise, meta_i, meta_f, pf[PF_MAXBYTES],
                                pf[PF_MAXDEPTH])  # fmt: skip
    for k in drop:
        deactivate(node_i, k, meta_i, slot_free)


@jit
def _estimate_model_size(
    pf, pi, node_i, stats, present, fw, cnt, meta_i, meta_f, slot_free, work, leaves
):
    node_bytes, slot_bytes = _sizes(node_i, fw, cnt, meta_i)
    L = _leaves_dfs(node_i, meta_i[MI_ROOT], leaves, work)
    total_active = 0.0
    total_inactive = 0.0
    n_act = 0
    for i in range(L):
        if node_i[leaves[i], NI_ACTIVE] == 1:
            total_active += node_bytes + slot_bytes
            n_act += 1
        else:
            total_inactive += node_bytes
    if total_active > 0 and meta_i[MI_NACTIVE] > 0:
        meta_f[MF_ACTIVE_EST] = total_active / meta_i[MI_NACTIVE]
    if total_inactive > 0 and meta_i[MI_NINACTIVE] > 0:
        meta_f[MF_INACTIVE_EST] = total_inactive / meta_i[MI_NINACTIVE]
    actual = meta_i[MI_NNODES] * node_bytes + n_act * slot_bytes
    estimated = (
        meta_i[MI_NACTIVE] * meta_f[MF_ACTIVE_EST] + meta_i[MI_NINACTIVE] * meta_f[MF_INACTIVE_EST]
    )
    if estimated > 0:
        meta_f[MF_OVERHEAD] = actual / estimated
    if actual > pf[PF_MAXBYTES]:
        enforce_size_limit(pf, pi, node_i, stats, present, meta_i, meta_f, slot_free, work, leaves)


@jit
def _clear_feature(g, fw, rank, cnt, cnt_ord, s, f, j):
    g[s, f] = 0.0
    fw[s, f] = 0.0
    rank[s, f] = -1
    if j >= 0:
        cnt[s, j] = 0.0
        cnt_ord[s, j] = -1


@jit
def _split(node, kind, f, value, tree, nom_idx, label_rank, pf, post, post_p):
    """Split leaf ``node`` of ``tree`` on feature ``f`` (``kind``, at ``value``): its children
    get the branches' class counts (``post``, ``post_p``), its slot goes back."""
    (node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord, slot_free,
     meta_i, meta_f) = tree
    s = node_i[node, NI_SLOT]
    j = nom_idx[f]
    if kind == NUMERIC:
        numeric_dists(g, s, f, value, post, post_p, pf)
        nb = 2
    elif kind == NOMINAL_BINARY:
        nominal_binary_dists(cnt, cnt_ord, s, j, int(value), post, post_p)
        nb = 2
    else:
        nb = nominal_multiway_dists(cnt, s, j, post, post_p, label_rank)
    depth = node_i[node, NI_DEPTH] + 1
    cat = 0
    for b in range(nb):
        ch = _new_node(node_i, node_f, stats, present, disabled, meta_i, node, depth)
        for c in range(stats.shape[1]):
            stats[ch, c] = post[b, c]
            present[ch, c] = post_p[b, c]
        node_f[ch, NF_LAST] = leaf_total(stats, present, ch)
        if kind == NOMINAL_MULTIWAY:
            while True:
                seen = False
                for c in range(cnt.shape[3]):
                    if cnt[s, j, cat, c] > 0.0:
                        seen = True
                if seen:
                    break
                cat += 1
            node_f[ch, NF_EDGE] = float(cat)
            cat += 1
        append_child(node_i, node, ch)
    release_slot(node_i, node, meta_i, slot_free)
    node_i[node, NI_KIND] = kind
    node_i[node, NI_FEAT] = f
    node_i[node, NI_ACTIVE] = 0
    node_f[node, NF_VALUE] = value
    meta_i[MI_NACTIVE] += nb - 1


@jit
def _attempt_split(node, tree, nom_idx, label_rank, pf, pi, post, post_p, work, leaves):
    """River's ``_attempt_to_split`` at leaf ``node`` of ``tree`` (a :data:`TreeArrays`)."""
    (node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord, slot_free,
     meta_i, meta_f) = tree
    C = stats.shape[1]
    nonzero = 0
    for c in range(C):
        if present[node, c] and stats[node, c] != 0:
            nonzero += 1
    if nonzero < 2:
        return
    total = leaf_total(stats, present, node)
    maj = -np.inf
    n_present = 0
    for c in range(C):
        if present[node, c]:
            n_present += 1
            if stats[node, c] > maj:
                maj = stats[node, c]
    s = node_i[node, NI_SLOT]
    F = fw.shape[1]
    cand_m = np.empty(F + 1)
    cand_f = np.empty(F + 1, dtype=np.int64)
    cand_kind = np.empty(F + 1, dtype=np.int64)
    cand_v = np.empty(F + 1)
    k = 0
    should = False
    best = 0
    if maj != 0 and maj / total > pf[PF_MSS]:
        # River: a leaf dominated by one class only offers the null split
        cand_m[0] = NEG_INF
        cand_f[0] = -1
        k = 1
        should = True
    else:
        if pi[PI_PREPRUNE] == 1:
            cand_m[0] = NEG_INF
            cand_f[0] = -1
            k = 1
        pre = stats[node : node + 1, :]
        pre_p = present[node : node + 1, :]
        crit = pi[PI_CRIT]
        by_rank = np.argsort(rank[s], kind="mergesort")
        for r in range(F):
            f = by_rank[r]
            if rank[s, f] < 0:
                continue
            j = nom_idx[f]
            if j < 0:
                m, sv = numeric_best(g, s, f, crit, pre, pre_p, post, post_p, pf, pi)
                cand_m[k] = m
                cand_f[k] = f if m > NEG_INF else -1
                cand_kind[k] = NUMERIC
                cand_v[k] = sv
            else:
                m, has, multi, v = nominal_best(
                    cnt, cnt_ord, s, j, crit, pre, pre_p, post, post_p, pf, pi, label_rank
                )
                cand_m[k] = m
                cand_f[k] = f if has else -1
                cand_kind[k] = NOMINAL_MULTIWAY if multi else NOMINAL_BINARY
                cand_v[k] = v
            k += 1
        best, second = best_two(cand_m, k)
        if k < 2:
            should = k > 0
        else:
            n_cls = n_present if n_present > 2 else 2
            rng = 1.0 if crit == 1 else math.log2(n_cls)
            hb = hoeffding_bound(rng, pf[PF_DELTA], total)
            if cand_m[best] - cand_m[second] > hb or hb < pf[PF_TAU]:
                should = True
            if pi[PI_POOR] == 1 and pi[PI_LEAF] == 0:
                for i in range(k):
                    f = cand_f[i]
                    if f >= 0 and cand_m[best] - cand_m[i] > hb:
                        _clear_feature(g, fw, rank, cnt, cnt_ord, s, f, nom_idx[f])
                        disabled[node, f] = 1
    if not should:
        return
    if k == 0 or cand_f[best] < 0:
        deactivate(node_i, node, meta_i, slot_free)
        meta_i[MI_NINACTIVE] += 1
        meta_i[MI_NACTIVE] -= 1
    else:
        _split(node, cand_kind[best], cand_f[best], cand_v[best], tree, nom_idx, label_rank, pf,
               post, post_p)
    enforce_size_limit(pf, pi, node_i, stats, present, meta_i, meta_f, slot_free, work, leaves)


@inlined
def route_row(node_i, node_f, stats, present, disabled, meta_i, meta_f, x, wi, tw, work):
    """Count a learning row's weight and sort it down, making the root when there is none yet;
    returns ``(node, clean)`` as :func:`sort_to_leaf` does. When ``node`` is a multiway branch
    with no child for the row's category, the caller makes it (:func:`category_leaf`): that
    call inside this inlined helper cost the classifier tree 4-5 % of its rows/s."""
    meta_f[MF_WSEEN] += wi
    if meta_i[MI_ROOT] < 0:
        meta_i[MI_ROOT] = _new_node(node_i, node_f, stats, present, disabled, meta_i, -1, 0)
        meta_i[MI_NACTIVE] = 1
    return sort_to_leaf(node_i, node_f, stats, present, meta_i[MI_ROOT], x, tw, work)


@inlined
def grow(node, clean, node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord,
         slot_free, meta_i, meta_f, nom_idx, label_rank, pf, pi, post, post_p, work,
         leaves):  # fmt: skip
    """After leaf ``node`` learned a row: at the maximum depth, deactivate it; otherwise attempt
    a split once per grace period of weight (only after a row that went down by its own values,
    ``clean``). Then estimate the model's size once per ``memory_estimate_period``. The tree's
    arrays come one by one (see :func:`leaf_proba`); only a split attempt gets a
    :data:`TreeArrays` of them."""
    if clean and meta_i[MI_GROWTH] == 1 and node_i[node, NI_ACTIVE] == 1:
        if node_i[node, NI_DEPTH] >= pf[PF_MAXDEPTH]:
            deactivate(node_i, node, meta_i, slot_free)
            meta_i[MI_NACTIVE] -= 1
            meta_i[MI_NINACTIVE] += 1
        else:
            ws = leaf_total(stats, present, node)
            if ws - node_f[node, NF_LAST] >= pf[PF_GRACE]:
                tree = TreeArrays(node_i, node_f, stats, present, disabled, g, fw, rank, nrank,
                                  cnt, cnt_ord, slot_free, meta_i, meta_f)  # fmt: skip
                _attempt_split(node, tree, nom_idx, label_rank, pf, pi, post, post_p, work,
                               leaves)  # fmt: skip
                node_f[node, NF_LAST] = ws
    if meta_f[MF_WSEEN] % pf[PF_MEMPERIOD] == 0:
        _estimate_model_size(pf, pi, node_i, stats, present, fw, cnt, meta_i, meta_f, slot_free,
                             work, leaves)  # fmt: skip


@inlined
def sizes(tree):
    """``(Nn, Ns, C, F, maxc)``: the rows of a ``TreeArrays``'s node and slot arrays, its
    classes, its features and its category codes (at least 2, for a binary split's children)."""
    return (tree.node_i.shape[0], tree.g.shape[0], tree.stats.shape[1], tree.fw.shape[1],
            max(2, tree.cnt.shape[2]))  # fmt: skip


@jit
def scratch(Nn, F, C, maxc):
    """Work arrays for a tree with ``Nn`` node rows, ``F`` features, ``C`` classes and ``maxc``
    categories: ``tw``, ``work``, ``leaves``, ``order``, ``votes``, ``tmp``, ``post``,
    ``post_p``."""
    return (np.empty(Nn), np.empty(Nn + 1, dtype=np.int64), np.empty(Nn, dtype=np.int64),
            np.empty(F, dtype=np.int64), np.empty(C), np.empty(C), np.empty((maxc, C)),
            np.empty((maxc, C), dtype=np.int64))  # fmt: skip


@jit
def step(rows, out, start, settings, tree):
    """Predict then learn each row of ``rows`` from ``start`` (probabilities to ``out``);
    returns the row where it stopped. ``settings`` is a :data:`Settings`, ``tree`` a
    :data:`TreeArrays`.

    It stops early (before touching row ``i``) only when the node or slot arrays could be too
    small for that row; the caller grows them and calls again from that row.
    """
    Xp, Xl, y, w = rows.Xp, rows.Xl, rows.y, rows.w
    do_pred, do_learn, same_x = rows.do_pred, rows.do_learn, rows.same
    nom_idx, label_rank = settings.nominal_index, settings.label_rank
    pf, pi = settings.float_params, settings.int_params
    (node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord, slot_free,
     meta_i, meta_f) = tree
    n = out.shape[0]
    Nn, Ns, C, F, maxc = sizes(tree)
    tw, work, leaves, order, votes, tmp, post, post_p = scratch(Nn, F, C, maxc)
    for i in range(start, n):
        if do_learn and needs_room(meta_i, Nn, Ns, maxc):
            return i
        pred_leaf = -1
        nb_done = -1
        if do_pred and meta_i[MI_ROOT] >= 0:
            x = Xp[i]
            pred_leaf = predict_leaf(node_i, node_f, stats, present, meta_i[MI_ROOT], x, tw, work)
            nb_done = leaf_proba(stats, present, node_i, node_f, g, fw, rank, cnt, cnt_ord,
                                 pred_leaf, x, nom_idx, pf, pi, order, votes, out[i])  # fmt: skip
        if not do_learn or not (w[i] > 0.0):
            continue
        x = Xl[i]
        wi = w[i]
        yc = y[i]
        node, clean = route_row(node_i, node_f, stats, present, disabled, meta_i, meta_f, x, wi,
                                tw, work)  # fmt: skip
        if node_i[node, NI_KIND] != LEAF:
            node = category_leaf(node_i, node_f, stats, present, disabled, meta_i, node, x)
        if not (same_x and node == pred_leaf):
            nb_done = -1
        _learn_leaf(node, x, yc, wi, node_i, node_f, stats, present, disabled, g, fw, rank, nrank,
                    cnt, cnt_ord, slot_free, meta_i, nom_idx, pf, pi, order, votes, tmp, nb_done,
                    out[i])  # fmt: skip
        grow(node, clean, node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt,
             cnt_ord, slot_free, meta_i, meta_f, nom_idx, label_rank, pf, pi, post, post_p, work,
             leaves)  # fmt: skip
    return n
