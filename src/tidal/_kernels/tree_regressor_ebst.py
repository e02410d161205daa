"""Variance statistics and River's truncated extended binary search tree (TE-BST), in arrays.

A variance statistic is three floats ``(n, mean, S)`` with River 0.26.1's ``stats.Var`` update,
merge (``+=``) and difference (``-=``) arithmetic, operation by operation. The E-BST nodes of every
leaf and feature live in one pool: ``ef[k] = (key, n, mean, S)``, ``ei[k] = (left, right)``;
freed nodes are chained through ``ei[k, 0]`` (``emeta``: next unused row, free-list head, free
count). Traversals keep River's order of float operations (an in-order walk that adds a node's
statistics to an auxiliary one before its right subtree and subtracts them after), so the split
candidates and their merits are River's to the bit.
"""

import math

import numpy as np

from tidal._kernels import jit

# ef columns
E_KEY = 0
E_N = 1
E_MEAN = 2
E_S = 3
# emeta
EM_NEXT = 0
EM_HEAD = 1
EM_NFREE = 2
N_EM = 3

_LIMIT = 2.0**49  # 10 * x stays below 2**53, where floor and k / 10 are exact


@jit
def py_round1(x):
    """CPython's ``round(x, 1)``: the double nearest to the decimal nearest to ``x``.

    ``10 * x`` is split exactly into ``s + err`` (``8x + 2x``, both exact), so the tie and
    nearest-integer decisions are taken on the exact value, half to even as CPython does.
    """
    if x != x or abs(x) >= _LIMIT:
        return x
    a = 8.0 * x
    b = 2.0 * x
    s = a + b
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    t = math.floor(s)
    # exact when it matters (s - t >= 0.25, Sterbenz); else far below -err anyway
    d = (s - t) - 0.5
    if d > -err:
        k = t + 1.0
    elif d < -err:
        k = t
    else:
        k = t if t % 2.0 == 0.0 else t + 1.0
    return math.copysign(k / 10.0, x)


@jit
def var_update(v, x, w):
    """``Var.update(x, w)`` on ``v = (n, mean, S)``."""
    mean_old = v[1]
    v[0] += w
    v[1] += (w / v[0]) * (x - mean_old)
    v[2] += w * (x - mean_old) * (x - v[1])


@jit
def var_get(v):
    if v[0] > 1.0:
        return v[2] / (v[0] - 1.0)
    return 0.0


@jit
def var_iadd(v, o):
    """``v += o``."""
    d = v[1] - o[1]
    S = v[2] + o[2] + d * d * v[0] * o[0] / (v[0] + o[0])
    old_n = v[0]
    v[0] += o[0]
    v[1] = (old_n * v[1] + o[0] * o[1]) / v[0]
    v[2] = S


@jit
def var_isub(v, o):
    """``v -= o``."""
    old_n = v[0]
    v[0] -= o[0]
    if v[0] > 0.0:
        v[1] = (old_n * v[1] - o[0] * o[1]) / v[0]
    else:
        v[0] = 0.0
        v[1] = 0.0
    d = v[1] - o[1]
    v[2] = v[2] - o[2] - d * d * v[0] * o[0] / (v[0] + o[0])


@jit
def vr_merit(pre, post, nb, min_samples):
    """``VarianceReductionSplitCriterion.merit_of_split(pre, post[:nb])``."""
    for b in range(nb):
        if not post[b, 0] >= min_samples:
            return 0.0
    vr = var_get(pre)
    n = pre[0]
    for b in range(nb):
        vr -= post[b, 0] / n * var_get(post[b])
    return vr


# ----------------------------------------------------------------------------- the node pool
@jit
def pool_room(emeta, P):
    return P - emeta[EM_NEXT] + emeta[EM_NFREE]


@jit
def _alloc(ef, ei, emeta, key, y, w):
    k = emeta[EM_HEAD]
    if k >= 0:
        emeta[EM_HEAD] = ei[k, 0]
        emeta[EM_NFREE] -= 1
    else:
        k = emeta[EM_NEXT]
        emeta[EM_NEXT] = k + 1
    ef[k, E_KEY] = key
    ef[k, E_N] = 0.0
    ef[k, E_MEAN] = 0.0
    ef[k, E_S] = 0.0
    var_update(ef[k, 1:], y, w)
    ei[k, 0] = -1
    ei[k, 1] = -1
    return k


@jit
def free_tree(ef, ei, emeta, root, stack):
    """Return every node of the tree at ``root`` to the free list."""
    if root < 0:
        return
    stack[0] = root
    top = 1
    while top > 0:
        top -= 1
        k = stack[top]
        for c in range(2):
            if ei[k, c] >= 0:
                stack[top] = ei[k, c]
                top += 1
        ei[k, 0] = emeta[EM_HEAD]
        emeta[EM_HEAD] = k
        emeta[EM_NFREE] += 1


