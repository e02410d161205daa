"""FeatureDriftMonitor.state_dict / load_state: a restored monitor reports and continues exactly
as the monitor it was taken from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tidal.base import NotFittedError, StateError, read_state, save_state
from tidal.monitor import FeatureDriftMonitor

REF, WIN = 120, 70


def _frame(rng: np.random.Generator, n: int, shift: float = 0.0) -> pd.DataFrame:
    """Numeric (with NaN), string categories (with None, new ones after a shift), and integer
    codes forced categorical."""
    num = rng.normal(shift, 1.0, n)
    num[rng.random(n) < 0.1] = np.nan
    cats = ["u", "v"] if shift == 0 else ["v", "w", "z"]
    cat = rng.choice(cats, n).astype(object)
    cat[rng.random(n) < 0.1] = None
    return pd.DataFrame(
        {
            "num": num,
            "skew": rng.exponential(1.0 + shift, n),
            "cat": cat,
            "code": rng.integers(0, 3 + int(shift), n),
        }
    )


def _stream(seed: int = 0) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    sizes = [50, 45, 30, 25, 60, 90, 15, 40, 33]
    return [_frame(rng, n, shift=0.0 if k < 4 else 1.5) for k, n in enumerate(sizes)]


def _monitor(**kw: object) -> FeatureDriftMonitor:
    return FeatureDriftMonitor(REF, WIN, categorical=["code"], **kw)


def _report(mon: FeatureDriftMonitor) -> list[dict]:
    try:
        return list(mon.report())
    except NotFittedError:
        return []


def _reports(mon: FeatureDriftMonitor, blocks: list[pd.DataFrame]) -> list[list[dict]]:
    out = []
    for b in blocks:
        mon.update_many(b)
        out.append(_report(mon))
    return out


def _assert_same_state(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype
            np.testing.assert_array_equal(a[k], b[k])  # NaN == NaN here
        else:
            assert a[k] == b[k], k


# cut after 1 block (reference not full), 3 (reference full, window partly), 6 (window wrapped)
@pytest.mark.parametrize("cut", [1, 2, 3, 6])
def test_roundtrip_mid_stream_continues_identically(cut, tmp_path):
    blocks = _stream()
    straight = _monitor()
    expected = _reports(straight, blocks)

    first = _monitor()
    _reports(first, blocks[:cut])
    state = first.state_dict()
    path = save_state(state, tmp_path / "monitor.npz")  # arrays + JSON, no pickle
    restored = _monitor().load_state(read_state(path))
    assert restored.n_seen == first.n_seen and restored.kinds == first.kinds
    assert _report(restored) == _report(first) == expected[cut - 1]
    got = _reports(restored, blocks[cut:])
    assert got == expected[cut:]
    assert "num" in {r["feature"] for r in got[-1] if r["drifted"]}
    assert {r["feature"] for r in got[-1]} == {"num", "skew", "cat", "code"}
    # same windows, counters and category codes (new categories met after the restore too)
    _assert_same_state(restored.state_dict(), straight.state_dict())
    # the state is a copy: the monitor learning more does not change a state already taken
    _reports(first, blocks[cut:])
    _assert_same_state(state, read_state(path))


def test_restored_state_is_what_matters():
    # a fresh monitor fed the same continuation does not give the same reports
    blocks = _stream()
    expected = _reports(_monitor(), blocks)
    fresh = _reports(_monitor(), blocks[3:])
    assert fresh != expected[3:]


def test_empty_monitor_roundtrip():
    state = _monitor().state_dict()
    assert state["feature_names"] is None
    mon = _monitor().load_state(state)
    blocks = _stream()
    assert _reports(mon, blocks) == _reports(_monitor(), blocks)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reference_size": 100}, "reference_size == 120 in the state, 100 here"),
        ({"window_size": 71}, "window_size == 70 in the state, 71 here"),
        ({"n_bins": 5}, "n_bins == 10 in the state, 5 here"),
        ({"alpha": 0.05}, "alpha == 0.01 in the state, 0.05 here"),
        ({"psi_threshold": 0.1}, "psi_threshold"),
        ({"wasserstein_threshold": 0.5}, "wasserstein_threshold"),
        ({"categorical": None}, r"categorical == \['code'\] in the state, \[\] here"),
    ],
)
def test_state_from_other_settings_is_refused(kwargs, match):
    src = _monitor()
    src.update_many(_stream()[0])
    params = {"reference_size": REF, "window_size": WIN, "categorical": ["code"]} | kwargs
    dst = FeatureDriftMonitor(**params)
    with pytest.raises(StateError, match=match):
        dst.load_state(src.state_dict())
    assert dst.n_seen == 0 and dst.feature_names is None  # unchanged


def test_state_with_other_features_is_refused_and_changes_nothing():
    src = _monitor()
    src.update_many(_stream()[0])
    other = _monitor()
    rng = np.random.default_rng(9)
    other.update_many(pd.DataFrame({"x": rng.normal(size=200), "code": rng.integers(0, 3, 200)}))
    before = other.report()
    with pytest.raises(StateError, match=r"features \['cat', 'code', 'num', 'skew'\] differ"):
        other.load_state(src.state_dict())
    assert other.report() == before and other.n_seen == 200


def test_malformed_states_are_refused_with_a_clear_error():
    src = _monitor()
    src.update_many(_stream()[0])
    good = src.state_dict()
    with pytest.raises(StateError, match="expected format 'tidal.feature_drift_monitor'"):
        _monitor().load_state({"format": "tidal.state"})
    with pytest.raises(StateError, match="version 2 is not supported"):
        _monitor().load_state(good | {"format_version": 2})
    with pytest.raises(StateError, match=r"shapes \(120, 3\) and \(70, 4\), expected"):
        _monitor().load_state(good | {"reference": good["reference"][:, :3]})
    with pytest.raises(StateError, match="counters are inconsistent"):
        _monitor().load_state(good | {"n_reference": REF + 1})
    with pytest.raises(StateError, match="categories for"):
        _monitor().load_state(good | {"categories": {}})
    with pytest.raises(StateError, match="malformed"):
        _monitor().load_state({k: v for k, v in good.items() if k != "pos"})


def test_categories_that_json_cannot_hold_are_refused_at_save():
    mon = FeatureDriftMonitor(2, 2)
    mon.update_many({"t": np.array([b"u", b"v", b"u"])})
    with pytest.raises(StateError, match=r"feature 't': category b'u' \(bytes\) cannot be stored"):
        mon.state_dict()
