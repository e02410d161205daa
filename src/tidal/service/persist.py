"""The parts of :class:`tidal.service.host.ModelHost` that deal with the disk beyond its log:
recovery at start (which snapshot, the log after it, the guard's state), freezes kept on disk,
and snapshots with log compaction. Mixins: they use the host's attributes (``_lock``,
``model``, ``wal``, ``snapshots``, ...), set up in ``ModelHost.__init__``."""

from __future__ import annotations

import copy
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

from tidal.base import StateError
from tidal.service.recovery import (
    DataLossError,
    Plan,
    accept_loss,
    plan_recovery,
    set_aside_damaged_snapshots,
)
from tidal.service.wal import _fsync_dir, write_atomic

__all__: list[str] = []

log = logging.getLogger("tidal.service")


class _Recovery:
    """Start-up: the recovery plan, the replay of the log, the guard's restored state."""

    # ------------------------------------------------------------------ recovery
    def _plan(self, accept: bool) -> Plan:
        """Where to start (:mod:`tidal.service.recovery`): refuse a loss unless ``accept``."""
        wal = self.data / "wal" / self.name
        plan = plan_recovery(wal, self.snapshots)
        if plan.losses and accept:
            self.repair = accept_loss(plan, self.data, self.name)
            log.error("model %r: data loss accepted: %s", self.name, self.repair)
            plan = plan_recovery(wal, self.snapshots)
        if plan.losses:
            raise DataLossError(self.name, plan.losses, self.data)
        set_aside_damaged_snapshots(plan, self.data, self.name)
        return plan

    def _replay(self) -> int:
        n = 0
        for first, events in self.wal.replay_batches(after=self.snapshot_seq):
            try:
                self.model.learn_many([e["x"] for e in events], [e["y"] for e in events])
            except Exception as e:
                raise StateError(
                    f"{self.wal.path}: replaying events {first}..{first + len(events) - 1} "
                    f"failed ({e}); they were valid when logged, so the snapshot and the log "
                    "do not belong together"
                ) from e
            for k, ev in enumerate(events):
                if "pid" in ev or "eid" in ev:
                    self._remember(ev, first + k)
            n += len(events)
            self.applied_seq = first + len(events) - 1
        if self.applied_seq != self.wal.last_seq:
            raise StateError(
                f"{self.wal.path}: the log ends at event {self.wal.last_seq} but replay stopped "
                f"at {self.applied_seq}"
            )
        return n

    def attach_guard(self, guard: Any) -> None:
        """Put ``guard`` (a :class:`tidal.service.guarding.ModelGuard`) in front of learning.

        The first guard attached after start gets the guard state of the snapshot the model
        was loaded from, then its monitor observes the rows of the events replayed after that
        snapshot (already screened when they were learned: not checked again), so it stands
        where it stood when the service stopped. A snapshot without a guard state (older
        release, model not guarded then) leaves the guard fresh, as does a state the guard
        cannot take (schema, rules or drift settings changed since): a log line says so.
        Starting fresh rather than refusing to start: the old state describes data under the
        old schema, so it cannot be trusted for the new one, and a freeze a burst caused is
        kept on disk apart from it (:meth:`freeze`), so nothing stops being guarded.
        """
        with self._lock:
            saved, self._guard_saved = self._guard_saved, None
            if saved is not None and saved[1] != self.snapshot_seq:
                # a snapshot without this guard was written since start: the saved state and
                # the log after it no longer meet
                log.warning(
                    "model %r: guard starts fresh: snapshot %d was written before the guard "
                    "was attached",
                    self.name,
                    self.snapshot_seq,
                )
                saved = None
            if saved is not None:
                self._restore_guard(guard, *saved)
            self.guard = guard

    def _restore_guard(self, guard: Any, state: dict[str, Any] | None, seq: int) -> None:
        if state is not None:
            try:
                guard.load_state(state)
            except StateError as e:
                log.warning(
                    "model %r: guard and drift monitor start fresh: the state in snapshot %d "
                    "does not fit them (%s)",
                    self.name,
                    seq,
                    e,
                )
        elif seq > 0:
            log.info("model %r: snapshot %d has no guard state; guard starts fresh", self.name, seq)
        self._guard_mark = guard.mark()
        # the monitor sees every row learned since the state it starts from, in the same batches
        for first, events in self.wal.replay_batches(after=seq):
            if first > self._replayed_seq:
                break
            guard.observe([e["x"] for e in events[: self._replayed_seq - first + 1]])


