import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from tidal.base import ParameterError
from tidal.guards import Guard, InvalidLabel, Missing, Quarantine, QuarantineError, Schema


@pytest.fixture
def schema():
    return Schema.infer(pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0], "y": [0, 1, 0, 1]}), "y")


class Clock:
    def __init__(self, t=1_000.0):
        self.t = t

    def __call__(self):
        return self.t


def test_default_path_is_dot_tidal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    q = Quarantine()
    assert os.path.isfile(tmp_path / ".tidal" / "quarantine.sqlite")
    assert len(q) == 0


def test_unwritable_path_names_the_path(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    bad = blocker / "q.sqlite"
    with pytest.raises(QuarantineError, match=str(bad)):
        Quarantine(bad)


def test_rows_keep_record_rule_reason_time_source(schema, tmp_path):
    q = Quarantine(tmp_path / "q.sqlite", clock=Clock(42.0))
    g = Guard(schema, quarantine=q)
    g.check(
        pd.DataFrame({"x": [0.5, None, "zz"], "y": [1, 0, 1], "extra": ["a", "b", "c"]}),
        source="kafka",
    )
    rows = q.list()
    assert [r["rule"] for r in rows] == ["missing", "wrong_type"]
    assert {r["source"] for r in rows} == {"kafka"} and {r["time"] for r in rows} == {42.0}
    assert [r["row"] for r in rows] == [1, 2]
    shown = q.show(rows[1]["id"])
    assert shown["record"] == {"x": "zz", "y": 1, "extra": "c"}
    assert "x == 'zz' is not a number" in shown["reason"]
    assert q.list(rule="missing")[0]["row"] == 1
    assert q.list(source="other") == []
    with pytest.raises(KeyError, match="no quarantined row with id 99"):
        q.show(99)


def test_replay_returns_rows_that_now_pass(schema, tmp_path):
    q = Quarantine(tmp_path / "q.sqlite")
    Guard(schema, quarantine=q).check(pd.DataFrame({"x": [1.0, None, 2.0], "y": [7, 1, 7]}))
    assert len(q) == 3
    schema.target.classes.append(7)
    replayed = q.replay(Guard(schema))
    assert replayed.ids == [1, 3]
    block = replayed.block()
    assert block.X[:, 0].tolist() == [1.0, 2.0] and block.y.tolist() == [7, 7]
    assert [r["status"] for r in q.list()] == ["replayed", "quarantined", "replayed"]
    assert q.replay(Guard(schema)).ids == []  # replayed rows are not sent again
    # replayed rows do not grow a guard's state
    g = Guard(schema)
    hi = g.rules[4].hi.copy()
    q.replay(g)
    assert np.array_equal(g.rules[4].hi, hi) and g.n_rows == 0


def test_purge_older_than_and_keep_last(schema, tmp_path):
    clock = Clock()
    q = Quarantine(tmp_path / "q.sqlite", clock=clock)
    g = Guard(schema, rules=[Missing()], quarantine=q)
    for _ in range(3):
        g.check(pd.DataFrame({"x": [None, None], "y": [0, 1]}))
        clock.t += 100
    assert len(q) == 6
    assert q.purge(older_than=250) == 2  # the rows written at t=1000 (now 1300)
    assert q.purge(keep_last=3) == 1
    assert [r["id"] for r in q.list()] == [4, 5, 6]
    with pytest.raises(ParameterError, match="older_than and/or keep_last"):
        q.purge()
    with pytest.raises(ParameterError, match="keep_last == -1"):
        q.purge(keep_last=-1)


def test_retention_limits(schema, tmp_path):
    clock = Clock()
    q = Quarantine(tmp_path / "q.sqlite", max_rows=3, clock=clock)
    g = Guard(schema, rules=[Missing()], quarantine=q)
    g.check(pd.DataFrame({"x": [None] * 5, "y": 0}))
    assert [r["id"] for r in q.list()] == [3, 4, 5]
    q2 = Quarantine(tmp_path / "q2.sqlite", max_age=50, clock=clock)
    g2 = Guard(schema, rules=[Missing()], quarantine=q2)
    g2.check(pd.DataFrame({"x": [None] * 2, "y": 0}))
    clock.t += 60
    g2.check(pd.DataFrame({"x": [None], "y": 0}))
    assert [r["id"] for r in q2.list()] == [3]


def test_one_transaction_per_block_rolls_back_on_error(schema, tmp_path):
    q = Quarantine(tmp_path / "q.sqlite")
    g = Guard(schema, rules=[Missing(), InvalidLabel()], quarantine=q)
    g.check(pd.DataFrame({"x": [None], "y": [0]}))

    def boom(i):
        if i == 2:
            raise RuntimeError("disk on fire")

    q._after_row = boom
    with pytest.raises(RuntimeError):
        g.check(pd.DataFrame({"x": [None] * 4, "y": 0}))
    assert len(q) == 1


WRITER = textwrap.dedent(
    """
    import sys, time
    import pandas as pd
    from tidal.guards import Guard, Missing, Quarantine, Schema

    schema = Schema.infer(pd.DataFrame({"x": [0.0, 1.0, 2.0]}))
    q = Quarantine(sys.argv[1])
    block = {"n": 0}

    def hook(i):
        print(f"row {block['n']} {i}", flush=True)
        if block["n"] == 2 and i == 2:
            time.sleep(120)  # killed here, in the middle of the third block

    q._after_row = hook
    g = Guard(schema, rules=[Missing()], quarantine=q)
    for b in range(3):
        block["n"] = b
        g.check(pd.DataFrame({"x": [None] * 5, "tag": [f"b{b}r{i}" for i in range(5)]}))
        print(f"committed {b}", flush=True)
    """
)


def test_sigkill_mid_block_loses_no_committed_row(tmp_path):
    path = tmp_path / "q.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line.strip())
            if line.strip() == "row 2 2":
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert "committed 1" in seen and "committed 2" not in seen
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    q = Quarantine(path)
    rows = q.list()
    assert len(rows) == 10  # the two committed blocks, nothing of the third
    tags = [q.show(r["id"])["record"]["tag"] for r in rows]
    assert tags == [f"b{b}r{i}" for b in range(2) for i in range(5)]
    assert all(r["rule"] == "missing" for r in rows)
