"""The detector protocol: array form vs one value at a time, blocks, state, pickle, params."""

from __future__ import annotations

import copy
import inspect
import math
import pickle

import numpy as np
import pytest

from tests.drift._streams import bernoulli, gaussian, run_one_by_one
from tidal import drift
from tidal.base import InputError, ParameterError, StateError
from tidal.base.state import read_state, save_state
from tidal.drift import detector_from_state

DETECTORS = [
    drift.ADWIN(),
    drift.ADWIN(clock=1),
    drift.DDM(),
    drift.EDDM(),
    drift.HDDM_A(two_sided_test=True),
    drift.HDDM_W(two_sided_test=True),
    drift.PageHinkley(),
    drift.KSWIN(seed=3),
    drift.KSWIN(),  # seed=None: a random seed drawn at start, then kept
]
IDS = [repr(d) for d in DETECTORS]


def stream_for(det):
    return bernoulli(21, n=2500) if hasattr(det, "warning_detected") else gaussian(22, n=2500)


@pytest.mark.parametrize("proto", DETECTORS, ids=IDS)
def test_update_many_equals_repeated_update_and_blocks(proto):
    xs = stream_for(proto)
    det = proto.clone()
    det.update(0.0)  # starts the detector (draws KSWIN's seed when it is None)
    twin = pickle.loads(pickle.dumps(det))
    blocks = pickle.loads(pickle.dumps(det))
    alarms, warns = det.update_many(xs, return_warnings=True)
    assert (alarms.tolist(), warns.tolist()) == run_one_by_one(twin, xs)
    assert alarms.size > 0 or isinstance(det, drift.ADWIN | drift.KSWIN) is False
    got_a, got_w = [], []
    for start, size in [(0, 1), (1, 7), (8, 4096)]:
        a, w = blocks.update_many(xs[start : start + size], return_warnings=True)
        got_a += (a + start).tolist()
        got_w += (w + start).tolist()
    assert (got_a, got_w) == (alarms.tolist(), warns.tolist())
    assert np.array_equal(det._s, twin._s) and np.array_equal(det._s, blocks._s)


@pytest.mark.parametrize("proto", DETECTORS, ids=IDS)
def test_state_round_trip_mid_sequence(proto, tmp_path):
    xs = stream_for(proto)
    det = proto.clone()
    first = det.update_many(xs[:1100])
    state = det.state_dict()
    assert state["format"] == "tidal.state"
    assert state["class"] == f"tidal.drift.{type(det).__name__}"
    restored = detector_from_state(state)
    from_file = detector_from_state(read_state(save_state(state, tmp_path / "d.npz")))
    unpickled = pickle.loads(pickle.dumps(det))
    deep = copy.deepcopy(det)
    rest = det.update_many(xs[1100:])
    assert (first.size + rest.size) > 0
    for other in (restored, from_file, unpickled, deep):
        assert other.drift_detected == (first.size > 0 and first[-1] == 1099)
        assert other.update_many(xs[1100:]).tolist() == rest.tolist()
        assert np.array_equal(other._s, det._s)


def test_state_of_an_unstarted_detector_and_reset():
    det = drift.ADWIN(delta=0.01)
    assert detector_from_state(det.state_dict()).get_params()["delta"] == 0.01
    xs = gaussian(1)
    a = det.update_many(xs)
    assert det.width > 0
    det.reset()
    assert det.width == 0 and not det.drift_detected
    assert det.update_many(xs).tolist() == a.tolist()


def test_load_state_refuses_other_classes_and_bad_shapes():
    state = drift.DDM().update(1).state_dict()
    with pytest.raises(StateError, match="not tidal.drift.EDDM"):
        drift.EDDM().load_state(state)
    state["state"]["s"] = state["state"]["s"][:-1]
    with pytest.raises(StateError, match="shape"):
        drift.DDM().load_state(state)


def test_params_clone_and_set_params():
    det = drift.PageHinkley(threshold=10.0, mode="up")
    assert det.get_params() == {
        "min_instances": 30,
        "delta": 0.005,
        "threshold": 10.0,
        "alpha": 1 - 0.0001,
        "mode": "up",
    }
    det.update_many(gaussian(2))
    twin = det.clone()
    assert twin.get_params() == det.get_params() and not twin._started()
    det.set_params(threshold=5.0)  # restarts from scratch with the new value
    assert not det._started() and det.threshold == 5.0


