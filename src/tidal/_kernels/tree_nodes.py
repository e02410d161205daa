"""Node and slot management shared by the Hoeffding tree kernels (classifier, regressor,
adaptive tree, forests): the parts of making a node, hanging it under its parent, and handing
out and taking back slots that do not depend on what a tree keeps per node or per slot, and the
steps of a split attempt that do not depend on the split criterion.

See ``tidal._kernels.tree_layout`` for the layout.
"""

from __future__ import annotations

import math

import numpy as np

from tidal._kernels import inlined, jit
from tidal._kernels.tree_layout import (
    LEAF,
    MF_ACTIVE_EST,
    MF_INACTIVE_EST,
    MF_OVERHEAD,
    MI_GROWTH,
    MI_NACTIVE,
    MI_NEXTSLOT,
    MI_NFREE,
    MI_NINACTIVE,
    MI_NNODES,
    NF_EDGE,
    NI_ACTIVE,
    NI_CHILD,
    NI_DEPTH,
    NI_FEAT,
    NI_KIND,
    NI_NCHILD,
    NI_PARENT,
    NI_SIB,
    NI_SLOT,
)

__all__ = [
    "append_child",
    "best_two",
    "deactivate",
    "hang_category_leaf",
    "hoeffding_bound",
    "leaves_to_deactivate",
    "needs_room",
    "new_node",
    "push_children",
    "release_slot",
    "stops_growing",
    "take_slot",
]


@jit
def new_node(node_i, node_f, disabled, meta_i, parent, depth):
    """Row ``k`` of the next node, an active leaf under ``parent`` at ``depth``; the caller
    clears what its tree keeps per node besides."""
    k = meta_i[MI_NNODES]
    meta_i[MI_NNODES] = k + 1
    node_i[k, :] = -1
    node_i[k, NI_KIND] = LEAF
    node_i[k, NI_DEPTH] = depth
    node_i[k, NI_ACTIVE] = 1
    node_i[k, NI_PARENT] = parent
    node_i[k, NI_NCHILD] = 0
    node_f[k, :] = 0.0
    disabled[k, :] = 0
    return k


@jit
def append_child(node_i, parent, child):
    last = node_i[parent, NI_CHILD]
    if last < 0:
        node_i[parent, NI_CHILD] = child
    else:
        while node_i[last, NI_SIB] >= 0:
            last = node_i[last, NI_SIB]
        node_i[last, NI_SIB] = child
    node_i[parent, NI_NCHILD] += 1


@jit
def hang_category_leaf(node_i, node_f, meta_i, node, leaf, x):
    """Hang the new active ``leaf`` under multiway branch ``node`` for ``x``'s category."""
    node_f[leaf, NF_EDGE] = x[node_i[node, NI_FEAT]]
    append_child(node_i, node, leaf)
    meta_i[MI_NACTIVE] += 1


@jit
def take_slot(meta_i, slot_free):
    """A free slot (the last one freed, else the next never used); the caller clears it."""
    if meta_i[MI_NFREE] > 0:
        meta_i[MI_NFREE] -= 1
        return slot_free[meta_i[MI_NFREE]]
    s = meta_i[MI_NEXTSLOT]
    meta_i[MI_NEXTSLOT] = s + 1
    return s


@jit
def release_slot(node_i, node, meta_i, slot_free):
    """Give ``node``'s slot (if it has one) back to the free list."""
    s = node_i[node, NI_SLOT]
    if s >= 0:
        slot_free[meta_i[MI_NFREE]] = s
        meta_i[MI_NFREE] += 1
        node_i[node, NI_SLOT] = -1


@jit
def deactivate(node_i, node, meta_i, slot_free):
    """Leaf ``node`` stops learning: it keeps predicting, its slot is freed."""
    release_slot(node_i, node, meta_i, slot_free)
    node_i[node, NI_ACTIVE] = 0


@inlined
def push_children(node_i, node, stack, top):
    """Push ``node``'s children on ``stack`` from ``top``, first child first; returns the new
    top."""
    ch = node_i[node, NI_CHILD]
    while ch >= 0:
        stack[top] = ch
        top += 1
        ch = node_i[ch, NI_SIB]
    return top


@inlined
def needs_room(meta_i, n_nodes, n_slots, maxc):
    """Whether learning one row could overflow a tree's node or slot rows (a split adds up to
    ``maxc`` children; ``meta_i``: the tree's own row)."""
    if meta_i[MI_NNODES] + maxc + 1 > n_nodes:
        return True
    return meta_i[MI_NFREE] == 0 and meta_i[MI_NEXTSLOT] >= n_slots


@inlined
def best_two(merits, k):
    """The candidates a stable ascending sort of ``merits[:k]`` puts last and second to last
    (River sorts the suggestions and takes the last two): the last of equal merits wins;
    ``second`` is -1 when ``k`` < 2."""
    best = 0
    for i in range(k):
        if merits[i] >= merits[best]:
            best = i
    second = -1
    for i in range(k):
        if i != best and (second < 0 or merits[i] >= merits[second]):
            second = i
    return best, second


@inlined
def hoeffding_bound(value_range, delta, n):
    """River's ``_hoeffding_bound``, operation by operation."""
    return math.sqrt((value_range * value_range * math.log(1.0 / delta)) / (2.0 * n))


# River's ``_enforce_size_limit``, the parts every tree shares (a leaf's promise and what
# deactivating it frees are each tree's own)
@inlined
def stops_growing(meta_i, meta_f, max_bytes, stop_mem):
    """With ``stop_mem_management``, a tree over its size limit (by the estimates) or with
    inactive leaves stops growing; returns True when it did."""
    a = meta_f[MF_ACTIVE_EST]
    b = meta_f[MF_INACTIVE_EST]
    o = meta_f[MF_OVERHEAD]
    if meta_i[MI_NINACTIVE] > 0 or o * (a + meta_i[MI_NINACTIVE] * b) > max_bytes:
        if stop_mem:
            meta_i[MI_GROWTH] = 0
            return True
    return False


@inlined
def leaves_to_deactivate(node_i, leaves, promise, meta_i, meta_f, max_bytes, max_depth):
    """Keep active the most promising of ``leaves`` (``promise[i]``: of ``leaves[i]``), as many
    as the size estimates allow, reactivating inactive ones above ``max_depth``; return the
    active ones to deactivate, least promising first (the caller does: it frees the tree's own
    per-slot records). The counts of active and inactive leaves are already updated."""
    a = meta_f[MF_ACTIVE_EST]
    b = meta_f[MF_INACTIVE_EST]
    o = meta_f[MF_OVERHEAD]
    L = promise.shape[0]
    idx = np.argsort(promise, kind="mergesort")
    max_active = 0
    while max_active < L:
        max_active += 1
        if (max_active * a + (L - max_active) * b) * o > max_bytes:
            max_active -= 1
            break
    cutoff = L - max_active
    out = np.empty(cutoff, dtype=np.int64)
    n = 0
    for i in range(L):
        k = leaves[idx[i]]
        if i < cutoff:
            if node_i[k, NI_ACTIVE] == 1:
                out[n] = k
                n += 1
                meta_i[MI_NINACTIVE] += 1
                meta_i[MI_NACTIVE] -= 1
        elif node_i[k, NI_ACTIVE] == 0 and node_i[k, NI_DEPTH] < max_depth:
            node_i[k, NI_ACTIVE] = 1
            meta_i[MI_NACTIVE] += 1
            meta_i[MI_NINACTIVE] -= 1
    return out[:n]
