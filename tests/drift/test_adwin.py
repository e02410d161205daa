"""ADWIN against River 0.26.1, value by value: the pending buffer of ``update(x)`` (values wait
for the next cut check) and the shortcuts of the cut check must never show.

Equality is exact: tidal computes every number River computes with the same floating-point
operations, so widths, totals and variances are compared with ``==``.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from numba import njit
from river import drift as rdrift

from tests.drift._streams import bernoulli, gaussian
from tidal import drift
from tidal._kernels.drift_adwin import adwin_reset, adwin_state_size, adwin_update
from tidal.drift import detector_from_state

PARAMS = [
    {},
    {"clock": 7},
    {"clock": 1},
    {"clock": 5, "grace_period": 0, "min_window_length": 1},
    {"delta": 0.1, "max_buckets": 2, "min_window_length": 10},
    {"clock": 13, "grace_period": 100, "max_buckets": 2},
    {"delta": 0.5, "max_buckets": 4, "clock": 3},
]


def mixed_stream(seed: int, n: int = 4000) -> np.ndarray:
    """Gaussian shifts, then error bits: both kinds of signal in one window's life."""
    return np.concatenate(
        [gaussian(seed, n=n // 2, at=(n // 6, n // 3)), bernoulli(seed, n=n // 2)]
    )


def river_run(params: dict, xs: np.ndarray) -> tuple[list[int], list[tuple]]:
    """River's alarms and its (width, total, variance) after every update."""
    det = rdrift.ADWIN(**params)
    alarms, stats = [], []
    for i, x in enumerate(xs.tolist()):
        det.update(x)
        if det.drift_detected:
            alarms.append(i)
        stats.append((det.width, det.total, det.variance))
    return alarms, stats


@pytest.mark.parametrize("params", PARAMS, ids=str)
def test_reads_at_any_update_match_river(params):
    """Reading the window between cut checks runs the pending values first."""
    xs = mixed_stream(1)
    expected_alarms, expected_stats = river_run(params, xs)
    rng = np.random.default_rng(2)
    ours = drift.ADWIN(**params)
    alarms, reads, reads_with_pending = [], 0, 0
    for i, x in enumerate(xs.tolist()):
        ours.update(x)
        if ours.drift_detected:
            alarms.append(i)
        if rng.random() < 0.1:
            reads += 1
            reads_with_pending += ours._n_pending > 0
            width, total, variance = expected_stats[i]
            assert (ours.width, ours.total, ours.variance) == (width, total, variance), i
            assert ours.estimation == (total / width if width else 0.0)
            assert ours._n_pending == 0  # the read ran them
    assert alarms == expected_alarms
    assert len(expected_alarms) >= 2
    if params.get("clock", 32) > 1:
        assert reads_with_pending > reads // 2  # the reads did find values waiting


@pytest.mark.parametrize("params", PARAMS, ids=str)
def test_array_form_and_mixed_calls_match_river(params):
    xs = mixed_stream(3)
    expected_alarms, expected_stats = river_run(params, xs)
    whole = drift.ADWIN(**params)
    assert whole.update_many(xs).tolist() == expected_alarms
    # blocks of random sizes, alternately through update_many and update(x)
    mixed = drift.ADWIN(**params)
    rng = np.random.default_rng(4)
    alarms, start, one_by_one = [], 0, False
    while start < xs.shape[0]:
        stop = min(start + int(rng.integers(1, 80)), xs.shape[0])
        if one_by_one:
            for i in range(start, stop):
                if mixed.update(float(xs[i])).drift_detected:
                    alarms.append(i)
        else:
            alarms += (mixed.update_many(xs[start:stop]) + start).tolist()
        assert mixed.drift_detected == (stop - 1 in expected_alarms)
        start, one_by_one = stop, not one_by_one
    assert alarms == expected_alarms
    for det in (whole, mixed):
        assert (det.width, det.total, det.variance) == expected_stats[-1]
    assert np.array_equal(whole._s, mixed._s)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e-5, 1e5, 1e150])
def test_extreme_scales_match_river(scale):
    """The cut check's division-free shortcut must not misjudge tiny or huge values."""
    xs = gaussian(5, n=3000) * scale
    expected_alarms, expected_stats = river_run({}, xs)
    ours = drift.ADWIN()
    assert ours.update_many(xs).tolist() == expected_alarms
    assert (ours.width, ours.total, ours.variance) == expected_stats[-1]
    # ADWIN's threshold has a term in 1/n that does not scale: small values never cut
    assert bool(expected_alarms) == (scale > 1.0)