def test_river_defaults():
    from river import drift as rdrift

    pairs = [
        (drift.ADWIN, rdrift.ADWIN),
        (drift.DDM, rdrift.binary.DDM),
        (drift.EDDM, rdrift.binary.EDDM),
        (drift.HDDM_A, rdrift.binary.HDDMA),
        (drift.HDDM_W, rdrift.binary.HDDMW),
        (drift.PageHinkley, rdrift.PageHinkley),
        (drift.KSWIN, rdrift.KSWIN),
    ]
    for ours, theirs in pairs:
        signature = inspect.signature(theirs.__init__).parameters.items()
        defaults = {k: v.default for k, v in signature if k != "self"}
        assert ours().get_params() == defaults, ours.__name__


@pytest.mark.parametrize(
    "det, message",
    [
        (drift.ADWIN(delta=2.0), "delta == 2.0, must be in (0, 1)"),
        (drift.ADWIN(clock=0), "clock == 0, must be an integer >= 1"),
        (drift.ADWIN(max_buckets=2.5), "max_buckets == 2.5, must be an integer >= 1"),
        (drift.DDM(warm_start=-1), "warm_start == -1, must be an integer >= 0"),
        (drift.DDM(drift_threshold=-3.0), "drift_threshold == -3.0, must be a finite number >= 0"),
        (drift.EDDM(alpha=0.5, beta=0.9), "alpha == 0.5 and beta == 0.9: alpha must be >= beta"),
        (drift.HDDM_A(drift_confidence=0.0), "drift_confidence == 0.0, must be in (0, 1)"),
        (drift.HDDM_W(lambda_val=1.5), "lambda_val == 1.5, must be in (0, 1]"),
        (drift.HDDM_W(two_sided_test="yes"), "two_sided_test == 'yes', must be True or False"),
        (drift.PageHinkley(mode="sideways"), "mode == 'sideways', must be one of"),
        (drift.PageHinkley(alpha=0.0), "alpha == 0.0, must be in (0, 1]"),
        (drift.KSWIN(alpha=1.5), "alpha == 1.5, must be in (0, 1)"),
        (drift.KSWIN(window_size=50), "window_size == 50, must be an integer >= 60"),
        (drift.KSWIN(seed="abc"), "seed == 'abc', must be an integer or None"),
    ],
)
def test_bad_params_name_the_param(det, message):
    with pytest.raises(ParameterError) as err:
        det.update(0.0)
    assert message in str(err.value)
    with pytest.raises(ParameterError):
        det.update_many([0.0])


@pytest.mark.parametrize("proto", DETECTORS[:8], ids=IDS[:8])
def test_nan_and_inf_rejected_before_any_change(proto):
    det = proto.clone()
    det.update_many([0.0, 1.0, 0.0])
    before = det._s.copy()
    with pytest.raises(InputError, match=r"xs\[2\] == nan") as err:
        det.update_many([0.0, 1.0, math.nan, 1.0])
    assert err.value.row == 2
    with pytest.raises(InputError, match=r"xs\[1\] == inf"):
        det.update_many(np.array([0.0, np.inf]))
    with pytest.raises(InputError, match="x == nan, expected a finite number"):
        det.update(math.nan)
    with pytest.raises(InputError, match="expected a number"):
        det.update("a")
    with pytest.raises(InputError, match="1-D"):
        det.update_many([[0.0, 1.0]])
    assert np.array_equal(det._s, before)


def test_accepts_bools_and_ints():
    bits = bernoulli(4)
    expected = drift.DDM().update_many(bits).tolist()
    det = drift.DDM()
    got = [i for i, b in enumerate(bits.astype(bool).tolist()) if det.update(b).drift_detected]
    assert got == expected
    assert drift.DDM().update_many(bits.astype(np.int64)).tolist() == expected


def test_warning_property_only_where_defined():
    assert not drift.DDM().warning_detected
    assert not hasattr(drift.ADWIN(), "warning_detected")
    assert drift.ADWIN().update_many(gaussian(3), return_warnings=True)[1].size == 0


def test_plain_python_run_gives_the_same_alarms(tmp_path):
    """NUMBA_DISABLE_JIT=1 (debugging) runs the same kernels as Python, through both paths."""
    import os
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from tests.drift._streams import bernoulli\n"
        "from tidal.drift import ADWIN, DDM\n"
        "xs = bernoulli(40, n=1500)\n"
        "out = []\n"
        "for cls in (ADWIN, DDM):\n"
        "    d = cls()\n"
        "    one = [i for i, x in enumerate(xs.tolist()) if d.update(x).drift_detected]\n"
        "    out.append([cls().update_many(xs).tolist(), one])\n"
        "json.dump(out, sys.stdout)\n"
    )
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    res = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    import json

    xs = bernoulli(40, n=1500)
    expected = [drift.ADWIN().update_many(xs).tolist(), drift.DDM().update_many(xs).tolist()]
    got = json.loads(res.stdout)
    assert [g[0] for g in got] == expected and [g[1] for g in got] == expected
    assert all(expected)
