"""Learn from a Redis stream through a consumer group, exactly once, durably.

Entry format (stream fields; values are UTF-8, ``x`` and ``y`` are JSON)::

    XADD events * x '{"a": 1.5, "color": "red"}' y '1'      # features + label
    XADD events * prediction_id 3f2a...c0 y '0'              # a delayed label for a prediction

``x`` is a JSON object (feature name -> number, string or null), ``y`` a JSON number, string or
boolean; ``prediction_id`` (plain text) names an earlier prediction of the same model instead of
``x``; ``event_id`` (optional, 1-128 printable ASCII characters) is the event's idempotency key.
Other fields are ignored, so producers may add their own metadata.

Guarantees:

* an entry is acknowledged (``XACK``) only after :meth:`ModelHost.learn` returned, i.e. after it
  is fsynced in the model's write-ahead log;
* exactly once: every entry is learned under an event id, its ``event_id`` field if it has
  one (the producer's idempotency key: the same event sent over HTTP or added twice to the
  stream is learned once) else ``redis:<stream>:<entry id>``, so an entry that was learned but
  not acknowledged (the consumer died between the two) is recognised when it is delivered
  again and only acknowledged. The window is the host's retention bound of learned ids
  (``learned_ids_max`` / ``learned_ids_ttl``, kept in the log and in snapshots);
* nothing stays pending: every ``claim_every`` seconds the consumer takes over entries idle for
  ``min_idle_ms`` in any consumer's pending list (``XAUTOCLAIM``), so a dead consumer's entries
  are learned by a live one;
* bad entries are not lost: malformed JSON, a missing field, missing or extra features,
  non-finite values, an unknown prediction id go, with the original fields plus ``_dead_reason``,
  ``_dead_id`` and ``_dead_consumer``, to the dead-letter stream ``<stream>:dead`` (capped at
  ``dead_maxlen`` entries) in the same ``MULTI`` as their ``XACK``. A dead-letter stream rather
  than :class:`tidal.guards.Quarantine` keeps the bad entry next to its producer, in the same
  format, so it can be fixed and re-added with one ``XADD``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidal.base import TidalError
from tidal.service.host import FrozenError, ModelHost
from tidal.service.ids import EVENT_ID
from tidal.service.items import UnknownPredictionError
from tidal.service.wal import WalError

__all__ = ["ConsumerStats", "DecodeError", "StreamConsumer", "decode_entry"]

Fields = Mapping[Any, Any]
Entry = tuple[Any, Fields]
#: errors that belong to one entry (InputError names its row); a failing log is not one
_ENTRY_ERRORS = (TidalError, UnknownPredictionError)
#: errors of the service itself, not of an entry: they stop the round, nothing is dead-lettered
_SERVICE_ERRORS = (WalError, FrozenError)


class DecodeError(TidalError, ValueError):
    """An entry that cannot become a learn event; the message names the field.

    >>> decode_entry({"x": "{'a': 1}", "y": "1"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tidal.service.consumer.DecodeError: field 'x': malformed JSON (Expecting property name ...
    """


def _text(v: Any) -> str:
    return v.decode("utf-8") if isinstance(v, bytes | bytearray) else str(v)


def _json(fields: dict[str, str], name: str) -> Any:
    try:
        return json.loads(fields[name])
    except json.JSONDecodeError as e:
        raise DecodeError(
            f"field {name!r}: malformed JSON ({e.msg} at character {e.pos})"
        ) from None


def _finite(v: Any) -> bool:
    return not isinstance(v, float) or math.isfinite(v)


def decode_entry(
    fields: Fields,
) -> tuple[dict[str, Any] | None, Any, str | None, str | None]:
    """``(features, label, prediction_id, event_id)`` from an entry's fields (bytes or str);
    exactly one of ``features`` and ``prediction_id`` is set. Raises :class:`DecodeError`.

    >>> decode_entry({b"x": b'{"a": 1.5, "c": "red"}', b"y": b"1", b"event_id": b"o-17"})
    ({'a': 1.5, 'c': 'red'}, 1, None, 'o-17')
    >>> decode_entry({"prediction_id": "3f2a", "y": '"spam"'})
    (None, 'spam', '3f2a', None)
    >>> decode_entry({"x": '{"a": 1}'})
    Traceback (most recent call last):
    ...
    tidal.service.consumer.DecodeError: field 'y' (the label) is missing
    """
    try:
        f = {_text(k): _text(v) for k, v in fields.items()}
    except UnicodeDecodeError as e:
        raise DecodeError(f"a field is not UTF-8 ({e.reason} at byte {e.start})") from None
    if "y" not in f:
        raise DecodeError("field 'y' (the label) is missing")
    label = _json(f, "y")
    if isinstance(label, dict | list) or label is None or not _finite(label):
        raise DecodeError(f"field 'y': expected a number, string or boolean, got {f['y']!r}")
    eid = f.get("event_id")
    if eid is not None and not EVENT_ID.fullmatch(eid):
        raise DecodeError(
            f"field 'event_id': expected 1-128 printable ASCII characters, got {eid[:80]!r}"
        )
    has_x, has_pid = "x" in f, "prediction_id" in f
    if has_x == has_pid:
        raise DecodeError("give exactly one of the fields 'x' (features) and 'prediction_id'")
    if has_pid:
        pid = f["prediction_id"].strip()
        if not pid:
            raise DecodeError("field 'prediction_id' is empty")
        return None, label, pid, eid
    row = _json(f, "x")
    if not isinstance(row, dict) or not row:
        raise DecodeError(f"field 'x': expected a non-empty JSON object, got {f['x'][:80]!r}")
    for k, v in row.items():
        if isinstance(v, dict | list) or not _finite(v):
            raise DecodeError(
                f"field 'x', feature {k!r}: expected a number, string or null, got {v!r}"
            )
    return row, label, None, eid


@dataclass
class ConsumerStats:
    """Counts since the consumer started.

    >>> ConsumerStats().learned
    0
    """

    learned: int = 0  #: entries learned (in the log) and acknowledged
    duplicates: int = 0  #: entries delivered again after they were learned: acknowledged only
    dead: int = 0  #: entries moved to the dead-letter stream
    reclaimed: int = 0  #: entries taken over from idle consumers
    batches: int = 0


def default_consumer_name(host: ModelHost) -> str:
    """``<hostname>-<model>-<hash of the data folder>``: the same after a restart, so the entries
    a killed consumer had in hand are its own pending entries again at once (not after the
    claim timeout, out of order), and unique among live consumers (one process per folder).

    >>> import tempfile
    >>> from types import SimpleNamespace
    >>> h = SimpleNamespace(name="m", data=tempfile.gettempdir())
    >>> default_consumer_name(h) == default_consumer_name(h)
    True
    """
    folder = str(os.path.realpath(host.data)).encode()
    return f"{socket.gethostname()}-{host.name}-{hashlib.sha256(folder).hexdigest()[:8]}"


class StreamConsumer:
    """Reads ``stream`` as ``consumer`` of ``group`` and learns every entry into ``host``.

    ``client`` is a ``redis.Redis`` (``decode_responses=False``). With ``service`` (a
    :class:`tidal.service.runtime.Service` serving ``host``), entries are learned through
    ``Service.learn``, exactly as HTTP learns are (guards, shadows, freezes, the dashboard's
    series); without it, through ``host.learn`` alone. ``on_learned`` is called after each
    learned batch. The example uses a fake client
    with one batch; the tests use a real ``redis-server``.

    >>> import tempfile
    >>> from tidal.linear_model import LinearRegression
    >>> class FakeRedis:
    ...     added, acked = [], []
    ...     def xgroup_create(self, *a, **k): pass
    ...     def xautoclaim(self, *a, **k): return [b"0-0", [], []]
    ...     def xreadgroup(self, group, consumer, streams, count, block):
    ...         batch = [(b"1-0", {b"x": b'{"a": 1.0}', b"y": b"2.0"}), (b"2-0", {b"y": b"oops"})]
    ...         return [] if self.acked else [[b"s", batch]]
    ...     def pipeline(self, transaction=True): return self
    ...     def xadd(self, name, fields, **k): self.added.append((name, fields[b"_dead_reason"]))
    ...     def xack(self, name, group, *ids): self.acked.extend(ids)
    ...     def execute(self): pass
    >>> host = ModelHost("m", LinearRegression(), tempfile.mkdtemp())
    >>> fake = FakeRedis()
    >>> c = StreamConsumer(fake, host, "s", "g", "c1")
    >>> c.run(until_idle=True).learned, host.applied_seq, fake.acked
    (1, 1, [b'1-0', b'2-0'])
    >>> fake.added
    [('s:dead', b"field 'y': malformed JSON (Expecting value at character 0)")]
    >>> host.close()
    """

    def __init__(
        self,
        client: Any,
        host: ModelHost,
        stream: str,
        group: str,
        consumer: str | None = None,
        *,
        batch: int = 500,
        block_ms: int = 1000,
        min_idle_ms: int = 60_000,
        claim_every: float = 10.0,
        start_id: str = "0",
        dead_stream: str | None = None,
        dead_maxlen: int = 100_000,
        on_learned: Callable[[], None] | None = None,
        service: Any = None,
    ) -> None:
        self.client = client
        self.service = service
        self.host = host
        self.stream = stream
        self.group = group
        self.consumer = consumer or default_consumer_name(host)
        self.batch = int(batch)
        self.block_ms = int(block_ms)
        self.min_idle_ms = int(min_idle_ms)
        self.claim_every = float(claim_every)
        self.start_id = start_id
        self.dead_stream = dead_stream or f"{stream}:dead"
        self.dead_maxlen = int(dead_maxlen)
        self.on_learned = on_learned
        self.stats = ConsumerStats()
        self._stop = threading.Event()
        self._own_pending_done = False
        self._last_claim = -math.inf
        if self.batch < 1:
            raise ValueError(f"batch == {batch}, must be >= 1")

    # ------------------------------------------------------------------ redis
    def ensure_group(self) -> None:
        """Create the group (and the stream) if needed; reading starts at ``start_id``."""
        try:
            self.client.xgroup_create(self.stream, self.group, id=self.start_id, mkstream=True)
        except Exception as e:  # redis.ResponseError; the group already exists is fine
            if "BUSYGROUP" not in str(e):
                raise

    def _reclaim(self, min_idle_ms: int | None = None) -> list[Entry]:
        self._last_claim = time.monotonic()
        idle = self.min_idle_ms if min_idle_ms is None else min_idle_ms
        cursor, out = "0-0", []
        while True:
            reply = self.client.xautoclaim(
                self.stream, self.group, self.consumer, idle, cursor, count=self.batch
            )
            cursor, entries = reply[0], [e for e in reply[1] if e[1] is not None]
            out.extend(entries)
            if _text(cursor) == "0-0" or len(out) >= self.batch:
                break
        self.stats.reclaimed += len(out)
        return out

    def _read(self, entry_id: str, block: int | None) -> list[Entry]:
        reply = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: entry_id}, count=self.batch, block=block
        )
        entries = [e for _, batch in reply or [] for e in batch]
        gone = [e[0] for e in entries if not e[1]]
        if gone:  # pending, then deleted with XDEL: nothing to learn, only release them
            self.client.xack(self.stream, self.group, *gone)
        return [e for e in entries if e[1]]

    def _finish(self, ok: Sequence[Any], dead: Sequence[tuple[Any, Fields, str]]) -> None:
        """Dead-letter and acknowledge in one transaction: a bad entry is never lost."""
        pipe = self.client.pipeline(transaction=True)
        for entry_id, fields, reason in dead:
            extra = {b"_dead_reason": reason.encode(), b"_dead_id": _text(entry_id).encode()}
            extra[b"_dead_consumer"] = self.consumer.encode()
            body = {_text(k).encode(): v for k, v in fields.items()} | extra
            pipe.xadd(self.dead_stream, body, maxlen=self.dead_maxlen, approximate=True)
        ids = [*ok, *(d[0] for d in dead)]
        if ids:
            pipe.xack(self.stream, self.group, *ids)
        pipe.execute()

    # ------------------------------------------------------------------ learning
    def _key(self, entry_id: Any) -> str:
        return f"redis:{self.stream}:{_text(entry_id)}"

    def process(self, entries: Sequence[Entry]) -> None:
        """Learn ``entries`` (``(id, fields)`` pairs), then dead-letter the bad ones and
        acknowledge them all. Raises (without acknowledging) if the log fails."""
        if not entries:
            return
        good: list[tuple[Any, dict | None, Any, str | None, str]] = []
        dead: list[tuple[Any, Fields, str]] = []
        for entry_id, fields in entries:
            try:
                row, label, pid, eid = decode_entry(fields)
            except DecodeError as e:
                dead.append((entry_id, fields, str(e)))
                continue
            good.append((entry_id, row, label, pid, eid or self._key(entry_id)))
        for k in reversed(self._odd_features(good)):
            entry_id, row = good[k][0], good[k][1]
            dead.append((entry_id, dict(entries)[entry_id], self._odd_reason(row, good)))
            del good[k]
        fields_of = dict(entries)
        done: list[Any] = []
        while good:
            try:
                self._learn(good)
                done += [g[0] for g in good]
                break
            except _SERVICE_ERRORS:
                raise
            except _ENTRY_ERRORS as e:
                err: Exception = e
                i = e.index if isinstance(e, UnknownPredictionError) else getattr(e, "row", None)
                if i is None or not 0 <= i < len(good):  # cannot tell which: go one by one
                    while good and (one := self._learn_one(good[0])) is None:
                        done.append(good.pop(0)[0])
                    if not good:
                        break
                    i, err = 0, one
                entry_id = good.pop(i)[0]
                dead.append((entry_id, fields_of[entry_id], str(err)))
        order = {entry_id: i for i, (entry_id, _) in enumerate(entries)}
        dead.sort(key=lambda d: order[d[0]])  # the dead-letter stream keeps the stream's order
        self.stats.dead += len(dead)
        self.stats.batches += 1
        if done and self.on_learned is not None:
            self.on_learned()
        self._finish(done, dead)

    def _odd_features(self, good: list[tuple[Any, dict | None, Any, str | None, str]]) -> list[int]:
        """Entries whose features differ from the others', while the model has no feature set
        yet (not fitted, no schema): the set most entries of this read share wins, the first
        of them on a tie, so one bad entry never decides what every later one must have."""
        host = self.host
        if host.guard is not None or host.model.is_fitted:
            return []  # the schema or the fitted model judges each row itself
        sets = [frozenset(g[1]) if g[1] is not None else None for g in good]
        counts = Counter(s for s in sets if s is not None)
        if len(counts) < 2:
            return []
        top = max(counts.values())
        self._features = next(s for s in sets if s is not None and counts[s] == top)
        return [k for k, s in enumerate(sets) if s is not None and s != self._features]

    def _odd_reason(self, row: Any, good: list) -> str:
        want, got = self._features, frozenset(row)
        return (
            f"features {sorted(got)} differ from the {sorted(want)} of the other entries of "
            f"this read (missing {sorted(want - got)}, extra {sorted(got - want)}); the model "
            "has no feature set yet, so the entries most of a read share set it"
        )

    def _learn(self, items: list[tuple[Any, dict | None, Any, str | None, str]]) -> None:
        # every entry is learned under an event id (its own, else its stream key): the host
        # skips ids it learned before, which makes a redelivery harmless
        _, rows, labels, pids, eids = zip(*items, strict=True)
        args = (list(rows), list(labels), list(pids), list(eids))
        if self.service is not None:  # the service's one learn: guards, shadows, dashboard
            res = self.service.learn(self.host.name, *args)
        else:
            res = self.host.learn(*args[:3], event_ids=args[3])
        self.stats.learned += res.learned
        self.stats.duplicates += len(res.already_learned)

    def _learn_one(self, item: tuple[Any, dict | None, Any, str | None, str]) -> Exception | None:
        try:
            self._learn([item])
        except _SERVICE_ERRORS:
            raise
        except _ENTRY_ERRORS as e:
            return e
        return None

    # ------------------------------------------------------------------ loop
    def poll(self) -> int:
        """One round: own pending entries first (after a restart), reclaimed entries when due,
        else one blocking read of new entries. Returns how many entries were handled."""
        if not self._own_pending_done:
            entries = self._read("0", None)  # delivered to this name before a restart
            if not entries:
                self._own_pending_done = True
        elif time.monotonic() - self._last_claim >= self.claim_every:
            entries = self._reclaim()
            if not entries:
                entries = self._read(">", None)
        else:
            entries = self._read(">", self.block_ms)
        self.process(entries)
        return len(entries)

    def run(self, until_idle: bool = False) -> ConsumerStats:
        """Poll until :meth:`stop` (or SIGTERM via the CLI), or, with ``until_idle``, until
        nothing is new and nothing is pending in the group: entries other consumers hold are
        reclaimed however briefly they were idle (a drain: a redelivered entry is skipped by
        its event id) before it returns. Returns the stats."""
        self.ensure_group()
        while not self._stop.is_set():
            if self.poll() == 0 and until_idle and self._own_pending_done:
                drained = self._reclaim(min_idle_ms=0)
                self.process(drained)
                if not drained and self.poll() == 0:
                    break
        return self.stats

    def stop(self) -> None:
        """Finish the batch in hand (learn and acknowledge it), then return from :meth:`run`."""
        self._stop.set()