def test_constant_and_stepped_streams_match_river():
    xs = np.concatenate([np.full(700, 0.25), np.full(700, 3.0), np.zeros(300), np.full(500, -1e3)])
    expected_alarms, expected_stats = river_run({"clock": 3}, xs)
    ours = drift.ADWIN(clock=3)
    alarms = [i for i, x in enumerate(xs.tolist()) if ours.update(x).drift_detected]
    assert alarms == expected_alarms and len(alarms) >= 3
    assert (ours.width, ours.total, ours.variance) == expected_stats[-1]


def test_state_round_trip_with_values_pending():
    xs = mixed_stream(6)
    expected_alarms, expected_stats = river_run({}, xs)
    cut = 1105  # not a multiple of clock: values are pending
    det = drift.ADWIN()
    for x in xs[:cut].tolist():
        det.update(x)
    assert det._n_pending > 0
    restored = detector_from_state(det.state_dict())
    twins = [restored, pickle.loads(pickle.dumps(det)), copy.deepcopy(det)]
    assert det._n_pending == 0  # state_dict ran them
    for twin in twins:
        assert (twin.width, twin.total, twin.variance) == expected_stats[cut - 1]
    rest = [i for i, x in enumerate(xs[cut:].tolist(), cut) if det.update(x).drift_detected]
    assert [a for a in expected_alarms if a < cut] + rest == expected_alarms
    for twin in twins:
        got = [i for i, x in enumerate(xs[cut:].tolist(), cut) if twin.update(x).drift_detected]
        assert got == rest
        assert np.array_equal(twin._s, det._s)
    pickled_mid_buffer = pickle.loads(pickle.dumps(drift.ADWIN().update(1.0).update(2.0)))
    assert (pickled_mid_buffer.width, pickled_mid_buffer.total) == (2, 3.0)


def test_drift_flag_lasts_one_update_and_reset_drops_pending():
    xs = mixed_stream(7)
    expected_alarms, _ = river_run({}, xs)
    det = drift.ADWIN()
    first = expected_alarms[0]
    for x in xs[: first + 1].tolist():
        det.update(x)
    assert det.drift_detected
    assert det.drift_detected  # reading does not change it
    det.update(float(xs[first + 1]))
    assert not det.drift_detected
    det.update(1.0)
    assert det._n_pending > 0
    det.reset()
    assert not det.drift_detected and det.width == 0
    assert det.update_many(xs).tolist() == expected_alarms
    det.set_params(clock=32)  # restarts from scratch
    assert not det.drift_detected and det.width == 0


def test_one_by_one_inside_another_kernel_gives_the_same_state():
    """``adwin_update`` (called by the tree and forest kernels) and the array form agree."""

    @njit
    def feed(p, s, xs):
        alarms = []
        for i in range(xs.shape[0]):
            if adwin_update(p, s, xs[i]):
                alarms.append(i)
        return alarms

    for params in PARAMS:
        xs = mixed_stream(8)
        det = drift.ADWIN(**params)
        p = det._param_array()
        s = np.zeros(adwin_state_size(int(p[2])))
        adwin_reset(s)
        assert list(feed(p, s, xs)) == det.update_many(xs).tolist()
        assert np.array_equal(s, det._s)


def test_update_rejects_what_is_not_a_finite_number():
    det = drift.ADWIN().update(1.0)
    before = det._s.copy()
    for bad, message in [(None, "expected a number"), (10**400, "expected a finite number")]:
        with pytest.raises(drift.base.InputError, match=message):
            det.update(bad)
    assert np.array_equal(det._s, before) and det.width == 1


def test_max_buckets_1_keeps_a_consistent_window():
    """River 0.26.1 fails here (a Rust panic once a deletion empties the top level above an
    empty one); tidal drops the empty levels and its window stays consistent."""
    xs = mixed_stream(1)
    with pytest.raises(BaseException, match="slice index"):
        river_run({"max_buckets": 1}, xs)
    det = drift.ADWIN(max_buckets=1)
    assert det.update_many(xs).size >= 2
    s = det._s
    counts = s[11 : 11 + 64]
    totals = s[11 + 64 : 11 + 64 + 64 * 2].reshape(64, 2)
    assert sum(int(c) * 2**i for i, c in enumerate(counts)) == det.width
    assert np.sum(totals) == pytest.approx(det.total, abs=1e-6)
    assert counts.min() >= 0 and counts[int(s[10]) - 1] > 0


def test_a_large_clock_keeps_few_values_pending():
    xs = mixed_stream(9, n=12_000)
    params = {"clock": 5000}
    expected_alarms, expected_stats = river_run(params, xs)
    det = drift.ADWIN(**params)
    alarms, most_pending = [], 0
    for i, x in enumerate(xs.tolist()):
        if det.update(x).drift_detected:
            alarms.append(i)
        most_pending = max(most_pending, det._n_pending)
    assert alarms == expected_alarms and alarms
    assert most_pending <= 4096
    assert (det.width, det.total, det.variance) == expected_stats[-1]
