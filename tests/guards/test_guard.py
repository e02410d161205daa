import numpy as np
import pandas as pd
import pytest

from tidal.base import ParameterError
from tidal.guards import (
    FLAGGED,
    PASS,
    QUARANTINED,
    REPAIRED,
    DuplicateId,
    Guard,
    InvalidLabel,
    LabelBurst,
    Missing,
    Outlier,
    OutOfRange,
    RejectBurst,
    Schema,
    TimestampOrder,
    UnseenCategory,
    WrongType,
    default_rules,
)
from tidal.stream import Block


@pytest.fixture
def schema():
    rng = np.random.default_rng(1)
    sample = pd.DataFrame(
        {
            "x": rng.normal(0.0, 1.0, 400),
            "c": rng.choice(["a", "b"], 400, p=[0.7, 0.3]),
            "id": np.arange(400),
            "t": np.arange(400.0),
            "y": rng.integers(0, 2, 400),
        }
    )
    return Schema.infer(sample, "y", id_column="id", timestamp_column="t")


def frame(**cols):
    n = len(next(iter(cols.values())))
    base = {"x": [0.0] * n, "c": ["a"] * n, "y": [0] * n}
    base.update(cols)
    return pd.DataFrame(base)


def test_default_rules_quarantine_with_reasons(schema):
    g = Guard(schema)
    res = g.check(
        frame(
            x=[0.5, None, "abc", 1e9, 0.1, 0.2],
            c=["a", "a", "a", "a", "zzz", "b"],
            y=[1, 0, 0, 0, 0, "maybe"],
        )
    )
    assert res.verdict.tolist() == [PASS] + [QUARANTINED] * 5
    assert res.rules == [
        "",
        "missing",
        "wrong_type",
        "out_of_range",
        "unseen_category",
        "invalid_label",
    ]
    assert "x == 'abc' is not a number" in res.reasons[2]
    assert "c == 'zzz'" in res.reasons[4]
    assert res.learn.tolist() == [True, False, False, False, False, False]
    assert res.counters["missing"] == 1 and res.counters["wrong_type"] == 1
    assert g.counters["out_of_range"] == 1


def test_repair_policies(schema):
    rules = [
        Missing(policy="repair"),
        WrongType(policy="repair"),
        UnseenCategory(policy="repair"),
        OutOfRange(policy="repair"),
    ]
    g = Guard(schema, rules=rules)
    res = g.check(frame(x=[None, "abc", 1e9, 0.3], c=["a", "b", "a", "zzz"]))
    assert res.verdict.tolist() == [REPAIRED] * 4
    center = schema.column("x").center
    assert res.X[0, 0] == center and res.X[1, 0] == center
    hi = float(res.reasons[2].split(", ")[-1].rstrip("]"))
    assert res.X[2, 0] == pytest.approx(hi, rel=1e-5)  # clipped to the bound of that moment
    assert res.X[3, 1] == 0.0  # mapped to the most frequent category, "a"
    assert res.learn.all()


def test_flag_policy_keeps_row_but_not_learnable_with_nan(schema):
    g = Guard(schema, rules=[Missing(policy="flag")])
    res = g.check(frame(x=[None, 0.2]))
    assert res.verdict.tolist() == [FLAGGED, PASS]
    assert res.learn.tolist() == [False, True]


def test_nullable_columns_pass_missing(schema):
    schema.column("x").nullable = True
    res = Guard(schema, rules=[Missing()]).check(frame(x=[None, 0.2]))
    assert res.verdict.tolist() == [PASS, PASS]


@pytest.mark.parametrize(
    "rule, match",
    [
        (
            OutOfRange(bounds={"x": (3.0, 1.0)}),
            r"out_of_range: bounds\['x'\] == \(3.0, 1.0\): low > high",
        ),
        (OutOfRange(bounds={"nope": (0, 1)}), r"out_of_range: bounds\['nope'\]"),
        (InvalidLabel(policy="repair"), "invalid_label: policy == 'repair'"),
        (OutOfRange(k=-1), "out_of_range: k == -1"),
        (LabelBurst(alpha_fast=0.001, alpha_slow=0.01), "label_burst: alpha_slow"),
        (TimestampOrder(tolerance=-1), "timestamp: tolerance == -1"),
    ],
)
def test_bad_rule_params_name_rule_and_field(schema, rule, match):
    with pytest.raises(ParameterError, match=match):
        Guard(schema, rules=[rule])


