"""Guards and feature-drift monitoring in front of a served model's learning.

A model with a schema (``schema = "schema.json"`` in its ``[models]`` table, or
``guards = { name = "schema.json" }`` in ``[service]``) gets a :class:`ModelGuard`: every learn
request's rows go through a :class:`tidal.guards.Guard` first. Rows it quarantines, and rows it
lets through but that cannot be learned (learning paused by a burst alarm, a missing value left
in a nullable column), go to the quarantine (``<data>/quarantine.sqlite``, source = the model's
name) and are neither learned nor logged; repaired rows are learned (and logged) with their
repaired values. A :class:`tidal.monitor.FeatureDriftMonitor` is updated with the learned rows.

Restarts. The guard's and the monitor's state (:meth:`ModelGuard.state_dict`) are saved in the
model's snapshots, taken under the model's lock with the model's state, so they match its
sequence number. A restart restores them when the guard is attached
(:meth:`tidal.service.host.ModelHost.attach_guard`) and feeds the monitor the rows of the logged
events replayed after the snapshot (rows already screened: the guard does not check them
again, so its counters and burst rates are those of the snapshot). What a crash loses is the
guard's view of the rows it quarantined after the last snapshot (they are not in the log; they
are in the quarantine). A snapshot without a guard state (written before guards were saved, or
while the model was not guarded) starts the guard fresh. A freeze a burst caused is kept on
disk too (:meth:`tidal.service.host.ModelHost.freeze`): the restarted model stays frozen until
an admin unfreezes it or a version is installed.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from tidal.base import StateError
from tidal.guards import QUARANTINED, REPAIRED, Guard, Quarantine, Rule, Schema
from tidal.service.schemas import LearnResponse

__all__ = ["GuardQuarantine", "GuardedLearnResponse", "ModelGuard", "Screen"]

STATE_FORMAT = "tidal.model_guard"
_COLUMNS = ("id", "time", "source", "rule", "reason", "row", "status", "record")


class GuardedLearnResponse(LearnResponse):
    """A learn answer with the guard's verdict per item (guarded models only).

    >>> GuardedLearnResponse(learned=0, version={"seq": 0}, quarantined=1).quarantined
    1
    """

    quarantined: int = Field(0, description="items quarantined (kept, neither learned nor logged)")
    verdicts: list[dict[str, Any]] | None = Field(
        None,
        description="per item: verdict (learned, repaired, quarantined, already_learned), "
        "rule and reason (guarded models only)",
    )


class GuardQuarantine(Quarantine):
    """The service's quarantine: a :class:`tidal.guards.Quarantine` usable from any thread.

    >>> import os, tempfile
    >>> q = GuardQuarantine(os.path.join(tempfile.mkdtemp(), "q.sqlite"))
    >>> q.latest("m", 5)
    []
    >>> q.close()
    """

    def __init__(self, path: str | Path, *, max_rows: int | None = None) -> None:
        super().__init__(path, max_rows=max_rows)
        self._conn.close()  # the base connection is bound to this thread: reopen it shared
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA synchronous=FULL")
        self._lock = threading.Lock()

    def add(self, result: Any) -> int:
        with self._lock:
            return super().add(result)

    def latest(self, source: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """The newest quarantined rows (newest first) with their record, of ``source`` or all."""
        import json

        sql = f"SELECT {', '.join(_COLUMNS)} FROM quarantine"
        args: list[Any] = []
        if source is not None:
            sql += " WHERE source = ?"
            args.append(source)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(0, int(limit)))
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        out = []
        for r in rows:
            d = dict(zip(_COLUMNS, r))
            d["model"] = d.pop("source")
            d["record"] = json.loads(d["record"])
            out.append(d)
        return out

    def close(self) -> None:
        with self._lock:
            super().close()


@dataclass
class Screen:
    """What the guard decided about the rows of one learn request.

    >>> Screen([0], [{"x": 1.0}], [{"verdict": "learned"}]).keep
    [0]
    """

    keep: list[int]  # positions of the rows to learn
    rows: list[dict[str, Any]]  # those rows, repaired values in place
    verdicts: list[dict[str, Any]]  # one per row given
    rules: dict[str, int] = field(default_factory=dict)  # rule -> hits in this request


def _finite(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    return v if not isinstance(v, float) or math.isfinite(v) else None


class ModelGuard:
    """One model's guard, quarantine writer and feature-drift monitor.

    >>> import os, tempfile
    >>> from tidal.guards import Schema
    >>> schema = Schema.infer({"x": [1.0, 2.0, 3.0, 2.5], "y": [0, 1, 0, 1]}, "y")
    >>> q = GuardQuarantine(os.path.join(tempfile.mkdtemp(), "q.sqlite"))
    >>> g = ModelGuard("m", schema, q, drift_reference=2, drift_window=2)
    >>> s = g.screen([{"x": 2.0}, {"x": None}, {"x": 1e9}], [1, 0, 1])
    >>> s.keep, [v["verdict"] for v in s.verdicts], [v["rule"] for v in s.verdicts]
    ([0], ['learned', 'quarantined', 'quarantined'], ['', 'missing', 'out_of_range'])
    >>> [r["rule"] for r in q.latest("m")]
    ['out_of_range', 'missing']
    >>> g.observe([{"x": 1.0}, {"x": 2.0}, {"x": 2.5}])
    >>> sorted({r["feature"] for r in g.drift()["features"]})
    ['x']
    >>> twin = ModelGuard("m", schema, q, drift_reference=2, drift_window=2)
    >>> twin.load_state(g.state_dict()).drift() == g.drift(), twin.guard.counters["missing"]
    (True, 1)
    >>> q.close()
    """

    def __init__(
        self,
        name: str,
        schema: Schema,
        quarantine: GuardQuarantine,
        *,
        rules: list[Rule] | None = None,
        drift_reference: int = 1000,
        drift_window: int = 1000,
    ) -> None:
        from tidal.monitor import FeatureDriftMonitor

        self.name = name
        self.schema = schema
        self.guard = Guard(schema, rules)
        self.quarantine = quarantine
        categorical = [c.name for c in schema.columns if c.kind == "categorical"]
        self.monitor = FeatureDriftMonitor(
            drift_reference, drift_window, categorical=categorical or None
        )
        self._lock = threading.Lock()  # the monitor: updated by learns, read by routes

    def state_dict(self) -> dict[str, Any]:
        """The guard's and the monitor's state (numpy arrays and JSON values, copies).

        Take it under the host's lock (as :meth:`tidal.service.host.ModelHost.snapshot` does):
        the guard changes under that lock, so the state then matches the model's."""
        with self._lock:
            return {
                "format": STATE_FORMAT,
                "format_version": 1,
                "guard": self.guard.state_dict(),
                "monitor": self.monitor.state_dict(),
            }

    def load_state(self, state: dict[str, Any]) -> ModelGuard:
        """Restore :meth:`state_dict` output; returns self.

        All or nothing: a state saved with another schema, other rules or other drift
        settings raises :class:`tidal.base.StateError`, and the guard and the monitor are then
        both fresh (as if started from the schema), never half restored."""
        with self._lock:
            try:
                self._load(state)
            except Exception as e:
                # rules restored before the one that failed must not survive either
                self.guard.reset()
                self.monitor.reset()
                if isinstance(e, StateError):
                    raise
                raise StateError(f"malformed model guard state ({type(e).__name__}: {e})") from e
        return self

    def _load(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            got = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise StateError(
                f"not a model guard state: expected format {STATE_FORMAT!r}, got {got!r}"
            )
        if state.get("format_version") != 1:
            raise StateError(
                f"model guard state version {state.get('format_version')!r} is not supported: "
                "this release reads version 1"
            )
        monitor = state["monitor"]
        features = monitor.get("feature_names") if isinstance(monitor, dict) else None
        if features is not None and list(features) != list(self.schema.names):
            raise StateError(
                f"the state's drift monitor watched features {list(features)}, this guard's "
                f"schema has {list(self.schema.names)}"
            )
        self.guard.load_state(state["guard"])
        self.monitor.reset()
        self.monitor.load_state(monitor)

    def mark(self) -> tuple[int, int]:
        """Changes so far: (rows the guard checked, rows the monitor saw). A snapshot is worth
        writing when this moved since the last one, even if the model learned nothing (rows
        quarantined still teach the guard)."""
        with self._lock:
            return int(self.guard.n_rows), int(self.monitor.n_seen)

    @property
    def learning_paused(self) -> bool:
        """True while one of the guard's burst alarms is on."""
        return self.guard.learning_paused

    def paused_rules(self) -> list[str]:
        """The burst rules whose alarm is on."""
        return [r.name for r in self.guard.rules if getattr(r, "active", False)]

    def screen(self, rows: list[dict[str, Any]], labels: list[Any]) -> Screen:
        """Check ``rows`` (with ``labels``); store the rows not to learn in the quarantine."""
        target = self.schema.target.name if self.schema.target is not None else None
        records = [
            dict(r) | ({target: y} if target is not None else {}) for r, y in zip(rows, labels)
        ]
        res = self.guard.check(records, source=self.name)
        if target is not None:
            learn = res.learn.copy()
        else:  # no target in the schema: labels are not checked
            learn = ~res.quarantined & ~res.paused & np.isfinite(res.X).all(axis=1)
        # every row not learned is kept: rows the guard let through but that cannot be learned
        # (paused by a burst, a missing value left) are quarantined under the rule that stopped them
        paused_by = next((r for r in self.paused_rules()), "burst")
        for i in np.flatnonzero(~learn & ~res.quarantined).tolist():
            res.verdict[i] = QUARANTINED
            if res.paused[i]:
                res.rules[i] = paused_by
            else:
                res.rules[i] = res.reasons[i].split(":", 1)[0] if res.reasons[i] else "unlearnable"
            if not res.reasons[i]:
                res.reasons[i] = f"{res.rules[i]}: missing values left after the guard"
        self.quarantine.add(res)
        keep, out, verdicts = [], [], []
        cats = res.categories
        for i, row in enumerate(rows):
            if not learn[i]:
                verdicts.append(
                    {"verdict": "quarantined", "rule": res.rules[i], "reason": res.reasons[i]}
                )
                continue
            if res.verdict[i] == REPAIRED:
                row = dict(row)
                for j, col in enumerate(res.feature_names):
                    v = float(res.X[i, j])
                    row[col] = cats[col][int(v)] if col in cats else v
                verdicts.append({"verdict": "repaired", "rule": "", "reason": res.reasons[i]})
            else:
                verdicts.append({"verdict": "learned", "rule": "", "reason": res.reasons[i]})
            keep.append(i)
            out.append(row)
        hits = {k: int(v) for k, v in res.counters.items() if v}
        if self.learning_paused:
            hits.setdefault(paused_by, 0)
        return Screen(keep, out, verdicts, hits)

    def observe(self, rows: list[dict[str, Any]]) -> None:
        """Feed learned rows to the drift monitor (never raises: it must not break learning)."""
        if not rows:
            return
        names = self.schema.names
        with self._lock:
            try:
                self.monitor.update_many([{n: r.get(n) for n in names} for r in rows])
            except Exception:  # noqa: BLE001 - monitoring must never fail a learn
                pass

    def drift(self) -> dict[str, Any]:
        """The drift report (``features``: one row per feature and test; empty until the
        reference window is full and a current window has rows)."""
        from tidal.base import NotFittedError

        with self._lock:
            m = self.monitor
            try:
                rows = list(m.report())
            except NotFittedError:
                rows = []
            return {
                "model": self.name,
                "n_seen": int(m.n_seen),
                "reference_size": m.reference_size,
                "window_size": m.window_size,
                "ready": bool(rows),
                "features": [{k: _finite(v) for k, v in r.items()} for r in rows],
            }
