"""The quarantine: rejected rows kept in an embedded SQLite file, one transaction per block."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tidal.base import ParameterError, TidalError

if TYPE_CHECKING:
    from tidal.guards._guard import Guard, GuardResult

__all__ = ["DEFAULT_PATH", "Quarantine", "QuarantineError", "ReplayResult"]

DEFAULT_PATH = os.path.join(".tidal", "quarantine.sqlite")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    source TEXT NOT NULL,
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    record TEXT NOT NULL,
    row INTEGER,
    status TEXT NOT NULL DEFAULT 'quarantined',
    replayed_at REAL
);
CREATE INDEX IF NOT EXISTS quarantine_time ON quarantine (time);
"""
_COLUMNS = "id, time, source, rule, reason, row, status, replayed_at"


class QuarantineError(TidalError, OSError):
    """The quarantine file cannot be opened or written; the message names the path.

    >>> Quarantine("/proc/no-such-dir/q.sqlite")
    Traceback (most recent call last):
    ...
    tidal.guards._quarantine.QuarantineError: cannot open the quarantine at '/proc/no-such-dir/...
    """


@dataclass
class ReplayResult:
    """Quarantined rows sent back through a guard: ``ids`` of those that now pass (marked
    replayed) and ``result``, the guard's verdict on them (use ``result.block()`` to learn).

    >>> ReplayResult([], None).block() is None
    True
    """

    ids: list[int]
    result: GuardResult | None

    def block(self) -> Any:
        """The rows that now pass, as a Block ready for ``learn_many`` (None if there are none)."""
        return None if self.result is None else self.result.block()


def _still(result: GuardResult, i: int) -> str:
    if result.reasons[i]:
        return result.reasons[i]
    if not np.isfinite(result.X[i]).all():
        bad = [n for n, v in zip(result.feature_names, result.X[i]) if not np.isfinite(v)]
        return f"still missing: {', '.join(bad)} (not learnable)"
    return "no valid label (not learnable)"


def _seconds(value: float | dt.timedelta, name: str) -> float:
    secs = value.total_seconds() if isinstance(value, dt.timedelta) else value
    if not isinstance(secs, int | float) or secs < 0:
        raise ParameterError(
            f"{name} == {value!r}, must be a number of seconds >= 0 or a timedelta"
        )
    return float(secs)


