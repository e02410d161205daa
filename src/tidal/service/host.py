"""``ModelHost``: one online model that predicts and learns in place, durably.

Consistency. One lock guards the model: a learn validates and applies a whole request under it,
and a prediction runs under it too, so a prediction sees the model before or after a request,
never half of one. (Copy-on-write would let predictions run beside a learn, but the work is
Python-bound under the GIL either way, and a copy per request costs more than the wait; measured
in the report of issue 6.)

Durability. Under the lock a learn is validated and applied by the learner (which checks every
row before it changes anything: a bad request raises :class:`tidal.base.InputError` and leaves
model and log unchanged), then numbered and queued in the write-ahead log in the same order.
The request is acknowledged only after the log's group commit has fsynced it, outside the lock,
so concurrent learns share one fsync. A prediction that saw events not yet on disk waits for
them before it answers, so every model version a client is told about survives a crash
(``durable_reads=False`` answers at once instead: up to one fsync sooner while learns are in
flight, but a version number it reports may be lost, and reused, after a crash).

Recovery. The newest valid snapshot is loaded and the log after it replayed, batch by batch as
it was applied, so the recovered state equals the state before the crash bit for bit. A guarded
model's snapshot also holds its guard's and drift monitor's state, taken under the same lock as
the model's; :meth:`ModelHost.attach_guard` restores it and feeds the monitor the replayed rows.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from pathlib import Path
from typing import Any

from tidal.base import Classifier, InputError, TidalError, learner_from_state
from tidal.metrics import headline
from tidal.service.ids import LearnedIds, event_key, legacy_key
from tidal.service.items import (
    LearnResult,
    PredictResult,
    UnknownPredictionError,
    item_row,
    learn_items,
    plain,
    refuse_non_finite,
)
from tidal.service.pending import PendingPredictions, new_base, prediction_ids
from tidal.service.persist import _Persisted, _Recovery
from tidal.service.snapshots import SnapshotStore
from tidal.service.wal import WalError, WriteAheadLog

# the answers and the error of a request live in tidal.service.items (KeyedHost shares them);
# still importable from here, where they were first defined
__all__ = ["FrozenError", "LearnResult", "ModelHost", "PredictResult", "UnknownPredictionError"]

log = logging.getLogger("tidal.service")


class FrozenError(TidalError, RuntimeError):
    """Learning is paused: the model's rolling metric fell below the configured floor.

    >>> FrozenError("frozen: rolling accuracy 0.61 < floor 0.70").args[0][:6]
    'frozen'
    """


class ModelHost(_Recovery, _Persisted):
    """Owns one learner, its write-ahead log (``<data>/wal/<name>``) and its snapshots
    (``<data>/snapshots/<name>``).

    ``model`` is the fresh learner to start from when there is no snapshot; otherwise the
    newest snapshot is loaded and the log after it replayed. ``version`` is the registry version
    (a placeholder until a registry assigns one); every answer carries it with the log sequence
    number of the last event the model had learned.

    >>> import tempfile
    >>> from tidal.linear_model import LinearRegression
    >>> folder = tempfile.mkdtemp()
    >>> host = ModelHost("demo", LinearRegression(), folder)
    >>> host.learn([{"x": 1.0}, {"x": 2.0}], [2.0, 4.0]).last_seq
    2
    >>> p = host.predict([{"x": 1.5}])
    >>> p.version
    {'registry_version': None, 'seq': 2}
    >>> host.learn(None, [3.0], prediction_ids=p.prediction_ids).last_seq
    3
    >>> host.learn(None, [3.0], prediction_ids=p.prediction_ids).already_learned
    [0]
    >>> host.close()
    >>> ModelHost("demo", LinearRegression(), folder).applied_seq  # recovered from the log
    3
    """

    def __init__(
        self,
        name: str,
        model: Any,
        data: str | Path,
        *,
        version: str | None = None,
        snapshot_every: int = 10_000,
        snapshots_kept: int = 2,
        pending_max: int = 100_000,
        pending_ttl: float = 3600.0,
        learned_ids_max: int = 100_000,
        learned_ids_ttl: float = 7 * 86400.0,
        segment_bytes: int = 64 << 20,
        on_fsync: Any = None,
        durable_reads: bool = True,
        accept_loss: bool = False,
    ) -> None:
        self.name = name
        self.data = Path(data)
        self.version = version
        self.snapshot_every = int(snapshot_every)
        self.snapshots_kept = int(snapshots_kept)
        self.pending_ttl = float(pending_ttl)
        self.durable_reads = durable_reads
        self._lock = threading.Lock()
        self._snap_lock = threading.Lock()
        self._pending_args = (int(pending_max), float(pending_ttl))
        # event and prediction ids learned -> (seq, time): a retry is answered, not learned
        self._learned = LearnedIds(learned_ids_max, learned_ids_ttl)
        self.broken: str | None = None
        #: why learning is paused (a rolling metric under its floor, a guard burst, an admin);
        #: kept on disk (:meth:`freeze`), so a restart does not silently resume learning
        self.frozen: str | None = None
        self.freeze_record: dict[str, Any] | None = None
        self._freeze_path = self.data / "frozen" / f"{name}.json"
        self._load_freeze()
        self.guard: Any = None  # a tidal.service.guarding.ModelGuard: screens rows before learning
        self.snapshots = SnapshotStore(self.data / "snapshots" / name)
        #: what ``accept_loss`` moved aside and lost (for the audit log), else None
        self.repair: dict[str, Any] | None = None
        plan = self._plan(accept_loss)
        snap = plan.snapshot
        self._guard_mark: tuple[int, int] | None = None  # ModelGuard.mark() at the last snapshot
        if snap is not None:
            model = learner_from_state(snap.model_state)
            self._learned.load(snap.extra.get("learned_ids", []))
            # the registry version the snapshot's model came from (older snapshots: unknown)
            self.version = snap.extra.get("registry_version", self.version)
        self.model = model
        self.snapshot_seq = snap.seq if snap is not None else 0
        self.wal = WriteAheadLog(
            self.data / "wal" / name,
            segment_bytes=segment_bytes,
            start_seq=self.snapshot_seq,
            on_fsync=on_fsync,
            scan=plan.scan,
        )
        self.applied_seq = self.snapshot_seq
        self.replayed = self._replay()
        # the snapshot's guard state and seq, and the last event replayed, for attach_guard:
        # the guard is attached after the host is built (Service._guard_models)
        self._guard_saved: tuple[dict[str, Any] | None, int] | None = (
            snap.extra.get("guard") if snap is not None else None,
            self.snapshot_seq,
        )
        self._replayed_seq = self.applied_seq
        self.last_snapshot_time = time.monotonic()
        # predictions waiting for labels, back from their journal (those labelled since: not)
        self._pending = PendingPredictions(
            self.data / "pending" / name,
            max_items=self._pending_args[0],
            ttl=self._pending_args[1],
            skip=lambda pid: pid in self._learned,
        )

    # ------------------------------------------------------------------ serving
    def model_version(self) -> dict[str, Any]:
        return {"registry_version": self.version, "seq": self.applied_seq}

    def predict(
        self,
        rows: list[dict[str, Any]],
        keep: bool = True,
        *,
        wait: bool = True,
        blocking: bool = True,
    ) -> PredictResult | None:
        """Predict ``rows`` with one consistent model; keep them for delayed labels if ``keep``.

        ``wait=False`` leaves waiting for durability (:meth:`durable_wait_needed`) to the
        caller; ``blocking=False`` returns None at once when a learn holds the model (the
        event loop's fast path predicts inline only when that costs no wait)."""
        refuse_non_finite(rows)
        if not self._lock.acquire(blocking):
            return None
        try:
            if isinstance(self.model, Classifier):
                proba = self.model.predict_proba_many(rows)
                keys = [str(plain(c)) for c in self.model.classes_]
                # the learner's own decoding (ties as it breaks them); None where it knows nothing
                preds = [plain(p) for p in self.model.decode_proba(proba, fill_empty=False)]
                probs = [dict(zip(keys, row)) for row in proba.tolist()]
            else:
                preds = self.model.predict_many(rows).tolist()
                probs = None
            version = self.model_version()
            base = new_base()
            if keep:
                ids = self._pending.remember(base, rows)
            else:
                ids = prediction_ids(base, len(rows))
        finally:
            self._lock.release()
        if keep:  # in the journal before the client has the ids: a restart keeps them
            self._pending.journal(base, rows)
        if wait and self.durable_wait_needed(version):
            self.wal.wait(version["seq"])  # never tell a client about a version a crash loses
        return PredictResult(preds, ids, version, probs)

    def durable_wait_needed(self, version: dict[str, Any]) -> bool:
        """True if an answer carrying ``version`` must first wait for the log's fsync."""
        return self.durable_reads and version["seq"] > self.wal.durable_seq

    def learn(
        self,
        rows: list[dict[str, Any] | None] | None,
        labels: list[Any],
        prediction_ids: list[str | None] | None = None,
        *,
        event_ids: list[str | None] | None = None,
        probe: int = 0,
    ) -> LearnResult:
        """Learn ``labels`` for ``rows`` (or for the rows of earlier ``prediction_ids``).

        Item ``i`` is ``rows[i]`` or, when ``prediction_ids[i]`` is set, the row predicted under
        that id. An item whose ``event_ids[i]`` (a client's idempotency key) or prediction id
        was learned before, within the retention bound of :mod:`tidal.service.ids`, or earlier
        in the same request, is skipped: ``already_learned`` lists it and ``seqs[i]`` is the
        sequence number it was learned at, so a retried request learns each item once and gets
        the original answer. Returns once the events are on disk.

        ``probe=n`` predicts the first ``n`` rows to learn with the model just before it learns
        them, under the same lock (``LearnResult.probe``: test-then-train scores for free).
        """
        n = len(labels)
        rows, pids, eids = learn_items(n, rows, prediction_ids, event_ids)
        with self._lock:
            if self.broken:
                raise WalError(self.broken)
            if self.frozen:
                raise FrozenError(f"model {self.name!r} does not learn: {self.frozen}")
            now = time.time()
            x, y, events, skipped, where = [], [], [], [], []
            seqs: list[int | None] = [None] * n
            seen: dict[str, int] = {}  # key -> item of this request that holds it
            twin: dict[int, int] = {}  # a repeated item -> the item it repeats
            learned = self._learned
            for i, (row, pid, label, eid) in enumerate(zip(rows, pids, labels, eids, strict=True)):
                keys = [k for k in (None if eid is None else event_key(eid), pid) if k]
                first = next((k for k in keys if k in seen), None)
                done = next((s for k in keys if (s := learned.seq(k, now)) is not None), None)
                if done is not None or first is not None:
                    skipped.append(i)
                    seqs[i] = done
                    if done is None:
                        twin[i] = seen[first]
                    continue
                row = item_row(i, row, pid, self._pending, self.pending_ttl)
                seen.update((k, i) for k in keys)
                x.append(row)
                y.append(label)
                where.append(i)
                ev = {"x": row, "y": label}
                if keys:
                    if pid is not None:
                        ev["pid"] = pid
                    if eid is not None:
                        ev["eid"] = eid
                    ev["t"] = round(now, 3)
                events.append(ev)
            verdicts, rules = None, {}
            if self.guard is not None:
                verdicts = [{"verdict": "already_learned", "rule": "", "reason": ""}] * n
                if x:  # quarantined rows are kept by the guard, neither learned nor logged
                    screen = self.guard.screen(x, y)
                    for k, v in enumerate(screen.verdicts):
                        verdicts[where[k]] = v
                    y = [y[k] for k in screen.keep]
                    where = [where[k] for k in screen.keep]
                    events = [{**events[k], "x": r} for k, r in zip(screen.keep, screen.rows)]
                    x, rules = screen.rows, screen.rules
            held = sum(v["verdict"] == "quarantined" for v in verdicts or ())
            if not events:
                return LearnResult(
                    0, None, None, self.model_version(), skipped, held, verdicts, rules, seqs=seqs
                )
            scored = self._probe(x, y, probe) if probe > 0 else None
            try:  # the learner validates everything before it changes anything
                refuse_non_finite(x)  # (after the guard, which quarantines such rows instead)
                self.model.learn_many(x, y)
            except InputError as e:
                if e.row is not None and e.row < len(where):
                    e.row = where[e.row]  # the caller's item index, not the learned row's
                raise
            try:
                last = self.wal.submit(events)
            except Exception as e:  # the model is now ahead of its log: stop learning
                self.broken = f"model {self.name!r} stopped learning: {e}"
                raise
            self.applied_seq = last
            if self.guard is not None:
                self.guard.observe(x)
            first_seq = last - len(events) + 1
            for k, (i, ev) in enumerate(zip(where, events, strict=True)):
                seqs[i] = first_seq + k
                self._remember(ev, first_seq + k)
                if pid := ev.get("pid"):
                    self._pending.pop(pid)
            for i, j in twin.items():
                seqs[i] = seqs[j]
            version = self.model_version()
        try:
            self.wal.wait(last)
        except WalError as e:
            self.broken = f"model {self.name!r} stopped learning: {e}"
            raise
        return LearnResult(
            len(events),
            first_seq,
            last,
            version,
            skipped,
            held,
            verdicts,
            rules,
            scored,
            seqs=seqs,
        )

    def _remember(self, ev: dict[str, Any], seq: int) -> None:
        """Record the ids of a logged event (learned at ``seq``) as applied."""
        pid, eid = ev.get("pid"), ev.get("eid")
        if pid is not None:  # (an older consumer's entry key, logged as a prediction id)
            self._learned.put(legacy_key(pid), seq, ev.get("t"))
        if eid is not None:
            self._learned.put(event_key(eid), seq, ev.get("t"))

    def _probe(self, x: list[Any], y: list[Any], n: int) -> tuple[list[Any], list[Any]] | None:
        """Predictions of the first ``n`` rows before learning (never raises: a failure here
        is the learn's to report, and the dashboard must not break learning)."""
        if not self.model.is_fitted:
            return None
        try:
            pred = self.model.predict_many(x[:n])
        except Exception:  # noqa: BLE001
            return None
        return [plain(p) for p in pred], y[:n]

    def warm_up(self) -> None:
        """Run one learn and one predict on a probe row with a copy of the model, so compiled
        kernels are loaded before the service says it is ready; the model, its log and its
        version are not touched. The probe row is a zero for every feature the model knows (a
        kept prediction's row if zeros do not fit, e.g. a categorical feature)."""
        with self._lock:
            state = copy.deepcopy(self.model.state_dict())
            m = self.model
            feats = list(m.feature_names_in_) if m.is_fitted else ["x"]
            classes = [plain(c) for c in getattr(m, "classes_", [])] if m.is_fitted else []
            kept = self._pending.newest_row()
        label = classes[0] if classes else (0 if isinstance(m, Classifier) else 0.0)
        # the rolling metric the dashboard and the shadows score with: loaded here as well
        task = "multiclass" if isinstance(m, Classifier) else "regression"
        headline(task).make(window=2).update_many([label], [label])
        probes = [{f: 0.0 for f in feats}] + ([kept] if kept is not None else [])
        for row in probes:
            twin = learner_from_state(state)
            try:
                twin.learn_many([row], [label])
                twin.predict_many([row])
                return
            except InputError:
                continue

    def state_dict(self) -> dict[str, Any]:
        """A copy of the model's state, taken under the lock."""
        return self.state_at()[1]

    def state_at(self) -> tuple[int, dict[str, Any]]:
        """``(seq, state)``: a copy of the model's state and the last event it learned."""
        with self._lock:
            return self.applied_seq, copy.deepcopy(self.model.state_dict())

    def info(self) -> dict[str, Any]:
        """What the model is and where it stands (for ``GET /v1/models/{name}``)."""
        with self._lock:
            m = self.model
            return {
                "name": self.name,
                "class": type(m).__module__ + "." + type(m).__qualname__,
                "params": repr(m),
                "fitted": bool(m.is_fitted),
                "features": list(m.feature_names_in_) if m.is_fitted else None,
                "n_samples_seen": float(getattr(m, "n_samples_seen_", 0.0)),
                "version": self.model_version(),
                "durable_seq": self.wal.durable_seq,
                "snapshot_seq": self.snapshot_seq,
                "pending_predictions": len(self._pending),
                "learned_ids": len(self._learned),  # kept to skip a retried label (bounded)
                "broken": self.broken,
                "frozen": self.frozen,
                "freeze": self.freeze_record,
            }

    def close(self, snapshot: bool = True) -> None:
        """Flush the log, snapshot (if asked and anything changed), stop the log writer."""
        if snapshot and self.broken is None:
            self.snapshot()
        self.wal.close()
        if hasattr(self, "_pending"):
            self._pending.close()
