"""Gaussian naive Bayes: River's ``naive_bayes.GaussianNB`` arithmetic, row by row.

State (structure of arrays): ``counts[c]`` the (weighted) number of rows of class ``c``, which is
also the weight behind every Gaussian of that class since rows are dense; ``mean[c, f]`` and
``S[c, f]`` Welford's running mean and sum of squared deviations (population variance
``S / counts``, River's ``ddof=0``). A class with ``counts[c] <= 0`` is not known yet: it gets
probability 0, as River, which only knows classes it has learned.
"""

from __future__ import annotations

import math

import numpy as np

from tidal._kernels import jit

#: River's _PDF_EPS (written 10e-10 there): keeps log() finite for densities that underflow
PDF_EPS = 1e-9


@jit
def gaussian_nb_step(X_pred, X_learn, y, w, out, do_pred, do_learn, counts, mean, S):
    n_rows = out.shape[0]
    n_classes = counts.shape[0]
    n_features = mean.shape[1]
    sqrt_tau = math.sqrt(2.0 * math.pi)
    jll = np.empty(n_classes)
    for i in range(n_rows):
        if do_pred:
            total = 0.0
            for c in range(n_classes):
                if counts[c] > 0:
                    total += counts[c]
            if total > 0:
                top = -np.inf
                for c in range(n_classes):
                    if counts[c] <= 0:
                        continue
                    s = 0.0
                    for f in range(n_features):
                        pdf = 0.0
                        var = S[c, f] / counts[c]
                        if var > 0.0:
                            sigma = math.sqrt(var)
                            z = (X_pred[i, f] - mean[c, f]) / sigma
                            pdf = math.exp(-0.5 * z * z) / sqrt_tau / sigma
                        s += math.log(PDF_EPS + pdf)
                    ll = math.log(counts[c] / total) + s
                    jll[c] = ll
                    if ll > top:
                        top = ll
                # log-sum-exp shifted by the maximum, as scipy.special.logsumexp
                acc = 0.0
                for c in range(n_classes):
                    if counts[c] > 0:
                        acc += math.exp(jll[c] - top)
                lse = top + math.log(acc)
                for c in range(n_classes):
                    out[i, c] = math.exp(jll[c] - lse) if counts[c] > 0 else 0.0
        if do_learn:
            c = y[i]
            wi = w[i]
            if wi <= 0.0:
                continue
            counts[c] += wi
            n = counts[c]
            for f in range(n_features):
                x = X_learn[i, f]
                old = mean[c, f]
                new = old + (wi / n) * (x - old)
                mean[c, f] = new
                S[c, f] += wi * (x - old) * (x - new)