class _Persisted:
    """Freezes kept on disk, and snapshots."""

    # ------------------------------------------------------------------ freezing
    def freeze(self, reason: str, by: str = "tidal", details: dict[str, Any] | None = None) -> None:
        """Pause learning (a learn raises :class:`FrozenError`) until :meth:`unfreeze`.

        The record (reason, who, when, details) is on disk (``<data>/frozen/<name>.json``,
        written atomically and fsynced) before learning stops, so a refused learn implies a
        freeze that survives a crash or a restart."""
        record = {
            "reason": reason,
            "by": by,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "details": details or {},
        }
        path = self._freeze_path
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True, exist_ok=True)
            _fsync_dir(path.parent.parent)
        write_atomic(path, json.dumps(record, default=str).encode())
        self.freeze_record = record
        self.frozen = reason

    def unfreeze(self) -> None:
        """Let the model learn again, and forget the freeze on disk."""
        self.frozen = None
        self.freeze_record = None
        if self._freeze_path.exists():
            self._freeze_path.unlink(missing_ok=True)
            _fsync_dir(self._freeze_path.parent)

    def _load_freeze(self) -> None:
        path = self._freeze_path
        if not path.exists():
            return
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            reason = str(record["reason"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            # fail safe: a freeze that cannot be read still freezes
            record = {"reason": f"frozen: unreadable freeze record {path} ({e})", "by": "tidal"}
            reason = record["reason"]
        self.freeze_record = record
        self.frozen = reason

    # ------------------------------------------------------------------ snapshots
    @property
    def events_since_snapshot(self) -> int:
        return self.applied_seq - self.snapshot_seq

    def snapshot(self) -> int | None:
        """Save the model at the current sequence number (after it is on disk); compact the log
        behind it. Returns the sequence number, or None if nothing changed since the last one."""
        with self._snap_lock:
            with self._lock:
                seq = self.applied_seq
                mark = self.guard.mark() if self.guard is not None else None
                # rows a guard quarantined change it without an event: worth a snapshot too
                changed = seq != self.snapshot_seq or mark != self._guard_mark
                if changed:
                    taken = self.capture()
            if not changed:
                self.last_snapshot_time = time.monotonic()
                # the log may still hold segments the snapshots cover (a restart right after a
                # snapshot opens a new one): drop them, as after any snapshot
                self._compact()
                return None
            self.save_snapshot(**taken)
            self._guard_mark = mark
            self.last_snapshot_time = time.monotonic()
            self.snapshots.prune(self.snapshots_kept)
            self._compact()
            return seq

    def _compact(self) -> None:
        """Drop the log segments the *oldest* snapshot kept covers: if the newest is damaged,
        the one before it plus the log still recover everything."""
        seqs = self.snapshots.seqs
        if seqs:
            self.wal.compact(seqs[0])

    def save_snapshot(
        self,
        seq: int,
        state: dict[str, Any],
        learned: dict[str, Any],
        version: str | None,
        *,
        guard: dict[str, Any] | None = None,
    ) -> None:
        """Write ``state`` as the snapshot at ``seq`` once the log is on disk up to ``seq``.

        ``guard`` is the guard's state (:meth:`guard_state`) taken under the same lock as
        ``state``; it goes in the same file (arrays and all), so both are written atomically."""
        self.wal.wait(seq)
        extra = {
            "learned_ids": learned,
            "model_name": self.name,
            "registry_version": version,
        }
        if guard is not None:
            extra["guard"] = guard
        self.snapshots.save(state, seq, extra)
        self.snapshot_seq = seq

    def capture(self) -> dict[str, Any]:
        """What a snapshot of the model as it stands holds, as :meth:`save_snapshot`'s
        arguments (call it under the host's lock: model, ids and guard then agree with seq)."""
        return {
            "seq": self.applied_seq,
            "state": copy.deepcopy(self.model.state_dict()),
            "learned": self.learned_ids_copy(),
            "version": self.version,
            "guard": self.guard_state(),
        }

    def learned_ids_copy(self) -> dict[str, Any]:
        """The learned event and prediction ids for a snapshot (call it under the host's lock;
        see :meth:`tidal.service.ids.LearnedIds.copy`)."""
        return self._learned.copy()

    def guard_state(self) -> dict[str, Any] | None:
        """The guard's state to save with the model's (None if unguarded); call it under the
        host's lock, so that it matches the model's state and sequence number."""
        return self.guard.state_dict() if self.guard is not None else None

    def snapshot_due(self, every_seconds: float) -> bool:
        if self.events_since_snapshot <= 0:
            return False
        if self.events_since_snapshot >= self.snapshot_every:
            return True
        return time.monotonic() - self.last_snapshot_time >= every_seconds