@jit
def insert(ef, ei, emeta, root, key, y, w):
    """``EBSTNode.insert_value`` (or a new root); returns the root."""
    if root < 0:
        return _alloc(ef, ei, emeta, key, y, w)
    cur = root
    while True:
        if key == ef[cur, E_KEY]:
            var_update(ef[cur, 1:], y, w)
            return root
        if key < ef[cur, E_KEY]:
            var_update(ef[cur, 1:], y, w)
            nxt = ei[cur, 0]
            side = 0
        else:
            nxt = ei[cur, 1]
            side = 1
        if nxt < 0:
            ei[cur, side] = _alloc(ef, ei, emeta, key, y, w)
            return root
        cur = nxt


# ----------------------------------------------------------------------------- split search
@jit
def _merit_at(ef, k, aux, pre, min_samples, post):
    """Merit of the threshold at E-BST node ``k`` (``aux``: its right-turn ancestors' sum);
    ``post`` receives the two branches' statistics."""
    post[0, :] = ef[k, 1:]
    var_iadd(post[0], aux)
    post[1, :] = pre
    var_isub(post[1], post[0])
    return vr_merit(pre, post, 2, min_samples)


@jit
def _push(frames, top, node, parent, is_left):
    frames[top, 0] = node
    frames[top, 1] = parent
    frames[top, 2] = is_left
    frames[top, 3] = 0
    frames[top, 4] = 0
    return top + 1


@jit
def best_split(ef, ei, root, pre, min_samples, ops, post, best_post):
    """``EBSTSplitter.best_evaluated_split_suggestion``: (merit, threshold).

    ``best_post`` receives the two branches' statistics of the best threshold."""
    best = -np.inf
    best_key = 0.0
    if root < 0:
        return best, best_key
    aux = np.zeros(3)
    # ops: 2 * node + action, action 0 descend, 1 add to aux, 2 subtract from aux... process = 3
    ops[0] = root * 4
    top = 1
    while top > 0:
        top -= 1
        code = ops[top]
        k = code // 4
        act = code % 4
        if act == 0:
            if ei[k, 1] >= 0:
                ops[top] = k * 4 + 2
                ops[top + 1] = ei[k, 1] * 4
                ops[top + 2] = k * 4 + 1
                top += 3
            ops[top] = k * 4 + 3
            top += 1
            if ei[k, 0] >= 0:
                ops[top] = ei[k, 0] * 4
                top += 1
        elif act == 1:
            var_iadd(aux, ef[k, 1:])
        elif act == 2:
            var_isub(aux, ef[k, 1:])
        else:
            m = _merit_at(ef, k, aux, pre, min_samples, post)
            if m > best:
                best = m
                best_key = ef[k, E_KEY]
                best_post[:, :] = post[:2, :]
    return best, best_key


@jit
def remove_bad_splits(ef, ei, emeta, root, pre, min_samples, ratio, vr, e, frames, post):
    """``EBSTSplitter.remove_bad_splits``: prune E-BST leaves whose split is far worse than the
    best one (FIMT-DD). Returns the new root (-1 when the whole tree went)."""
    if root < 0:
        return root
    aux = np.zeros(3)
    # frames: node, parent, is_left, phase, added
    top = _push(frames, 0, root, -1, 1)
    child_bad = False
    while top > 0:
        f = top - 1
        k = frames[f, 0]
        phase = frames[f, 3]
        if phase == 0:
            frames[f, 3] = 1
            if ei[k, 0] >= 0:
                top = _push(frames, top, ei[k, 0], k, 1)
                continue
            child_bad = True
            continue
        if phase == 1:
            if not child_bad:
                top -= 1
                child_bad = False
                continue
            frames[f, 3] = 2
            if ei[k, 1] >= 0:
                var_iadd(aux, ef[k, 1:])
                frames[f, 4] = 1
                top = _push(frames, top, ei[k, 1], k, 0)
                continue
            child_bad = True
            continue
        if frames[f, 4] == 1:
            var_isub(aux, ef[k, 1:])
        is_bad = child_bad
        top -= 1
        if is_bad:
            m = _merit_at(ef, k, aux, pre, min_samples, post)
            if m / vr < ratio - 2.0 * e:
                # its children, if any, were pruned already
                ei[k, 0] = emeta[EM_HEAD]
                emeta[EM_HEAD] = k
                emeta[EM_NFREE] += 1
                p = frames[f, 1]
                if p < 0:
                    root = -1
                elif frames[f, 2] == 1:
                    ei[p, 0] = -1
                else:
                    ei[p, 1] = -1
                child_bad = True
                continue
        child_bad = False
    return root
