"""The scikit-learn face of the base: estimator type, fit forgets, pipelines, params."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tidal.dummy import MajorityClassifier, RunningMeanRegressor


def test_estimator_type():
    assert is_classifier(MajorityClassifier()) and not is_regressor(MajorityClassifier())
    assert is_regressor(RunningMeanRegressor()) and not is_classifier(RunningMeanRegressor())


def test_fit_forgets_previous_classes():
    X = np.zeros((2, 1))
    m = MajorityClassifier().fit(X, ["a", "b"]).fit(X, ["c", "c"])
    assert m.classes_.tolist() == ["c"]
    assert m.predict(X).tolist() == ["c", "c"]


def test_clone_is_unfitted():
    m = MajorityClassifier().fit(np.zeros((2, 1)), [1, 2])
    c = clone(m)
    assert not c.is_fitted and c.predict_one({"x0": 0.0}) is None


def test_inside_a_pipeline_and_cross_validation():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 2)), np.array([0, 1, 1] * 20)
    pipe = make_pipeline(StandardScaler(), MajorityClassifier()).fit(X, y)
    assert pipe.predict(X[:3]).tolist() == [1, 1, 1]
    scores = cross_val_score(make_pipeline(StandardScaler(), MajorityClassifier()), X, y, cv=3)
    # a classifier gets stratified folds: each test fold scored by the share of its 1s
    folds = StratifiedKFold(n_splits=3).split(X, y)
    np.testing.assert_allclose(scores, [np.mean(y[test] == 1) for _, test in folds])
    reg = make_pipeline(StandardScaler(), RunningMeanRegressor()).fit(X, np.arange(60.0))
    np.testing.assert_allclose(reg.predict(X[:2]), [29.5, 29.5])


def test_check_is_fitted():
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.utils.validation import check_is_fitted

    m = MajorityClassifier()
    try:
        check_is_fitted(m)
    except SkNotFitted:
        pass
    else:
        raise AssertionError("an unfitted learner passed check_is_fitted")
    check_is_fitted(m.fit(np.zeros((2, 1)), [0, 1]))
