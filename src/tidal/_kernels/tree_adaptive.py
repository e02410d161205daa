"""Hoeffding adaptive tree classifier kernels (River 0.26.1's ``HoeffdingAdaptiveTreeClassifier``).

The tree is the Hoeffding tree classifier's arrays (``tidal._kernels.tree_hoeffding``) plus, per
node, an ADWIN state (``adw``), the running mean of its 0/1 errors (``merr = (n, mean)``), the
alternate leaf of a branch (``alt``) and, for an alternate leaf, the branch it may replace
(``alt_of``). River's semantics are kept, including two of its quirks: an alternate tree is a
single leaf, and when that leaf splits the new split replaces the branch at once (River hands the
alternate its branch's parent); after a replacement the detached branch's path still learns the
row, as in River's recursion, and its slots are freed afterwards.

The block loop :func:`step` takes the block's rows (``tidal.tree.base.BlockInputs``), a
:data:`Settings`, the classifier tree's ``TreeArrays`` and the adaptive tree's own
:data:`AdaptiveArrays`:

================  ========================================================================
field             what it holds
================  ========================================================================
``adw``           per node: the ADWIN state of its errors
``merr``          per node: ``(n, mean)`` of its 0/1 errors
``alt``           per branch: its alternate leaf (-1: none)
``alt_of``        per alternate leaf: the branch it may replace (-1: none)
``hmeta``         counts of alternates, pruned and switched branches; the deepest node; whether
                  bootstrap sampling is on (``HM_*``)
``rng``           the state of the bootstrap's random numbers
================  ========================================================================
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from tidal._kernels import jit
from tidal._kernels.drift_adwin import adwin_reset, adwin_update
from tidal._kernels.ensemble_forest import poisson
from tidal._kernels.tree_hoeffding import (
    TreeArrays,
    _argmax_present,
    _attempt_split,
    _branch,
    _learn_leaf,
    _most_common_child,
    _new_node,
    inlined,
    leaf_proba,
    leaf_total,
    predict_leaf,
    scratch,
    sizes,
)
from tidal._kernels.tree_layout import (  # noqa: F401  (N_P*, P*_: re-exported for the learner)
    LEAF,
    MF_WSEEN,
    MI_NACTIVE,
    MI_NEXTSLOT,
    MI_NFREE,
    MI_NINACTIVE,
    MI_NNODES,
    MI_ROOT,
    N_PF,
    N_PI,
    NF_EDGE,
    NF_LAST,
    NI_ACTIVE,
    NI_CHILD,
    NI_DEPTH,
    NI_FEAT,
    NI_KIND,
    NI_PARENT,
    NI_SIB,
    NOMINAL_MULTIWAY,
    PF_DELTA,
    PF_GRACE,
    PF_MAXBYTES,
    PF_MAXDEPTH,
    PF_MEMPERIOD,
    PF_TAU,
    PI_BINARY,
    PI_LEAF,
    PI_POOR,
    PI_PREPRUNE,
    PI_STOPMEM,
)
from tidal._kernels.tree_nodes import append_child, deactivate, push_children

# hmeta
HM_NALT = 0
HM_NPRUNED = 1
HM_NSWITCH = 2
HM_MAXDEPTH = 3
HM_BOOT = 4  # bootstrap sampling on
N_HM = 5
# hf: switch significance, drift window threshold
HF_SWITCH = 0
HF_WINDOW = 1
N_HF = 2
# the leaves of a HAT always keep naive Bayes' and the majority class's correct weights
PI_LEAF_NBA = (PI_LEAF, 2)


# fmt: off
#: the adaptive tree's own arrays, under the state's names (see the module docstring)
AdaptiveArrays = namedtuple("AdaptiveArrays", ("adw", "merr", "alt", "alt_of", "hmeta", "rng"))
#: what :func:`step` takes besides the rows and the trees, fixed over a block: the classifier
#: tree's settings (``tree_hoeffding.Settings``), ``learn_int_params`` (``int_params`` with
#: the leaf prediction the leaves learn with: always "nba"), the nodes' ADWIN parameters and
#: ``switch_params`` (``HF_*``: the switch significance and the drift window threshold)
Settings = namedtuple("Settings", (
    "nominal_index", "label_rank", "float_params", "int_params", "learn_int_params",
    "adwin_params", "switch_params",
))
#: the named structures of the state :func:`step` takes after the settings, in order
STATE = (TreeArrays, AdaptiveArrays)
#: the leaves' distributions computed in the current epoch (see :func:`_leaf_dist`)
LeafCache = namedtuple("LeafCache", ("stamp", "epoch", "result", "raw", "scaled"))


@inlined
def _poisson1(rng):
    """River's ``utils.random.poisson(1)`` (Knuth's product of uniforms) on tidal's own
    SplitMix64 stream (River's Mersenne Twister is not reproduced): the forests' sampler, on
    the tree's state ``rng`` (int64, read as uint64)."""
    return poisson(1.0, rng.view(np.uint64))


@jit
def _init_nodes(k0, k1, node_i, adw, merr, alt, alt_of, hmeta):
    for k in range(k0, k1):
        adwin_reset(adw[k])
        merr[k, 0] = 0.0
        merr[k, 1] = 0.0
        alt[k] = -1
        alt_of[k] = -1
        if node_i[k, NI_DEPTH] > hmeta[HM_MAXDEPTH]:
            hmeta[HM_MAXDEPTH] = node_i[k, NI_DEPTH]


@inlined
def _leaf_dist(node, x, tree, settings, merr, order, votes, cache):
    """``AdaLeafClassifier.prediction``: the leaf's distribution scaled by 1 / (sum * err**2),
    left in ``csc[node]`` (``craw[node]`` unscaled); False when it is empty.

    A leaf's distribution is asked for several times per row (the prediction, each branch above
    it, its own error, its naive Bayes counters) with nothing changed in between: it is computed
    once per epoch ``ep[0]``, which moves on at each row and at each split attempt (a leaf that
    learns drops its own copy)."""
    (node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord, slot_free,
     meta_i, meta_f) = tree
    nom_idx, pf, pi = settings.nominal_index, settings.float_params, settings.int_params
    stamp, ep, cres, craw, csc = cache
    if stamp[node] == ep[0]:
        return cres[node] == 1 or cres[node] == -1
    stamp[node] = ep[0]
    out = craw[node]
    any_present = False
    for c in range(stats.shape[1]):
        out[c] = 0.0
        if present[node, c]:
            any_present = True
    if not any_present:
        cres[node] = 2
        csc[node, :] = 0.0
        return False
    r = leaf_proba(stats, present, node_i, node_f, g, fw, rank, cnt, cnt_ord, node, x, nom_idx, pf,
                   pi, order, votes, out)  # fmt: skip
    cres[node] = r
    sc = csc[node]
    sc[:] = out
    if r == 0:
        return False
    ds = leaf_total(craw[node:node + 1], present[node:node + 1], 0)
    err = merr[node, 1]
    f = ds * err * err
    if f != 0.0 and f == f:
        for c in range(stats.shape[1]):
            if present[node, c]:
                sc[c] = out[c] * (1.0 / f)
    return True


@inlined
def _error(node, y_pred_ok, adw, merr, ap):
    """Feed a 0/1 error to the node's ADWIN and mean; returns whether a change counts."""
    detec = 0.0 if y_pred_ok else 1.0
    old = merr[node, 1]
    change = adwin_update(ap, adw[node], detec)
    merr[node, 0] += 1.0
    merr[node, 1] += (1.0 / merr[node, 0]) * (detec - merr[node, 1])
    if change and old > merr[node, 1]:
        merr[node, 0] = 0.0
        merr[node, 1] = 0.0
        return False
    return change


@inlined
def _leaf_learn(node, x, yc, wi, tree, adaptive, cache, settings, work, tmp, bufs):
    """``AdaLeafClassifier.learn_one``; returns True when the leaf split."""
    (node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord, slot_free,
     meta_i, meta_f) = tree
    nom_idx, label_rank = settings.nominal_index, settings.label_rank
    pf, pi2, ap = settings.float_params, settings.learn_int_params, settings.adwin_params
    adw, merr, alt, alt_of, hmeta, rng = adaptive
    order, votes, tw, leaves, post, post_p = bufs
    if hmeta[HM_BOOT] == 1:
        k = _poisson1(rng)
        if k > 0:
            wi = wi * k
    stamp, ep, cres, craw, csc = cache
    ok = _leaf_dist(node, x, tree, settings, merr, order, votes, cache)
    hit = ok and _argmax_present(csc[node], present, node) == yc
    _error(node, hit, adw, merr, ap)
    # the naive Bayes prediction just made (if it was one) serves the leaf's counters
    nb_done = cres[node] if cres[node] == 0 or cres[node] == 1 else -1
    _learn_leaf(node, x, yc, wi, node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt,
                cnt_ord, slot_free, meta_i, nom_idx, pf, pi2, order, votes, tmp, nb_done,
                craw[node])  # fmt: skip
    stamp[node] = -1
    ws = leaf_total(stats, present, node)
    if ws - node_f[node, NF_LAST] < pf[PF_GRACE]:
        return False
    if node_i[node, NI_DEPTH] >= pf[PF_MAXDEPTH]:
        if node_i[node, NI_ACTIVE] == 1:
            deactivate(node_i, node, meta_i, slot_free)
            meta_i[MI_NINACTIVE] += 1
            meta_i[MI_NACTIVE] -= 1
        return False
    if node_i[node, NI_ACTIVE] != 1:
        return False
    k0 = meta_i[MI_NNODES]
    ep[0] += 1  # a split can (re)activate any leaf
    _attempt_split(node, tree, nom_idx, label_rank, pf, pi2, post, post_p, work, leaves)
    node_f[node, NF_LAST] = ws
    if node_i[node, NI_KIND] == LEAF:
        return False
    _init_nodes(k0, meta_i[MI_NNODES], node_i, adw, merr, alt, alt_of, hmeta)
    adwin_reset(adw[node])
    merr[node, 0] = 0.0
    merr[node, 1] = 0.0
    alt[node] = -1
    return True


@jit
def _replace(node_i, node_f, meta_i, parent, old, new):
    """Put ``new`` where ``old`` hangs (under ``parent``, or as the root)."""
    node_i[new, NI_PARENT] = parent
    if parent < 0:
        meta_i[MI_ROOT] = new
        node_i[new, NI_SIB] = -1
        return
    node_i[new, NI_SIB] = node_i[old, NI_SIB]
    node_f[new, NF_EDGE] = node_f[old, NF_EDGE]
    ch = node_i[parent, NI_CHILD]
    if ch == old:
        node_i[parent, NI_CHILD] = new
        return
    while node_i[ch, NI_SIB] != old:
        ch = node_i[ch, NI_SIB]
    node_i[ch, NI_SIB] = new


@jit
def _free_subtree(node_i, root, meta_i, slot_free, alt, work):
    """Release the slots of a detached subtree (its alternates included); returns the number of
    alternates found below its root (River counts them as pruned when a branch is switched)."""
    work[0] = root
    top = 1
    n_alt = 0
    while top > 0:
        top -= 1
        k = work[top]
        if node_i[k, NI_KIND] == LEAF:
            if node_i[k, NI_ACTIVE] == 1:
                meta_i[MI_NACTIVE] -= 1
                deactivate(node_i, k, meta_i, slot_free)
            continue
        if alt[k] >= 0:
            work[top] = alt[k]
            top += 1
            alt[k] = -1
            if k != root:
                n_alt += 1
        top = push_children(node_i, k, work, top)
    return n_alt


@inlined
def _predict(x, tree, adaptive, cache, settings, bufs, out):
    """``predict_proba_one``: the scaled distributions of the leaf and of every alternate met."""
    (node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord, slot_free,
     meta_i, meta_f) = tree
    adw, merr, alt, alt_of, hmeta, rng = adaptive
    order, votes, tw, leaves, post, post_p = bufs
    C = stats.shape[1]
    for c in range(C):
        out[c] = 0.0
    node = meta_i[MI_ROOT]
    while True:
        leaf = node
        if node_i[node, NI_KIND] != LEAF:
            leaf = alt[node]
        if leaf >= 0 and _leaf_dist(leaf, x, tree, settings, merr, order, votes, cache):
            for c in range(C):
                out[c] += cache.scaled[leaf, c]
        if node_i[node, NI_KIND] == LEAF:
            break
        b = _branch(node_i, node_f, node, x)
        if b < 0:
            b = _most_common_child(node_i, stats, present, node, tw, leaves)
        node = b
    s = 0.0
    for c in range(C):
        s += out[c]
    if s != 0.0:
        for c in range(C):
            out[c] = out[c] / s


@jit
def step(rows, out, start, settings, tree, adaptive):
    """Predict then learn each row of ``rows`` from ``start`` (probabilities to ``out``);
    returns the row where it stopped (the caller grows the arrays and calls again from there).
    ``settings`` is a :data:`Settings`, ``tree`` the tree's ``TreeArrays``, ``adaptive`` its
    :data:`AdaptiveArrays`."""
    Xp, Xl, y, w = rows.Xp, rows.Xl, rows.y, rows.w
    do_pred, do_learn, same_x = rows.do_pred, rows.do_learn, rows.same
    ap, hf = settings.adwin_params, settings.switch_params
    (node_i, node_f, stats, present, disabled, g, fw, rank, nrank, cnt, cnt_ord, slot_free,
     meta_i, meta_f) = tree
    adw, merr, alt, alt_of, hmeta, rng = adaptive
    n = out.shape[0]
    Nn, Ns, C, F, maxc = sizes(tree)
    tw, work, leaves, order, votes, tmp, post, post_p = scratch(Nn, F, C, maxc)
    bufs = (order, votes, tw, leaves, post, post_p)
    cache = LeafCache(np.full(Nn, -1, dtype=np.int64), np.zeros(1, dtype=np.int64),
                      np.zeros(Nn, dtype=np.int64), np.empty((Nn, C)), np.empty((Nn, C)))
    ep = cache.epoch
    dead = np.empty(Nn, dtype=np.int64)
    dead_kind = np.zeros(Nn, dtype=np.int64)  # 1: a branch switched for its alternate
    for i in range(start, n):
        if do_learn:
            D = hmeta[HM_MAXDEPTH] + 2
            if meta_i[MI_NNODES] + D * (maxc + 2) > Nn:
                return i
            if meta_i[MI_NFREE] + Ns - meta_i[MI_NEXTSLOT] < D + 1:
                return i
        root = meta_i[MI_ROOT]
        ep[0] += 1
        if do_pred and root >= 0:
            _predict(Xp[i], tree, adaptive, cache, settings, bufs, out[i])
        if not do_learn or not (w[i] > 0.0):
            continue
        if not same_x:
            ep[0] += 1
        x = Xl[i]
        wi = w[i]
        yc = y[i]
        meta_f[MF_WSEEN] += wi
        if root < 0:
            root = _new_node(node_i, node_f, stats, present, disabled, meta_i, -1, 0)
            _init_nodes(root, root + 1, node_i, adw, merr, alt, alt_of, hmeta)
            meta_i[MI_ROOT] = root
            meta_i[MI_NACTIVE] = 1
        node = root
        parent = -1
        n_dead = 0
        switched_root = False
        # the leaf each branch on the path would predict with is the same leaf for all of them:
        # what the walk changes (alternates, counts of inner nodes) is outside their subtrees
        lf = -1
        if node_i[node, NI_KIND] != LEAF:
            lf = predict_leaf(node_i, node_f, stats, present, node, x, tw, leaves)
        while node_i[node, NI_KIND] != LEAF:
            B = node
            ok = _leaf_dist(lf, x, tree, settings, merr, bufs[0], bufs[1], cache)
            hit = ok and _argmax_present(cache.scaled[lf], present, lf) == yc
            stats[B, yc] += wi
            if present[B, yc] == 0:
                present[B, yc] = present[B].max() + 1
            change = _error(B, hit, adw, merr, ap)
            a = alt[B]
            if change:
                merr[B, 0] = 0.0
                merr[B, 1] = 0.0
                if a >= 0:
                    dead[n_dead] = a
                    dead_kind[n_dead] = 0
                    n_dead += 1
                a = _new_node(node_i, node_f, stats, present, disabled, meta_i, B,
                              node_i[B, NI_DEPTH])
                _init_nodes(a, a + 1, node_i, adw, merr, alt, alt_of, hmeta)
                node_i[a, NI_PARENT] = -1
                alt[B] = a
                alt_of[a] = B
                meta_i[MI_NACTIVE] += 1
                hmeta[HM_NALT] += 1
            elif a >= 0 and merr[a, 0] > hf[HF_WINDOW] and merr[B, 0] > hf[HF_WINDOW]:
                old_rate = merr[B, 1]
                alt_rate = merr[a, 1]
                nn = 1.0 / merr[a, 0] + 1.0 / merr[B, 0]
                bound = math.sqrt(2.0 * old_rate * (1.0 - old_rate)
                                  * math.log(2.0 / hf[HF_SWITCH]) * nn)
                if bound < old_rate - alt_rate:
                    # River leaves the root's alternate set: it then learns this row as root
                    switched_root = parent < 0
                    _replace(node_i, node_f, meta_i, parent, B, a)
                    alt_of[a] = -1
                    if parent >= 0:
                        alt[B] = -1
                    dead[n_dead] = B
                    dead_kind[n_dead] = 1
                    n_dead += 1
                    hmeta[HM_NSWITCH] += 1
                elif bound < alt_rate - old_rate:
                    dead[n_dead] = a
                    dead_kind[n_dead] = 0
                    n_dead += 1
                    alt[B] = -1
                    hmeta[HM_NPRUNED] += 1
            a = alt[B]
            if switched_root:
                alt[B] = -1
                switched_root = False
            if a >= 0:
                split = _leaf_learn(a, x, yc, wi, tree, adaptive, cache, settings, work, tmp, bufs)
                if split and alt_of[a] == B:
                    _replace(node_i, node_f, meta_i, parent, B, a)
                    alt_of[a] = -1
                    alt[B] = -1
                    dead[n_dead] = B
                    dead_kind[n_dead] = 0
                    n_dead += 1
            parent = B
            b = _branch(node_i, node_f, B, x)
            fv = x[node_i[B, NI_FEAT]]
            if b >= 0:
                node = b
            elif node_i[B, NI_KIND] == NOMINAL_MULTIWAY and fv == fv:
                node = _new_node(node_i, node_f, stats, present, disabled, meta_i, B,
                                 node_i[B, NI_DEPTH] + 1)
                _init_nodes(node, node + 1, node_i, adw, merr, alt, alt_of, hmeta)
                node_f[node, NF_EDGE] = fv
                append_child(node_i, B, node)
                meta_i[MI_NACTIVE] += 1
            else:
                node = _most_common_child(node_i, stats, present, B, tw, leaves)
        _leaf_learn(node, x, yc, wi, tree, adaptive, cache, settings, work, tmp, bufs)
        for d in range(n_dead):
            k = _free_subtree(node_i, dead[d], meta_i, slot_free, alt, work)
            if dead_kind[d] == 1:
                hmeta[HM_NPRUNED] += k
    return n
