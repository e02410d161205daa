"""The scikit-learn face: fit / predict / partial_fit / params, and life inside a Pipeline."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from tidal.checks._datasets import Dataset
from tidal.checks._utils import (
    assert_same,
    assert_same_learner_state,
)

__all__ = ["check_sklearn_face"]


def check_sklearn_face(learner: Any, dataset: Dataset) -> None:
    """fit/predict/predict_proba/partial_fit/get_params/set_params behave as scikit-learn's do
    (fit forgets what was learned before) and the learner works inside ``sklearn.pipeline``."""
    tags = learner._get_tags()
    n = 600
    X1, y1 = dataset.X[:n], dataset.y[:n]
    X2, y2 = dataset.X[n : 2 * n], dataset.y[n : 2 * n]
    test = dataset.X[2 * n : 2 * n + 100]

    m = clone(learner)
    params = m.get_params()
    assert m.set_params(**params) is m, "set_params must return self"
    assert repr(m.get_params()) == repr(params)
    assert is_classifier(m) == tags.is_classifier, "sklearn.base.is_classifier disagrees with tags"
    assert is_regressor(m) == tags.is_regressor, "sklearn.base.is_regressor disagrees with tags"

    if tags.task == "transformer":
        assert m.fit(X1) is m, "fit must return self"
        out = m.transform(test)
        assert out.shape[0] == len(test)
        again = clone(learner).fit(X2).fit(X1)
        assert_same(again.transform(test), out, "fit must forget what was learned before")
        from sklearn.linear_model import LinearRegression

        pipe = Pipeline([("t", clone(learner)), ("lr", LinearRegression())]).fit(X1, y1)
        assert np.isfinite(pipe.predict(test)).all()
        return

    assert m.fit(X1, y1) is m, "fit must return self"
    pred = m.predict(test)
    assert pred.shape == (len(test),), f"predict gave shape {pred.shape}"
    again = clone(learner).fit(X2, y2).fit(X1, y1)
    assert_same(again.predict(test), pred, "fit must forget what was learned before")
    assert_same_learner_state(
        learner, again.state_dict(), m.state_dict(), "state after fit, fit vs fit, fit"
    )
    parts = clone(learner)
    assert parts.partial_fit(X1[:300], y1[:300]) is parts, "partial_fit must return self"
    parts.partial_fit(X1[300:], y1[300:])
    assert_same(parts.predict(test), pred, "partial_fit in two parts vs fit")
    if tags.is_classifier:
        proba = m.predict_proba(test)
        assert proba.shape == (len(test), len(m.classes_)), f"predict_proba shape {proba.shape}"
        assert 0.0 <= m.score(test, dataset.y[2 * n : 2 * n + 100]) <= 1.0
    else:
        assert np.isfinite(pred).all()

    scaler = StandardScaler().fit(X1)
    pipe = Pipeline([("scale", StandardScaler()), ("m", clone(learner))]).fit(X1, y1)
    direct = clone(learner).fit(scaler.transform(X1), y1)
    assert_same(pipe.predict(test), direct.predict(scaler.transform(test)), "inside a Pipeline")
