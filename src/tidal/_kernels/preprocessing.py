"""Online preprocessing kernels: standard scaling, one-hot encoding, feature hashing.

Transformers work on pairs, the order River's pipelines use: for row ``i`` the prediction input
``Xp[i]`` is transformed with the state *before* learning row ``i`` (into ``Op[i]``), then the
learning input ``Xl[i]`` is learned and transformed with the state *after* (into ``Ol[i]``).
"""

from __future__ import annotations

import math

import numpy as np

from tidal._kernels import jit, njit


def _vector_jit(fn):  # type: ignore[no-untyped-def]
    """``jit`` with numpy's error model: ``/`` then needs no zero-divisor branch, so LLVM can
    vectorise the feature loops (every divisor here is checked or is a count >= 1, so no
    ZeroDivisionError could be raised anyway). Still no fastmath: results stay exact."""
    return njit(cache=True, nogil=True, error_model="numpy")(fn)


@_vector_jit
def _inverse_std(v):
    # River divides by var ** 0.5 (0.0 out for a constant feature); multiplying by the
    # reciprocal of the correctly rounded sqrt stays within a few ulp of it (relative to the
    # output) and costs one division per feature and row instead of two
    s = math.sqrt(v)
    return 1.0 / s if s != 0.0 else 0.0


@_vector_jit
def _scaled(centred, inv):
    # + 0.0 turns the -0.0 of a negative value times the 0 of a constant feature into River's 0.0
    return centred * inv + 0.0


@_vector_jit
def _scale_row(X, out, i, mean, inv):
    for j in range(X.shape[1]):
        out[i, j] = _scaled(X[i, j] - mean[j], inv[j])


@_vector_jit
def standard_scaler_pair(Xp, Xl, Op, Ol, do_pred, do_learn, with_std, count, mean, var):
    n_rows = Xp.shape[0] if do_pred else Xl.shape[0]
    d = mean.shape[0]
    # 1 / std of the current state (1 without std), refreshed by each learned row: the
    # prediction of row i + 1 reuses what learning row i computed
    inv = np.ones(d)
    if with_std:
        for j in range(d):
            inv[j] = _inverse_std(var[j])
    for i in range(n_rows):
        if do_pred:
            _scale_row(Xp, Op, i, mean, inv)
        if not do_learn:
            continue
        # River's Welford updates, divisions included: the state stays River's bit for bit
        # (a reciprocal here would move the mean by an ulp, which a feature with a large
        # offset and a small spread turns into much more than 1e-9 once scaled)
        for j in range(d):
            c = count[j] + 1.0
            count[j] = c
            x = Xl[i, j]
            old = mean[j]
            new = old + (x - old) / c
            mean[j] = new
            if with_std:
                v = var[j] + ((x - old) * (x - new) - var[j]) / c
                var[j] = v
                inv[j] = _inverse_std(v)
            Ol[i, j] = _scaled(x - new, inv[j])


@jit
def _one_hot_row(x, o, is_cat, offset, max_categories, n_learned):
    for j in range(x.shape[0]):
        if not is_cat[j]:
            o[offset[j]] = x[j]
            continue
        c = x[j]
        if c != c:  # missing
            continue
        if c >= 0.0 and c < n_learned[j]:
            k = int(c)
            o[offset[j] + (k if k < max_categories else max_categories)] = 1.0
        elif n_learned[j] >= max_categories:
            # not learned yet (-1, or first seen later in the block) but every named column is
            # taken: it can only ever be "other"
            o[offset[j] + max_categories] = 1.0
        # else: it would get its own column, which no learner has a weight for yet


@jit
def one_hot_pair(Xp, Xl, Op, Ol, do_pred, do_learn, is_cat, offset, max_categories, n_learned):
    n_rows = Xp.shape[0] if do_pred else Xl.shape[0]
    for i in range(n_rows):
        if do_pred:
            _one_hot_row(Xp[i], Op[i], is_cat, offset, max_categories, n_learned)
        if do_learn:
            for j in range(Xl.shape[1]):
                c = Xl[i, j]
                # codes are given in order of first appearance, so "learned" is a prefix
                if is_cat[j] and c == c and c + 1.0 > n_learned[j]:
                    n_learned[j] = c + 1.0
            _one_hot_row(Xl[i], Ol[i], is_cat, offset, max_categories, n_learned)


@jit
def feature_hash(X, out, is_cat, name_hash, n_features, alternate_sign):
    """``out`` must be zeros. Categorical cells hold the signed 32-bit murmur3 hash of
    "column=value" (NaN when missing); numeric cells use the hash of the column name."""
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            x = X[i, j]
            if is_cat[j]:
                if x != x:
                    continue
                h = np.int64(x)
                v = 1.0
            else:
                h = name_hash[j]
                v = x
            # scikit-learn's FeatureHasher: index abs(h) % n, sign of h
            if h == -2147483648:
                idx = (2147483647 - (n_features - 1)) % n_features
            else:
                idx = abs(h) % n_features
            if alternate_sign and h < 0:
                v = -v
            out[i, idx] += v
