"""Node and slot management shared by the Hoeffding tree kernels (classifier, regressor,
adaptive tree, forests): the parts of making a node, hanging it under its parent, and handing
out and taking back slots that do not depend on what a tree keeps per node or per slot.

See ``tidal._kernels.tree_layout`` for the layout.
"""

from __future__ import annotations

from tidal._kernels import inlined, jit
from tidal._kernels.tree_layout import (
    LEAF,
    MI_NACTIVE,
    MI_NEXTSLOT,
    MI_NFREE,
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
    "deactivate",
    "hang_category_leaf",
    "needs_room",
    "new_node",
    "release_slot",
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
def needs_room(meta_i, n_nodes, n_slots, maxc):
    """Whether learning one row could overflow a tree's node or slot rows (a split adds up to
    ``maxc`` children; ``meta_i``: the tree's own row)."""
    if meta_i[MI_NNODES] + maxc + 1 > n_nodes:
        return True
    return meta_i[MI_NFREE] == 0 and meta_i[MI_NEXTSLOT] >= n_slots
