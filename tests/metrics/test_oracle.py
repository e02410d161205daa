"""Our metrics against River's on the same sequences (max abs diff <= 1e-9), cumulative and
rolling (River's ``utils.Rolling``), checked after every block, with blocks of several sizes."""

from __future__ import annotations

import numpy as np
import pytest
from river import metrics as rm
from river import utils
from sklearn.metrics import roc_auc_score

from tidal import metrics as tm

N = 600
TOL = 1e-9


def _blocks(n, size):
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def _labels(seed, k):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, N)
    # predictions right 60% of the time, so the scores are not trivial
    p = np.where(rng.random(N) < 0.6, y, rng.integers(0, k, N))
    w = rng.uniform(0.5, 2.0, N)
    return y, p, w


def _river(cls, window, **kw):
    return utils.Rolling(cls, window_size=window, **kw) if window else cls(**kw)


def _py(v):
    return v.item() if isinstance(v, np.generic) else v


def _compare(ours, river, y, p, w, size, river_pred=None, classes=None):
    for s, e in _blocks(len(y), size):
        ours.update_many(y[s:e], p[s:e], w[s:e], classes=classes)
        for i in range(s, e):
            yp = river_pred[i] if river_pred is not None else _py(p[i])
            river.update(_py(y[i]), yp, w=float(w[i]))
        assert abs(ours.get() - river.get()) <= TOL, (s, ours.get(), river.get())


LABEL_METRICS = [
    (tm.Accuracy, rm.Accuracy, {}, 3),
    (tm.BalancedAccuracy, rm.BalancedAccuracy, {}, 4),
    (tm.MacroF1, rm.MacroF1, {}, 4),
    (tm.F1, rm.F1, {}, 2),
]


@pytest.mark.parametrize("ours_cls,river_cls,kw,k", LABEL_METRICS)
@pytest.mark.parametrize("window", [None, 1, 50])
@pytest.mark.parametrize("size", [1, 37, 600])
def test_label_metrics_match_river(ours_cls, river_cls, kw, k, window, size):
    y, p, w = _labels(hash((ours_cls.__name__, window)) % 1000, k)
    _compare(ours_cls(window=window), _river(river_cls, window), y, p, w, size)