def test_schema_min_greater_than_max_is_an_error(schema):
    schema.column("x").min, schema.column("x").max = 2.0, 1.0
    with pytest.raises(ParameterError, match="out_of_range: schema column 'x': min 2.0 > max 1.0"):
        Guard(schema)


def test_fixed_bounds_from_schema_and_rule(schema):
    schema.column("x").min = -0.5
    # a column with a fixed bound is checked against it only: 50 is far out for robust bounds
    res = Guard(schema, rules=[OutOfRange()]).check(frame(x=[-0.6, -0.4, 50.0]))
    assert res.verdict.tolist() == [QUARANTINED, PASS, PASS]
    schema.column("x").min = None
    res = Guard(schema, rules=[OutOfRange()]).check(frame(x=[-0.6, -0.4, 50.0]))
    assert res.verdict.tolist() == [PASS, PASS, QUARANTINED]
    res = Guard(schema, rules=[OutOfRange(bounds={"x": (None, 1.0)}, growing=False)]).check(
        frame(x=[-0.6, 1.5])
    )
    assert res.verdict.tolist() == [PASS, QUARANTINED]


def test_growing_bounds_follow_a_legit_walk_but_not_a_jump():
    sample = pd.DataFrame({"v": np.full(100, 0.4), "y": [0, 1] * 50})
    schema = Schema.infer(sample, "y")  # constant column: scale floored at 0.04
    g = Guard(schema, rules=[OutOfRange()])
    walk = 0.4 + np.cumsum(np.full(300, 0.01))  # drifts to 3.4, far beyond 0.4 +- 0.4
    res = g.check(pd.DataFrame({"v": walk, "y": 0}))
    assert res.verdict.tolist() == [PASS] * 300
    jump = g.check(pd.DataFrame({"v": [300.0], "y": [0]}))
    assert jump.verdict.tolist() == [QUARANTINED]


def test_rejected_rows_do_not_move_bounds():
    schema = Schema.infer(pd.DataFrame({"v": np.full(50, 1.0)}))
    g = Guard(schema, rules=[Missing(), OutOfRange()])
    g.check(pd.DataFrame({"v": [1.9] * 20}))  # out of [0, 2]? no: 1.9 is inside; moves hi
    hi = g.rules[1].hi.copy()
    g.check(pd.DataFrame({"v": [100.0, 200.0]}))
    assert np.array_equal(g.rules[1].hi, hi)


def test_duplicate_ids_within_and_across_blocks(schema):
    g = Guard(schema, rules=[Missing(), DuplicateId()])
    res = g.check(frame(id=[1, 2, 1, 3], x=[0.0, 0.0, 0.0, None]))
    assert res.verdict.tolist() == [PASS, PASS, QUARANTINED, QUARANTINED]
    assert res.rules[2] == "duplicate_id"
    # id 3 was quarantined (missing x): it was never accepted, so it is not a duplicate now
    res = g.check(frame(id=[3, 2]))
    assert res.verdict.tolist() == [PASS, QUARANTINED]


def test_duplicate_id_memory_is_bounded(schema):
    g = Guard(schema, rules=[DuplicateId(max_ids=2)])
    g.check(frame(id=[1, 2, 3]))
    assert g.check(frame(id=[1, 3])).verdict.tolist() == [PASS, QUARANTINED]


def test_timestamps_backwards_tolerance_and_unreadable(schema):
    g = Guard(schema, rules=[TimestampOrder(tolerance=5.0)])
    res = g.check(frame(t=[100.0, 110.0, 106.0, 104.0, 111.0]))
    assert res.verdict.tolist() == [PASS, PASS, PASS, QUARANTINED, PASS]
    g = Guard(schema, rules=[TimestampOrder()])
    res = g.check(frame(t=["2024-01-01T00:00:00", "2024-01-02", "2023-12-31", "not a time"]))
    assert res.verdict.tolist() == [PASS, PASS, QUARANTINED, QUARANTINED]
    assert "goes backwards" in res.reasons[2] and "is not a time" in res.reasons[3]