class Quarantine:
    """Rejected rows with their original record (JSON), rule, reason, time and source.

    Rows of one block are written in one transaction, so a crash loses no committed row and
    leaves no half-written block. ``max_rows`` / ``max_age`` (seconds) are retention limits:
    the oldest rows beyond them are purged after every write.

    >>> import tempfile, os, pandas as pd
    >>> from tidal.guards import Guard, Schema
    >>> schema = Schema.infer(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]}), "y")
    >>> q = Quarantine(os.path.join(tempfile.mkdtemp(), "q.sqlite"))
    >>> guard = Guard(schema, quarantine=q)
    >>> _ = guard.check(pd.DataFrame({"x": [2.0, "oops", 1.5], "y": [1, 0, 5]}), source="api")
    >>> [(r["rule"], r["source"]) for r in q.list()]
    [('wrong_type', 'api'), ('invalid_label', 'api')]
    >>> q.show(1)["record"]
    {'x': 'oops', 'y': 0}
    >>> schema.target.classes.append(5)  # the label 5 becomes legitimate
    >>> replayed = q.replay(Guard(schema))
    >>> replayed.ids, len(q.list(status="quarantined"))
    ([2], 1)
    >>> q.purge(keep_last=0), len(q)
    (2, 0)
    """

    def __init__(
        self,
        path: str | os.PathLike = DEFAULT_PATH,
        *,
        max_rows: int | None = None,
        max_age: float | dt.timedelta | None = None,
        clock: Callable[[], float] = time.time,
    ):
        if max_rows is not None and (not isinstance(max_rows, int) or max_rows < 0):
            raise ParameterError(f"max_rows == {max_rows!r}, must be an integer >= 0 or None")
        self.path = os.fspath(path)
        self.max_rows = max_rows
        self.max_age = None if max_age is None else _seconds(max_age, "max_age")
        self.clock = clock
        self._after_row: Callable[[int], None] | None = None  # test hook: crash between rows
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise QuarantineError(
                f"cannot open the quarantine at {self.path!r}: {exc}; "
                "choose a writable path (Quarantine(path=...))"
            ) from None

    def __repr__(self) -> str:
        return f"Quarantine({self.path!r}, {len(self)} rows)"

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0])

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                out = fn(self._conn)
                self._retain(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return out
        except sqlite3.Error as exc:
            raise QuarantineError(f"cannot write the quarantine at {self.path!r}: {exc}") from None

    def add(self, result: GuardResult) -> int:
        """Store the quarantined rows of a guard result (one transaction); returns their number."""
        rows = np.flatnonzero(result.quarantined)
        if rows.size == 0:
            return 0
        records = result.records()
        now = self.clock()

        def insert(conn: sqlite3.Connection) -> int:
            for i, record in zip(rows.tolist(), records):
                conn.execute(
                    "INSERT INTO quarantine (time, source, rule, reason, record, row) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        now,
                        result.source,
                        result.rules[i],
                        result.reasons[i],
                        json.dumps(record, allow_nan=False),
                        result.start + i,
                    ),
                )
                if self._after_row is not None:
                    self._after_row(i)
            return len(records)

        return self._write(insert)

    def list(
        self,
        *,
        status: str | None = None,
        source: str | None = None,
        rule: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Rows (without the record), oldest first, optionally filtered."""
        where, args = [], []
        for key, value in (("status", status), ("source", source), ("rule", rule)):
            if value is not None:
                where.append(f"{key} = ?")
                args.append(value)
        sql = f"SELECT {_COLUMNS} FROM quarantine"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        names = [c.strip() for c in _COLUMNS.split(",")]
        return [dict(zip(names, r)) for r in self._conn.execute(sql, args)]

    def show(self, id: int) -> dict[str, Any]:
        """One row with its original record (KeyError if there is no such id)."""
        row = self._conn.execute(
            f"SELECT {_COLUMNS}, record FROM quarantine WHERE id = ?", (int(id),)
        ).fetchone()
        if row is None:
            raise KeyError(f"no quarantined row with id {id} in {self.path!r}")
        names = [c.strip() for c in _COLUMNS.split(",")] + ["record"]
        out = dict(zip(names, row))
        out["record"] = json.loads(out["record"])
        return out

    def replay(self, guard: Guard, *, limit: int | None = None) -> ReplayResult:
        """Send the quarantined rows back through ``guard`` (``replay=True``: no state learns
        from them); the rows that now pass are marked replayed and returned for learning."""
        import pandas as pd

        sql = "SELECT id, record FROM quarantine WHERE status = 'quarantined' ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        got = self._conn.execute(sql).fetchall()
        if not got:
            return ReplayResult([], None)
        frame = pd.DataFrame.from_records([json.loads(r[1]) for r in got])
        result = guard.check(frame, replay=True)
        # only a row a learner can take leaves: a row still holding a NaN (a flag, not a
        # repair) or without a valid label stays, with today's reason
        ok = result.learn.copy()
        ids = [got[i][0] for i in np.flatnonzero(ok).tolist()]
        still = [(_still(result, i), got[i][0]) for i in np.flatnonzero(~ok).tolist()]
        now = self.clock()

        def update(conn: sqlite3.Connection) -> None:
            conn.executemany(
                "UPDATE quarantine SET status = 'replayed', replayed_at = ? WHERE id = ?",
                [(now, i) for i in ids],
            )
            conn.executemany("UPDATE quarantine SET reason = ? WHERE id = ?", still)

        self._write(update)
        return ReplayResult(ids, result)

    def fix(self, id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Correct fields of a quarantined row's record (``{column: new value}``); the row stays
        quarantined until a replay lets it through. Returns the new record."""
        row = self.show(id)
        if row["status"] != "quarantined":
            raise ParameterError(f"row {id} is {row['status']}: only quarantined rows can be fixed")
        unknown = sorted(set(changes) - set(row["record"]))
        if unknown:
            raise ParameterError(
                f"row {id}: no field {unknown[0]!r} in its record (fields: {list(row['record'])})"
            )
        record = {**row["record"], **changes}
        text = json.dumps(record, allow_nan=False)
        self._write(
            lambda conn: conn.execute(
                "UPDATE quarantine SET record = ?, reason = ? WHERE id = ?",
                (text, f"fixed ({', '.join(sorted(changes))}); was: {row['reason']}", int(id)),
            )
        )
        return record

    def purge(
        self,
        *,
        older_than: float | dt.timedelta | None = None,
        keep_last: int | None = None,
        status: str | None = None,
    ) -> int:
        """Delete rows older than ``older_than`` seconds and/or all but the newest ``keep_last``
        (optionally only rows with ``status``); returns the number deleted."""
        if older_than is None and keep_last is None:
            raise ParameterError("purge: give older_than and/or keep_last")
        if keep_last is not None and (not isinstance(keep_last, int) or keep_last < 0):
            raise ParameterError(f"keep_last == {keep_last!r}, must be an integer >= 0")
        cutoff = None if older_than is None else self.clock() - _seconds(older_than, "older_than")
        return self._write(lambda conn: self._delete(conn, cutoff, keep_last, status))

    def _delete(
        self,
        conn: sqlite3.Connection,
        cutoff: float | None,
        keep_last: int | None,
        status: str | None,
    ) -> int:
        cond = "" if status is None else " AND status = ?"
        args: tuple[Any, ...] = () if status is None else (status,)
        n = 0
        if cutoff is not None:
            n += conn.execute(
                f"DELETE FROM quarantine WHERE time < ?{cond}", (cutoff, *args)
            ).rowcount
        if keep_last is not None:
            n += conn.execute(
                f"DELETE FROM quarantine WHERE id NOT IN "
                f"(SELECT id FROM quarantine WHERE 1=1{cond} ORDER BY id DESC LIMIT ?){cond}",
                (*args, keep_last, *args),
            ).rowcount
        return n

    def _retain(self, conn: sqlite3.Connection) -> None:
        cutoff = None if self.max_age is None else self.clock() - self.max_age
        if cutoff is not None or self.max_rows is not None:
            self._delete(conn, cutoff, self.max_rows, None)
