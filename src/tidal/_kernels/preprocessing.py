"""Online preprocessing kernels: standard scaling, one-hot encoding, feature hashing.

Transformers work on pairs, the order River's pipelines use: for row ``i`` the prediction input
``Xp[i]`` is transformed with the state *before* learning row ``i`` (into ``Op[i]``), then the
learning input ``Xl[i]`` is learned and transformed with the state *after* (into ``Ol[i]``).
"""

from __future__ import annotations

import numpy as np

from tidal._kernels import jit


@jit
def _scale_row(x, o, with_std, mean, var):
    for j in range(x.shape[0]):
        if with_std:
            v = var[j]
            # River: (x - mean) / v**0.5 if v else 0.0 -- a constant feature becomes 0
            o[j] = (x[j] - mean[j]) / v**0.5 if v != 0.0 else 0.0
        else:
            o[j] = x[j] - mean[j]


@jit
def standard_scaler_pair(Xp, Xl, Op, Ol, do_pred, do_learn, with_std, count, mean, var):
    n_rows = Xp.shape[0] if do_pred else Xl.shape[0]
    n_features = mean.shape[0]
    for i in range(n_rows):
        if do_pred:
            _scale_row(Xp[i], Op[i], with_std, mean, var)
        if do_learn:
            for j in range(n_features):
                x = Xl[i, j]
                count[j] += 1.0
                old = mean[j]
                mean[j] = old + (x - old) / count[j]
                if with_std:
                    var[j] += ((x - old) * (x - mean[j]) - var[j]) / count[j]
            _scale_row(Xl[i], Ol[i], with_std, mean, var)


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