def test_classes_appearing_late_and_string_labels():
    rng = np.random.default_rng(3)
    names = np.array(["cat", "dog", "emu", "fox"], dtype=object)
    y = names[np.minimum(rng.integers(0, 4, N), np.arange(N) // 150)]  # fox only at the end
    p = names[rng.integers(0, 4, N)]
    for ours, river in [
        (tm.MacroF1(), rm.MacroF1()),
        (tm.MacroF1(window=40), utils.Rolling(rm.MacroF1, window_size=40)),
    ]:
        _compare(ours, river, y, p, np.ones(N), 64)


@pytest.mark.parametrize("window", [None, 30])
@pytest.mark.parametrize("size", [1, 128])
def test_binary_logloss_matches_river(window, size):
    rng = np.random.default_rng(5)
    y = rng.random(N) < 0.4
    proba = np.clip(rng.random(N), 0, 1)
    proba[:5] = [0.0, 1.0, 1e-20, 1 - 1e-17, 0.5]  # exercises the clipping
    w = rng.uniform(0.1, 3, N)
    _compare(tm.LogLoss(window=window), _river(rm.LogLoss, window), y, proba, w, size)


@pytest.mark.parametrize("window", [None, 30])
def test_multiclass_logloss_matches_river_cross_entropy(window):
    rng = np.random.default_rng(6)
    y = rng.integers(0, 3, N)
    P = rng.dirichlet([1, 1, 1], N)
    dicts = [{c: float(P[i, c]) for c in range(3)} for i in range(N)]
    w = np.ones(N)
    # matrix + classes form
    _compare(
        tm.LogLoss(window=window),
        _river(rm.CrossEntropy, window),
        y,
        P,
        w,
        50,
        river_pred=dicts,
        classes=[0, 1, 2],
    )
    # dict form, with classes in a different order than the codes
    ours = tm.LogLoss(window=window)
    ours.update_many(y, P[:, ::-1], classes=[2, 1, 0])
    river = _river(rm.CrossEntropy, window)
    for i in range(N):
        river.update(int(y[i]), dicts[i])
    assert abs(ours.get() - river.get()) <= TOL


def test_matrix_needs_classes():
    with pytest.raises(ValueError, match="classes"):
        tm.LogLoss().update_many([0, 1], np.full((2, 2), 0.5))


def _regression(seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(100, 5, N)  # a large mean tests the numerical stability of R2
    p = y + rng.normal(0, 2, N)
    w = rng.uniform(0.5, 2, N)
    return y, p, w


@pytest.mark.parametrize(
    "ours_cls,river_cls", [(tm.MAE, rm.MAE), (tm.RMSE, rm.RMSE), (tm.R2, rm.R2)]
)
@pytest.mark.parametrize("window", [None, 1, 40])
@pytest.mark.parametrize("size", [1, 64])
def test_regression_metrics_match_river(ours_cls, river_cls, window, size):
    if river_cls is rm.R2 and window == 1:
        pytest.skip("River's rolling R2 divides by a zero weight when its window of 1 empties")
    y, p, w = _regression(7)
    _compare(ours_cls(window=window), _river(river_cls, window), y, p, w, size)


# River's ROCAUC discretises the scores into thresholds (an approximation, its docstring says so);
# ours is exact, so the oracle for ROC AUC is scikit-learn's roc_auc_score on the same rows.
@pytest.mark.parametrize("window", [None, 60])
@pytest.mark.parametrize("size", [1, 97])
def test_roc_auc_matches_sklearn_exact(window, size):
    rng = np.random.default_rng(8)
    y = rng.random(N) < 0.3
    score = np.round(rng.random(N) * 0.5 + 0.4 * y, 2)  # rounded: many ties
    w = rng.uniform(0.2, 2.0, N)
    ours = tm.ROCAUC(window=window)
    for s, e in _blocks(N, size):
        ours.update_many(y[s:e], score[s:e], w[s:e])
        lo = 0 if window is None else max(0, e - window)
        ys, ss, ws = y[lo:e], score[lo:e], w[lo:e]
        if ys.all() or not ys.any():
            assert np.isnan(ours.get())
            continue
        assert abs(ours.get() - roc_auc_score(ys, ss, sample_weight=ws)) <= TOL


def test_roc_auc_from_probability_matrix_and_string_labels():
    ours = tm.ROCAUC(pos_label="up")
    y = np.array(["up", "down", "up", "down"], dtype=object)
    P = np.array([[0.2, 0.8], [0.6, 0.4], [0.5, 0.5], [0.3, 0.7]])  # columns: down, up
    ours.update_many(y, P, classes=["down", "up"])
    assert ours.get() == roc_auc_score([1, 0, 1, 0], P[:, 1])


def test_none_prediction_is_a_miss_and_not_a_class():
    m = tm.MacroF1().update_many([0, 0, 1], [None, 0, 1])
    assert m.get() == pytest.approx((2 * 1 * 0.5 / 1.5 + 1.0) / 2)
    assert tm.Accuracy().update_many([0, 0, 1], [None, 0, 1]).get() == pytest.approx(2 / 3)


def test_update_one_equals_update_many():
    y, p, w = _labels(9, 3)
    a, b = tm.BalancedAccuracy(window=20), tm.BalancedAccuracy(window=20)
    a.update_many(y, p, w)
    for i in range(N):
        b.update(y[i], p[i], w[i])
    assert a.get() == b.get()


def test_bad_window_and_lengths():
    with pytest.raises(ValueError, match="window == 0"):
        tm.Accuracy(window=0)
    with pytest.raises(ValueError, match="3 true values but 2 predictions"):
        tm.Accuracy().update_many([1, 2, 3], [1, 2])
