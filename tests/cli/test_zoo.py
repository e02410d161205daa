"""Model names and their parameters."""

from __future__ import annotations

import numpy as np
import pytest

from tidal import zoo
from tidal.base import ParameterError
from tidal.dummy import MajorityClassifier, NoChangeClassifier, RunningMeanRegressor


def test_baselines_always_available():
    assert isinstance(zoo.make("majority"), MajorityClassifier)
    assert isinstance(zoo.make("nochange"), NoChangeClassifier)
    assert isinstance(zoo.make("mean"), RunningMeanRegressor)


def test_parse_grammar():
    assert zoo.parse("lr") == ("lr", {})
    assert zoo.parse("x:a=1:b=0.5:c=True:d=gini") == (
        "x",
        {"a": 1, "b": 0.5, "c": True, "d": "gini"},
    )
    with pytest.raises(ParameterError, match="key=value"):
        zoo.parse("lr:l2")


def test_unknown_name_lists_valid_names():
    with pytest.raises(ParameterError) as info:
        zoo.make("nope")
    for name in zoo.names():
        assert name in str(info.value)


def test_unknown_param_lists_valid_params():
    with pytest.raises(ParameterError, match=r"unknown parameter 'foo'; majority takes: none"):
        zoo.make("majority:foo=1")


def test_lr_parameters_reach_the_estimator():
    pytest.importorskip("tidal.linear_model")
    m = zoo.make("lr:l2=0.01:lr=0.1")
    final = (
        m.steps[-1][1] if hasattr(m, "steps") and isinstance(m.steps[-1], tuple) else m.steps[-1]
    )
    assert final.l2 == 0.01
    assert final.optimizer.lr == 0.1


def test_bad_value_fails_at_make():
    pytest.importorskip("tidal.linear_model")
    with pytest.raises(ParameterError, match="l2"):
        zoo.make("lr:l2=-1.0")


def test_missing_module_is_left_out(monkeypatch):
    entry = zoo.ZooEntry("ghost", "tidal.not_a_module:Ghost", "missing", "binary")
    monkeypatch.setattr(zoo, "_ENTRIES", [*zoo._ENTRIES, entry])
    assert "ghost" not in zoo.names()
    assert "majority" in zoo.names()


def test_entries_have_task_and_description():
    for name, e in zoo.entries().items():
        assert e.name == name and e.task in ("binary", "classification", "regression", "any")
        assert e.description


def test_categorical_data_gets_a_one_hot_encoder_only_where_needed():
    pytest.importorskip("tidal.preprocessing")
    pytest.importorskip("tidal.naive_bayes")
    from tidal.preprocessing import OneHotEncoder

    nb = zoo.make("nb", categorical=True)
    first = nb.steps[0][1] if isinstance(nb.steps[0], tuple) else nb.steps[0]
    assert isinstance(first, OneHotEncoder)
    assert isinstance(zoo.make("majority", categorical=True), MajorityClassifier)


def test_batch_entries_are_task_aware_and_take_schedule_options():
    pytest.importorskip("sklearn")
    from tidal.batch import BatchClassifier, BatchRegressor, HybridClassifier, HybridRegressor

    m = zoo.make("batch-lr:every=2000:window=5000:delay=200")
    assert isinstance(m, BatchClassifier)
    assert (m.retrain.n, m.window, m.deploy_delay, m.n_jobs) == (2000, 5000, 200, 1)
    assert isinstance(zoo.make("batch-lr", task="regression"), BatchRegressor)
    assert isinstance(zoo.make("hybrid"), HybridClassifier)
    assert isinstance(zoo.make("hybrid", task="regression"), HybridRegressor)
    assert "batch-lr" in zoo.names("regression") and "batch-lr" in zoo.names("binary")


def test_batch_lgbm_is_single_threaded_and_quiet():
    pytest.importorskip("lightgbm")
    m = zoo.make("batch-lgbm:n_estimators=20")
    params = m.estimator.get_params()
    assert (params["n_jobs"], params["verbose"], params["n_estimators"]) == (1, -1, 20)
    assert m.window == 5000 and m.retrain.n == 5000


def test_batch_entry_bad_option_names_it():
    with pytest.raises(ParameterError, match="every == 0"):
        zoo.make("batch-lr:every=0")
    with pytest.raises(ParameterError, match="unknown parameter 'depth'"):
        zoo.make("batch-lr:depth=3")


def test_stochastic_short_names_get_a_fixed_seed_unless_given():
    from tidal import zoo

    assert zoo.make("arf").seed == zoo.DEFAULT_SEED
    assert zoo.make("arf:seed=7").seed == 7
    a, b = zoo.make("lbag"), zoo.make("lbag")
    X = np.random.default_rng(0).normal(size=(300, 3))
    y = (X[:, 0] > 0).astype(int)
    assert (a.step_many(X, y) == b.step_many(X, y)).all()