def test_timestamps_too_old(schema):
    g = Guard(schema, rules=[TimestampOrder(max_age=3600)])
    now = pd.Timestamp.now(tz="UTC")
    res = g.check(frame(t=[str(now - pd.Timedelta(hours=2)), str(now)]))
    assert res.verdict.tolist() == [QUARANTINED, PASS]
    assert "older than" in res.reasons[0]


def test_outlier_score_flags(schema):
    g = Guard(schema, rules=[Outlier(threshold=6.0)])
    scale = schema.column("x").scale
    res = g.check(frame(x=[0.0, 7.0 * scale, 3.0 * scale]))
    assert res.verdict.tolist() == [PASS, FLAGGED, PASS]
    assert res.score[1] == pytest.approx(
        abs(7.0 * scale - schema.column("x").center) / scale, rel=1e-2
    )


def test_reject_burst_pauses_only_that_source(schema):
    g = Guard(schema, rules=[Missing(), RejectBurst(warmup=50)])
    ok = frame(x=np.zeros(300))
    g.check(ok, source="a")
    g.check(ok, source="b")
    res = g.check(frame(x=[None] * 200), source="a")
    assert not res.paused[:10].any() and res.paused[50:].all()
    assert g.learning_paused
    res = g.check(frame(x=np.zeros(20)), source="a")
    assert res.paused.all()  # the alarm outlasts the burst a little: these rows are not learned
    assert not res.learn.any()
    res_b = g.check(ok, source="b")
    assert not res_b.paused.any()
    res = g.check(frame(x=np.zeros(1000)), source="a")
    assert not res.paused[-100:].any()  # and ends once the rate is back to normal


def test_label_burst_pauses_learning_and_release(schema):
    g = Guard(schema, rules=[LabelBurst(warmup=100, max_duration=10_000)])
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 3000)
    preds = y.copy()
    noise = rng.random(3000) < 0.1
    preds[noise] = 1 - preds[noise]
    y_obs = y.copy()
    y_obs[1000:1500] = 1 - y_obs[1000:1500]  # a burst of flipped labels
    res = g.check(frame(y=y_obs, x=np.zeros(3000)), predictions=preds)
    assert not res.paused[:1000].any()
    assert res.paused[1080:1500].all()
    assert not res.paused[1700:].any()
    assert not res.learn[1080:1500].any() and res.learn[1700:].all()


def test_label_burst_becomes_new_normal_after_max_duration(schema):
    g = Guard(schema, rules=[LabelBurst(warmup=100, max_duration=300)])
    y = np.zeros(2000, dtype=int)
    preds = np.zeros(2000, dtype=int)
    y[1000:] = 1  # a lasting change, not a burst
    res = g.check(frame(y=y, x=np.zeros(2000)), predictions=preds)
    assert res.paused[1100:1300].all()
    assert not res.paused[1500:].any()


