"""The baselines against hand-written loops (the definition, row by row)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from tidal.dummy import MajorityClassifier, NoChangeClassifier, RunningMeanRegressor

RNG = np.random.default_rng(3)
N = 300
X = {"a": RNG.normal(size=N)}
LABELS = RNG.choice(["up", "down", "flat"], size=N, p=[0.5, 0.3, 0.2]).tolist()
W = RNG.uniform(0.0, 2.0, size=N)
Y = RNG.normal(size=N) * 10


def _blocks(m, y, w, size):
    out = []
    for s in range(0, N, size):
        out.extend(
            m.step_many({"a": X["a"][s : s + size]}, y[s : s + size], w[s : s + size]).tolist()
        )
    return out


def test_no_change():
    # the first row, predicted before any label, gets the zero of the labels' type, never
    # its own label
    expected = [type(LABELS[0])()] + LABELS[:-1]
    for size in (1, 7, N):
        assert _blocks(NoChangeClassifier(), LABELS, W, size) == expected


def test_majority_weighted_ties_to_first_seen():
    counts, order, expected = Counter(), [], []
    for label, w in zip(LABELS, W):
        if sum(counts.values()) > 0:
            best = max(order, key=lambda k: (counts[k], -order.index(k)))
            expected.append(best)
        else:
            expected.append(type(LABELS[0])())  # no label yet: the type's zero
        if label not in order:
            order.append(label)
        counts[label] += w
    for size in (1, 13, N):
        assert _blocks(MajorityClassifier(), LABELS, W, size) == expected


def test_majority_probabilities():
    m = MajorityClassifier().learn_many(X, LABELS, W)
    totals = {k: sum(w for lab, w in zip(LABELS, W) if lab == k) for k in m.classes_}
    s = sum(totals.values())
    got = m.predict_proba_one({"a": 0.0})
    assert got.keys() == totals.keys()
    for k in totals:
        assert abs(got[k] - totals[k] / s) <= 1e-12


def test_running_mean_weighted():
    expected, sw, mean = [], 0.0, 0.0
    for y, w in zip(Y, W):
        expected.append(mean)
        sw += w
        if sw > 0:
            mean += w * (y - mean) / sw
    for size in (1, 9, N):
        got = _blocks(RunningMeanRegressor(), Y, W, size)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
        assert got == _blocks(RunningMeanRegressor(), Y, W, 1)  # bit for bit across block sizes
    exact = RunningMeanRegressor().learn_many(X, Y, W).predict_one({"a": 0.0})
    assert abs(exact - np.average(Y, weights=W)) <= 1e-9
