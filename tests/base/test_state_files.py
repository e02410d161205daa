"""State dicts and their files: exact round trips, no pickle, refusing what is not ours."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pytest

from tidal.base import StateError, learner_from_state, read_state, save_state
from tidal.base.state import STATE_FORMAT_VERSION
from tidal.checks._utils import assert_same_state
from tidal.dummy import MajorityClassifier, NoChangeClassifier, RunningMeanRegressor


def _majority():
    return MajorityClassifier().learn_many(
        {"a": [0.0, 1.0, 2.0], "c": ["u", "v", "u"]}, ["x", "y", "y"]
    )


def test_state_dict_layout():
    s = _majority().state_dict()
    assert s["format"] == "tidal.state" and s["format_version"] == STATE_FORMAT_VERSION
    assert s["class"] == "tidal.dummy.MajorityClassifier" and s["class_version"] == 1
    assert s["fitted"]["labels"] == ["x", "y"]
    assert s["fitted"]["feature_names"] == ["a", "c"]
    np.testing.assert_array_equal(s["state"]["counts"], [1.0, 2.0])


def test_file_round_trip_without_pickle(tmp_path):
    m = _majority()
    path = save_state(m.state_dict(), tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(str(archive["__meta__"]))
        assert all(archive[k].dtype != object for k in archive.files)
    assert meta["class"] == "tidal.dummy.MajorityClassifier"
    back = read_state(path)
    assert_same_state(m.state_dict(), back, "file round trip")
    restored = learner_from_state(back)
    assert restored.predict_proba_one({"a": 0.0, "c": "v"}) == m.predict_proba_one(
        {"a": 0.0, "c": "v"}
    )


def test_continuing_after_a_round_trip_is_exact(tmp_path):
    y = [1.0, 4.0, 2.0, 8.0]
    a = RunningMeanRegressor().learn_many({"a": [0.0] * 4}, y, [1.0, 2.0, 0.5, 1.0])
    b = learner_from_state(read_state(save_state(a.state_dict(), tmp_path / "r.npz")))
    c = pickle.loads(pickle.dumps(a))
    outs = [m.step_many({"a": [0.0] * 3}, [3.0, 5.0, 7.0]) for m in (a, b, c)]
    np.testing.assert_array_equal(outs[0], outs[1])
    np.testing.assert_array_equal(outs[0], outs[2])


def test_object_arrays_are_refused_at_save(tmp_path):
    with pytest.raises(StateError, match="object array"):
        save_state(
            {"format": "tidal.state", "w": np.array(["a", 1], dtype=object)}, tmp_path / "x.npz"
        )


def test_not_a_state_file(tmp_path):
    p = tmp_path / "junk.npz"
    p.write_bytes(b"not a zip")
    with pytest.raises(StateError, match="not a tidal state file"):
        read_state(p)
    pickled = tmp_path / "p.npz"
    np.savez(pickled, __meta__=np.array("{}"), evil=np.array([object()], dtype=object))
    with pytest.raises(StateError):
        read_state(pickled)


@pytest.mark.parametrize(
    "path",
    [
        "os.system",
        "builtins.eval",
        "tidal.base.state.save_state",  # a function inside a trusted package
        "tidal.base.exceptions.StateError",  # a class that is not a learner
        "sklearn.linear_model.LogisticRegression",  # an estimator, but not a tidal learner
        "tidal.dummy.NoSuchLearner",
    ],
)
def test_untrusted_class_paths_are_refused(path, tmp_path):
    target = tmp_path / "written.npz"
    state = copy.deepcopy(NoChangeClassifier().state_dict())
    state["class"] = path
    state["params"] = {"state": {}, "path": str(target), "command": "true"}
    with pytest.raises(StateError):
        learner_from_state(state)
    assert not target.exists()


def test_nested_params_must_be_estimators():
    state = NoChangeClassifier().state_dict()
    state["params"] = {"x": {"__class__": "tidal.base.state.save_state", "params": {}}}
    with pytest.raises(StateError, match="refusing"):
        learner_from_state(state)


@pytest.mark.parametrize("key", ["class_version", "format_version"])
def test_version_mismatch_is_refused_clearly(key):
    m = _majority()
    state = m.state_dict()
    state[key] += 1
    with pytest.raises(StateError, match=f"version {state[key]}"):
        learner_from_state(state)
    with pytest.raises(StateError, match="version"):
        m.load_state(state)
    assert m.classes_.tolist() == ["x", "y"]  # the refused load changed nothing


def test_state_for_another_class_is_refused():
    with pytest.raises(StateError, match="is for tidal.dummy.MajorityClassifier"):
        NoChangeClassifier().load_state(_majority().state_dict())


def test_unfitted_round_trip():
    back = learner_from_state(MajorityClassifier().state_dict())
    assert not back.is_fitted and back.predict_one({"a": 1.0}) is None
