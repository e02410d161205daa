"""Guards end to end: nothing rejected is lost, types are decided, bursts are caught for every
learner, replay only lets learnable rows out."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tidal import datasets, zoo
from tidal.base import InputError
from tidal.cli._app import app
from tidal.evaluate import prequential
from tidal.guards import Guard, Quarantine, Schema
from tidal.stream import from_frame, read_csv

runner = CliRunner()


def _frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": y})


@pytest.fixture
def dirty_csv(tmp_path):
    """A CSV whose first rows are clean; later rows hold a NaN, a text cell and a bad label."""
    df = _frame(3_000).astype(object)
    df.iat[2_000, 0] = np.nan
    df.iat[2_100, 1] = "#REF!"  # a text cell well after the first rows
    df.iat[2_200, 3] = 7
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    return path


def test_readme_flow_keeps_and_lists_rejected_rows(dirty_csv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    schema = tmp_path / "schema.json"
    res = runner.invoke(
        app, ["schema", "infer", str(dirty_csv), "--target", "y", "--n-rows", "1000"]
    )
    assert res.exit_code == 0, res.output
    schema.write_text(res.output)
    res = runner.invoke(
        app, ["compare", str(dirty_csv), "--target", "y", "--schema", str(schema), "-m", "lr"]
    )
    assert res.exit_code == 0, res.output
    assert "3 rejected rows kept in .tidal/quarantine.sqlite" in res.output
    listed = runner.invoke(app, ["quarantine", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert sorted((r["row"], r["rule"]) for r in rows) == [
        (2000, "missing"),
        (2100, "wrong_type"),
        (2200, "invalid_label"),
    ]


def test_schema_without_target_or_missing_a_feature_is_an_error(dirty_csv, tmp_path):
    df = _frame(100)
    no_target = tmp_path / "nt.json"
    Schema.infer(df.drop(columns="y")).to_json(no_target)
    res = runner.invoke(app, ["compare", str(dirty_csv), "-t", "y", "--schema", str(no_target)])
    assert res.exit_code == 2 and "no target" in res.output and "--target y" in res.output
    short = tmp_path / "short.json"
    Schema.infer(df.drop(columns="c"), "y").to_json(short)
    res = runner.invoke(app, ["compare", str(dirty_csv), "-t", "y", "--schema", str(short)])
    assert res.exit_code == 2 and "['c']" in res.output


def test_a_late_text_cell_does_not_abort_a_guarded_run(tmp_path):
    # far beyond the reader's first block (about 1 MB), where the types were decided
    df = _frame(60_000).astype(object)
    df.iat[55_000, 2] = "n/a?"
    path = tmp_path / "late.csv"
    df.to_csv(path, index=False)
    schema = tmp_path / "s.json"
    Schema.infer(_frame(1_000), "y").to_json(schema)
    q = tmp_path / "q.sqlite"
    args = ["compare", str(path), "-t", "y", "--schema", str(schema), "--quarantine", str(q)]
    res = runner.invoke(app, [*args, "-m", "nb", "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    out = json.loads((tmp_path / "r.json").read_text())
    assert out["results"][0]["rows"] == 59_999 and out["meta"]["guard"]["rules"]["wrong_type"] == 1
    (row,) = Quarantine(q).list()
    assert (row["row"], row["rule"]) == (55_000, "wrong_type")
    assert Quarantine(q).show(row["id"])["record"]["c"] == "n/a?"


def test_a_few_text_cells_make_bad_cells_not_a_categorical_column(tmp_path):
    df = _frame(500).astype(object)
    df.iat[10, 0] = "abc"
    path = tmp_path / "early.csv"
    df.to_csv(path, index=False)
    src = read_csv(path, target="y")
    assert src.feature_names == ("a", "b", "c")
    with pytest.raises(InputError, match=r"column 'a' row 10: expected a number, got 'abc'"):
        list(src)
    kept = next(iter(read_csv(path, target="y", keep_bad=True)))
    assert kept.bad == {10: {"a": "abc"}} and np.isnan(kept.X[10, 0]) and not kept.categories


def test_a_nan_row_is_not_marked_replayed(tmp_path):
    schema = Schema.infer({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}, "y")
    q = Quarantine(tmp_path / "q.sqlite")
    Guard(schema, quarantine=q).check({"x": [None, 2.0], "y": [1, 9]})
    schema.column("x").nullable = True  # the missing-value rule no longer rejects it...
    schema.target.classes.append(9)
    out = q.replay(Guard(schema))
    # ...but no learner can take a NaN: it stays, with a reason; the fixed label leaves
    assert out.ids == [2]
    left = q.list(status="quarantined")
    assert [r["id"] for r in left] == [1] and "still missing: x" in left[0]["reason"]
    q.fix(1, {"x": 1.5})
    assert q.replay(Guard(schema)).ids == [1]
    assert q.replay(Guard(schema)).ids == []  # replayed once, never twice


def _flipped(name: str, start: int, n: int = 1_000) -> tuple[pd.DataFrame, Schema]:
    src = getattr(datasets, name)()
    X, y = src.arrays()
    d = pd.DataFrame(X, columns=list(src.feature_names))
    d["y"] = np.asarray(y).astype(int)
    schema = Schema.infer(d.iloc[:5_000], "y")
    d.loc[start : start + n - 1, "y"] = 1 - d.loc[start : start + n - 1, "y"]
    return d, schema


def test_a_burst_with_arf_alone_is_caught_and_arf_rolled_back():
    d, schema = _flipped("weather", 9_000)
    arf = zoo.make("arf:n_models=3")
    res = prequential(from_frame(d, target="y"), {"arf": arf}, guard=Guard(schema))
    bursts = res.meta["guard"]["bursts"]
    assert len(bursts) == 1
    b = bursts[0]
    assert 8_950 <= b["start"] <= 9_050 and 9_950 <= b["end"] <= 10_100
    assert b["alarm"] - b["start"] < 300
    # the rows inside the burst are scored but left out of the normal-rows score
    assert res.rows[0]["excluded_burst"] == b["end"] - b["start"]
    # the estimated start (padded) lies before the piece the alarm came in: arf rolled back
    assert b["rolled_back"] == 1 and b["restored_to"] <= b["start"]


def test_rollback_restores_learners_to_before_the_burst():
    d, schema = _flipped("weather", 9_000)
    lr = zoo.make("lr")
    # small pieces: the alarm comes in a later piece than the burst's start
    res = prequential(from_frame(d, target="y"), {"lr": lr}, guard=Guard(schema), every=50)
    b = res.meta["guard"]["bursts"][0]
    assert b["rolled_back"] == 1 and b["restored_to"] <= b["start"]
    clean = zoo.make("lr")
    mask = np.ones(len(d), bool)
    mask[b["start"] : b["end"]] = False
    ref = prequential(from_frame(d[mask], target="y"), {"lr": clean}, every=50)
    # learning every row but the burst's: the same model, up to the rows learned in a
    # different order after the alarm's end
    assert abs(res.rows[0]["Accuracy_normal"] - ref.rows[0]["Accuracy"]) < 0.01


def test_no_false_alarm_on_clean_elec2():
    d, schema = _flipped("elec2", 0, n=0)
    res = prequential(from_frame(d, target="y"), {"nb": zoo.make("nb")}, guard=Guard(schema))
    assert res.meta["guard"]["bursts"] == []


def test_the_report_shows_the_guards(dirty_csv, tmp_path):
    schema = tmp_path / "s.json"
    Schema.infer(pd.read_csv(dirty_csv).iloc[:1_000], "y").to_json(schema)
    report = tmp_path / "r.html"
    args = ["compare", str(dirty_csv), "-t", "y", "--schema", str(schema), "-m", "nb"]
    res = runner.invoke(
        app, [*args, "--quarantine", str(tmp_path / "q.sqlite")] + ["--report", str(report)]
    )
    assert res.exit_code == 0, res.output
    text = report.read_text()
    section = text[text.index("<h2>Guards and drift</h2>") :]
    # quarantined cells per rule and column, then the scores without excluded rows
    assert "<td>wrong_type</td><td>b</td><td>1</td>" in section
    assert "<td>missing</td><td>a</td><td>1</td>" in section
    assert "No label burst detected." in section and "on rows learned normally" in section


def test_schema_inference_keeps_a_column_with_a_few_text_cells_numeric():
    df = _frame(1_000).astype(object)
    df.iat[300, 1] = "bad"
    schema = Schema.infer(df, "y")
    assert schema.column("b").kind == "numeric"
    assert Guard(schema).check(df.iloc[299:302]).rules == ["", "wrong_type", ""]


def test_fix_then_replay_into_a_model_learns_each_row_once(tmp_path):
    from tidal.base import learner_from_state, read_state, save_state
    from tidal.naive_bayes import GaussianNB

    schema = Schema.infer({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}, "y")
    sp = tmp_path / "s.json"
    schema.to_json(sp)
    qp = tmp_path / "q.sqlite"
    Guard(schema, quarantine=Quarantine(qp)).check({"x": ["oops", 2.0, None], "y": [1, 0, 0]})
    model = tmp_path / "m.npz"
    save_state(GaussianNB().learn_many(pd.DataFrame({"x": [1.0, 2.0]}), [0, 1]).state_dict(), model)
    patch = tmp_path / "p.json"
    patch.write_text(json.dumps({"1": {"x": 2.5}}))
    res = runner.invoke(app, ["quarantine", "fix", "--patch", str(patch), "--path", str(qp)])
    assert res.exit_code == 0, res.output
    replay = ["quarantine", "replay", "--schema", str(sp), "--path", str(qp), "--into", str(model)]
    res = runner.invoke(app, replay)
    assert res.exit_code == 0, res.output
    assert "replayed 1 rows, 1 still quarantined" in res.output
    assert learner_from_state(read_state(model)).n_samples_seen_ == 3
    res = runner.invoke(app, replay)  # nothing new: the fixed row is not learned twice
    assert "replayed 0 rows" in res.output
    assert learner_from_state(read_state(model)).n_samples_seen_ == 3
