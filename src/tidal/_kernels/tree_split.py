"""Split criteria and splitters of the Hoeffding tree classifier (River 0.26.1's arithmetic).

``merit`` is ``SplitCriterion.merit_of_split``; ``numeric_best`` is the Gaussian splitter's
``best_evaluated_split_suggestion``; ``nominal_best`` the nominal splitter's. ``post_p`` holds,
for each branch and class, 0 when the class is absent from the branch's dict, else its position
in that dict + 1 (River's insertion order, which decides ties downstream).
"""

import math

import numpy as np

from tidal._kernels import jit
from tidal._kernels.tree_layout import (
    G_MAX,
    G_MEAN,
    G_MIN,
    G_N,
    G_ORD,
    G_S,
    NEG_INF,
    PF_HALF,
    PF_MBF,
    PF_NSPLITS,
    PF_TWO,
    PI_BINARY,
    PI_CODE0,
    PI_CODE1,
)


@jit
def entropy(d, pres, b):
    ent = 0.0
    s = 0.0
    for c in range(d.shape[1]):
        if pres[b, c] and d[b, c] > 0.0:
            ent -= d[b, c] * math.log2(d[b, c])
            s += d[b, c]
    if s > 0.0:
        return (ent + s * math.log2(s)) / s
    return 0.0


@jit
def merit(crit, pre, pre_p, post, post_p, nb, mbf, code0, code1, pf):
    """River's split criteria: ``merit_of_split(pre, post[:nb])``."""
    total = 0.0
    sums = np.zeros(nb)
    for b in range(nb):
        s = 0.0
        for c in range(post.shape[1]):
            if post_p[b, c]:
                s += post[b, c]
        sums[b] = s
        total += s
    greater = 0
    if total > 0:
        for b in range(nb):
            if sums[b] / total > mbf:
                greater += 1
    if greater < 2:
        return NEG_INF
    if crit == 0:
        return entropy(pre, pre_p, 0) - list_entropy(post, post_p, nb, sums, total)
    if crit == 1:
        gini = 0.0
        for b in range(nb):
            g = 1.0
            if sums[b] != 0.0:
                for c in range(post.shape[1]):
                    if post_p[b, c]:
                        rf = post[b, c] / sums[b]
                        g -= rf * rf
            gini += (sums[b] / total) * g
        return 1.0 - gini
    # hellinger: River reads the branches' weights of the labels 0 and 1
    if code0 < 0 or code1 < 0 or nb < 2:
        return 0.0
    if not (post_p[0, code1] and post_p[0, code0] and post_p[1, code1] and post_p[1, code0]):
        return 0.0
    lp, ln, rp, rn = post[0, code1], post[0, code0], post[1, code1], post[1, code0]
    tn = ln + rn
    tp = lp + rp
    if tn == 0.0 or tp == 0.0:
        return 0.0
    half, two = pf[PF_HALF], pf[PF_TWO]
    h = ((ln / tn) ** half - (lp / tp) ** half) ** two + (
        (rn / tn) ** half - (rp / tp) ** half
    ) ** two
    return h**half


@jit
def list_entropy(post, post_p, nb, sums, total):
    ent = 0.0
    for b in range(nb):
        ent += sums[b] * entropy(post, post_p, b)
    return ent / total


@jit
def class_sigmas(g, s, f, pf):
    """Each class's standard deviation of feature ``f`` (0 for a class not seen)."""
    sigma = np.zeros(g.shape[2])
    for c in range(g.shape[2]):
        n = g[s, f, c, G_N]
        if n > 0.0:
            var = g[s, f, c, G_S] / (n - 1.0) if n > 1.0 else 0.0
            sigma[c] = var ** pf[PF_HALF]
    return sigma


@jit
def numeric_dists(g, s, f, sv, post, post_p, pf):
    split_dists(g, s, f, sv, post, post_p, class_sigmas(g, s, f, pf))