def _rows(n, seed=3):
    """A dirty stream: scattered bad values, a burst of missing values at rows 300-400 and a
    burst of labels that disagree with the predictions at rows 700-900."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, n).astype(object)
    x[rng.random(n) < 0.05] = None
    x[rng.random(n) < 0.03] = 1e6
    x[rng.random(n) < 0.02] = "bad"
    x[300:400] = None
    ids = np.arange(n)
    dup = np.flatnonzero(rng.random(n) < 0.03)
    ids[dup] = rng.integers(0, n, len(dup))
    y = rng.integers(0, 2, n).astype(object)
    preds = np.where(rng.random(n) < 0.9, y, 1 - y).astype(int)
    preds[700:900] = 1 - y[700:900]
    y[rng.random(n) < 0.02] = 9
    t = 10.0 * np.arange(n)
    t[rng.random(n) < 0.02] -= 100.0
    c = rng.choice(["a", "b", "q"], n, p=[0.6, 0.35, 0.05])
    return pd.DataFrame({"x": x, "c": c, "id": ids, "t": t, "y": y}), preds


def _all_rules():
    # every default rule, with bursts that can fire within a short test stream
    sensitive = [RejectBurst(warmup=20), LabelBurst(warmup=20)]
    return [*default_rules()[:8], *sensitive]


def test_block_size_one_equals_one_block(schema):
    df, preds = _rows(1500)
    whole = Guard(schema, rules=_all_rules())
    res = whole.check(df, predictions=preds)
    single = Guard(schema, rules=_all_rules())
    verdicts, reasons, X = [], [], []
    for i in range(len(df)):
        r = single.check(df.iloc[i : i + 1], predictions=preds[i : i + 1])
        verdicts.append(int(r.verdict[0]))
        reasons.append(r.reasons[0])
        X.append(r.X[0])
    assert verdicts == res.verdict.tolist()
    assert reasons == res.reasons
    np.testing.assert_array_equal(np.array(X), res.X)
    assert single.counters == whole.counters
    assert (res.verdict == QUARANTINED).sum() > 100
    assert res.counters["reject_burst"] > 0 and res.counters["label_burst"] > 0


def test_block_input_uses_schema_names(schema):
    block = Block(
        np.array([[0.1, 0.0], [0.2, 1.0], [np.nan, 0.0]]),
        ("x", "c"),
        categories={"c": ["b", "a"]},
        y=np.array([1, 0, 1]),
        ids=np.array([7, 8, 9]),
        timestamps=np.array([1.0, 2.0, 3.0]),
        target="y",
    )
    res = Guard(schema).check(block)
    assert res.verdict.tolist() == [PASS, PASS, QUARANTINED]
    # codes follow the schema's categories ("a" first), not the block's
    assert res.X[:2, 1].tolist() == [1.0, 0.0]
    learn = res.block()
    assert len(learn) == 2 and learn.y.tolist() == [1, 0]


def test_records_and_dict_inputs(schema):
    g = Guard(schema)
    res = g.check([{"x": 0.1, "c": "a", "y": 1}, {"x": "NaN?", "c": "b", "y": 0}])
    assert res.verdict.tolist() == [PASS, QUARANTINED]
    assert res.records() == [{"x": "NaN?", "c": "b", "y": 0}]


def test_labels_compare_by_value(schema):
    res = Guard(schema, rules=[InvalidLabel()]).check(frame(y=["1", 1.0, True, "0", 2]))
    assert res.verdict.tolist() == [PASS, PASS, PASS, PASS, QUARANTINED]
    assert res.y[:4].tolist() == [1, 1, 1, 0]


def test_state_roundtrip_mid_stream_continues_identically(schema, tmp_path):
    from tidal.base import read_state, save_state

    df, preds = _rows(1200, seed=5)

    straight = Guard(schema, rules=_all_rules())
    straight.check(df.iloc[:600], predictions=preds[:600], source="s")
    expected = straight.check(df.iloc[600:], predictions=preds[600:], source="s")

    first = Guard(schema, rules=_all_rules())
    first.check(df.iloc[:600], predictions=preds[:600], source="s")
    path = save_state(first.state_dict(), tmp_path / "guard.npz")
    restored = Guard(schema, rules=_all_rules()).load_state(read_state(path))
    got = restored.check(df.iloc[600:], predictions=preds[600:], source="s")
    assert got.verdict.tolist() == expected.verdict.tolist()
    assert got.reasons == expected.reasons
    assert restored.counters == straight.counters
    # and a fresh guard does not give the same verdicts (the state matters)
    fresh = Guard(schema, rules=_all_rules()).check(
        df.iloc[600:], predictions=preds[600:], source="s"
    )
    assert fresh.reasons != expected.reasons


def test_load_state_rejects_other_rules_or_schema(schema):
    from tidal.base import StateError

    state = Guard(schema).state_dict()
    with pytest.raises(StateError, match="the state has rules"):
        Guard(schema, rules=[Missing()]).load_state(state)
    other = Schema.infer(pd.DataFrame({"z": [1.0, 2.0]}))
    with pytest.raises(StateError, match="another schema"):
        Guard(other).load_state(state)
    with pytest.raises(StateError, match="not a guard state"):
        Guard(schema).load_state({"format": "tidal.state"})


def test_edge_blocks_empty_missing_column_no_label(schema):
    g = Guard(schema)
    empty = g.check(pd.DataFrame({"x": [], "c": [], "y": []}))
    assert len(empty) == 0 and empty.X.shape == (0, 2)
    res = g.check(pd.DataFrame({"x": [1.0], "y": [1]}))  # column c absent: missing
    assert res.rules == ["missing"]
    res = g.check(pd.DataFrame({"x": [0.1], "c": ["a"]}))  # no label yet: passes, not learned
    assert res.verdict.tolist() == [PASS]
    assert res.learn.dtype == bool and res.learn.tolist() == [False]