@jit
def split_dists(g, s, f, sv, post, post_p, sigma):
    """Class weights left (<= sv) and right of threshold ``sv``; ``sigma`` holds each class's
    standard deviation (worked out once per feature: ``pow`` costs more than the rest)."""
    post[0:2, :] = 0.0
    post_p[0:2, :] = 0
    for c in range(g.shape[2]):
        n = g[s, f, c, G_N]
        if n <= 0.0:
            continue
        key = int(g[s, f, c, G_ORD]) + 1
        if sv < g[s, f, c, G_MIN]:
            post[1, c] = n
            post_p[1, c] = key
        elif sv >= g[s, f, c, G_MAX]:
            post[0, c] = n
            post_p[0, c] = key
        else:
            cdf = 0.0
            if sigma[c] != 0.0:
                z = ((sv - g[s, f, c, G_MEAN]) / sigma[c]) / math.sqrt(2.0)
                cdf = 0.5 * (1.0 + math.erf(z))
            lhs = cdf * n
            post[0, c] = lhs
            post[1, c] = n - lhs
            post_p[0, c] = key
            post_p[1, c] = key


@jit
def numeric_best(g, s, f, crit, pre, pre_p, post, post_p, pf, pi):
    """Best Gaussian split of feature f: (merit, threshold); merit -inf means none."""
    mn = np.inf
    mx = -np.inf
    for c in range(g.shape[2]):
        if g[s, f, c, G_N] > 0.0:
            if g[s, f, c, G_MIN] < mn:
                mn = g[s, f, c, G_MIN]
            if g[s, f, c, G_MAX] > mx:
                mx = g[s, f, c, G_MAX]
    best = NEG_INF
    best_sv = 0.0
    if mn < np.inf:
        n_splits = int(pf[PF_NSPLITS])
        bin_size = mx - mn
        bin_size /= pf[PF_NSPLITS] + 1.0
        sigma = class_sigmas(g, s, f, pf)
        for i in range(n_splits):
            sv = mn + (bin_size * float(i + 1))
            if mn < sv < mx:
                split_dists(g, s, f, sv, post, post_p, sigma)
                m = merit(
                    crit, pre, pre_p, post, post_p, 2, pf[PF_MBF], pi[PI_CODE0], pi[PI_CODE1], pf
                )
                if m > best:
                    best = m
                    best_sv = sv
    return best, best_sv


@jit
def nominal_multiway_dists(cnt, s, j, post, post_p, label_rank):
    """One branch per category seen (in code order); returns the branch count.

    River sorts each branch's classes by label: ``label_rank`` is that order."""
    nb = 0
    for v in range(cnt.shape[2]):
        seen = False
        for c in range(cnt.shape[3]):
            if cnt[s, j, v, c] > 0.0:
                seen = True
        if seen:
            for c in range(cnt.shape[3]):
                post[nb, c] = cnt[s, j, v, c]
                post_p[nb, c] = label_rank[c] + 1 if cnt[s, j, v, c] > 0.0 else 0
            nb += 1
    return nb


@jit
def nominal_binary_dists(cnt, cnt_ord, s, j, v, post, post_p):
    for c in range(cnt.shape[3]):
        post[0, c] = 0.0
        post[1, c] = 0.0
        post_p[0, c] = 0
        post_p[1, c] = 0
        for u in range(cnt.shape[2]):
            if cnt[s, j, u, c] > 0.0:
                if u == v:
                    post[0, c] += cnt[s, j, u, c]
                    post_p[0, c] = cnt_ord[s, j, c] + 1
                else:
                    post[1, c] += cnt[s, j, u, c]
                    post_p[1, c] = cnt_ord[s, j, c] + 1


@jit
def nominal_best(cnt, cnt_ord, s, j, crit, pre, pre_p, post, post_p, pf, pi, label_rank):
    """Best nominal split: (merit, has_feature, multiway, value)."""
    mbf, c0, c1 = pf[PF_MBF], pi[PI_CODE0], pi[PI_CODE1]
    best = NEG_INF
    has = False
    multi = False
    value = 0.0
    if pi[PI_BINARY] == 0:
        nb = nominal_multiway_dists(cnt, s, j, post, post_p, label_rank)
        best = merit(crit, pre, pre_p, post, post_p, nb, mbf, c0, c1, pf)
        has = True
        multi = True
    for v in range(cnt.shape[2]):
        seen = False
        for c in range(cnt.shape[3]):
            if cnt[s, j, v, c] > 0.0:
                seen = True
        if not seen:
            continue
        nominal_binary_dists(cnt, cnt_ord, s, j, v, post, post_p)
        m = merit(crit, pre, pre_p, post, post_p, 2, mbf, c0, c1, pf)
        if m > best:
            best = m
            has = True
            multi = False
            value = float(v)
    return best, has, multi, value
