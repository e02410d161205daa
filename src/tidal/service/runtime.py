"""``Service``: the models of one data folder, their lock, metrics and background snapshots."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from tidal.service.config import ServiceConfig, build_model
from tidal.service.host import ModelHost
from tidal.service.items import LearnResult
from tidal.service.keyed import keyed_host
from tidal.service.lock import DataFolderLock, make_private
from tidal.service.recorder import Recorder
from tidal.service.refit import Refits
from tidal.service.shadow import ShadowSet

__all__ = ["Metrics", "Service"]

log = logging.getLogger("tidal.service")

# a served single-row predict takes a few hundred microseconds: the first buckets resolve it
_LATENCY_BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.002,
    0.005,
    0.01,
    0.02,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)


class Metrics:
    """The Prometheus metrics of one service, in their own registry (so apps do not collide).

    >>> m = Metrics()
    >>> m.predictions.labels(model="a").inc(3)
    >>> m.registry.get_sample_value("tidal_predictions_total", {"model": "a"})
    3.0
    """

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.predictions = Counter("tidal_predictions", "rows predicted", ["model"], registry=r)
        self.learn_events = Counter(
            "tidal_learn_events", "events learned (acknowledged, on disk)", ["model"], registry=r
        )
        self.rejected = Counter(
            "tidal_requests_rejected",
            "requests answered with a 4xx",
            ["route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "tidal_request_seconds",
            "request latency by route",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.fsync = Histogram(
            "tidal_wal_fsync_seconds",
            "write-ahead-log fsync latency (one per group commit)",
            ["model"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.group_size = Histogram(
            "tidal_wal_group_commit_appends",
            "appends made durable by one fsync",
            ["model"],
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.seq = Gauge("tidal_wal_seq", "last durable sequence number", ["model"], registry=r)

    def fsync_hook(self, model: str) -> Any:
        fsync, group = self.fsync.labels(model=model), self.group_size.labels(model=model)

        def hook(seconds: float, appends: int) -> None:
            fsync.observe(seconds)
            group.observe(appends)

        return hook


class Service:
    """Locks ``config.data``, recovers every configured model, snapshots in the background.

    >>> import tempfile
    >>> svc = Service(ServiceConfig(data=tempfile.mkdtemp(), models={"m": "mean"}))
    >>> svc.hosts["m"].learn([{"x": 1.0}], [2.0]).last_seq
    1
    >>> svc.close()
    """

    def __init__(self, config: ServiceConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.recorder = Recorder()  # the dashboard's time series
        self.shadows = ShadowSet(
            self.metrics.registry, max_pending=config.pending_max, window=config.shadow_window
        )
        self._lock = DataFolderLock(config.data)
        self.hosts: dict[str, ModelHost] = {}
        self.quarantine: Any = None  # <data>/quarantine.sqlite, opened when a model is guarded
        try:
            for name, spec in config.models.items():
                if config.key:  # a model per key, in shards (tidal.service.keyed)
                    self.hosts[name] = keyed_host(name, build_model(name, spec), config)
                    continue
                self.hosts[name] = ModelHost(
                    name,
                    build_model(name, spec),
                    config.data,
                    snapshot_every=config.snapshot_every,
                    snapshots_kept=config.snapshots_kept,
                    pending_max=config.pending_max,
                    pending_ttl=config.pending_ttl,
                    learned_ids_max=config.learned_ids_max,
                    learned_ids_ttl=config.learned_ids_ttl,
                    segment_bytes=config.wal_segment_bytes,
                    on_fsync=self.metrics.fsync_hook(name),
                    durable_reads=config.durable_reads,
                    accept_loss=config.accept_loss,
                )
            self._guard_models()
            for name, challengers in config.shadows.items():
                for key, spec in challengers.items():
                    self.shadows.add(name, key, build_model(f"{name}.{key}", spec))
            self._registry: Any = None
            self._registry_lock = threading.Lock()
            repairs = [h.repair for h in self.hosts.values() if h.repair is not None]
            if config.db or (Path(config.data) / "registry.sqlite").exists() or repairs:
                _ = self.registry  # tag each model with its production version now
            for repair in repairs:  # the loss accepted is on record where promotions are
                lost = "; ".join(repair["lost"])
                name = repair["model"]
                self.registry.note("tidal", "accept_loss", lost, name=name, details=repair)
            self._restore_shadow_outputs()  # after the registry's shadows joined
            # after recovery, whose replay refits in this process as the log was learned
            models = [h.model for h in self.hosts.values()]
            self.refits = Refits(config.refit, config.ray, self.metrics.registry, models)
        except BaseException:
            if getattr(self, "_registry", None) is not None:
                self._registry.close()
            if self.quarantine is not None:
                self.quarantine.close()
            for host in self.hosts.values():
                host.close(snapshot=False)
            self._lock.release()
            raise
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._snapshot_loop, name="tidal-snap", daemon=True)
        self._thread.start()
        #: set once every model ran a probe learn and predict (kernels loaded): /readyz waits
        self.warmed = threading.Event()
        threading.Thread(target=self._warm_up, name="tidal-warm", daemon=True).start()

    def _warm_up(self) -> None:
        for name, host in self.hosts.items():
            try:
                host.warm_up()
            except Exception as e:  # noqa: BLE001 (readiness must not hang on a probe)
                log.warning("model %r: warm-up probe failed (%s); serving it anyway", name, e)
        self.warmed.set()

    def _restore_shadow_outputs(self) -> None:
        """Open each model's journal of shadow outputs and give the shadows theirs back."""
        from tidal.service.pending import PendingPredictions

        cfg = self.config
        for name, h in self.hosts.items():
            journal = PendingPredictions(
                Path(cfg.data) / "pending" / f"{name}.shadows",
                max_items=cfg.pending_max,
                ttl=cfg.pending_ttl,
                skip=lambda pid, h=h: pid in h._learned,
            )
            self.shadows.restore(name, journal, lambda pid, h=h: (h._pending.get(pid) or [None])[0])

    def _guard_models(self) -> None:
        """Put a guard (and a feature-drift monitor) in front of each guarded model."""
        if not self.config.guards:
            return
        from tidal.guards import Schema, SchemaError
        from tidal.service.config import ConfigError
        from tidal.service.guarding import GuardQuarantine, ModelGuard

        cfg = self.config
        self.quarantine = GuardQuarantine(
            Path(cfg.data) / "quarantine.sqlite", max_rows=cfg.quarantine_max_rows
        )
        for name, path in cfg.guards.items():
            try:
                schema = Schema.from_json(Path(path))
                guard = ModelGuard(
                    name,
                    schema,
                    self.quarantine,
                    drift_reference=cfg.drift_reference,
                    drift_window=cfg.drift_window,
                )
            except (SchemaError, ValueError) as e:
                raise ConfigError(f"model {name!r}: guards: {e}") from e
            # restores the guard's state from the model's snapshot (and the log after it)
            self.hosts[name].attach_guard(guard)

    def served(self, name: str, error: Any) -> ModelHost:
        """The host of model ``name``; raises ``error(404, message, loc, kind)`` (the app's
        error class) for a model not served here."""
        h = self.hosts.get(name)
        if h is None:
            msg = f"unknown model {name!r}; served models: {sorted(self.hosts)}"
            raise error(404, msg, ["path", "name"], "not_found")
        return h

    def learn(
        self,
        name: str,
        rows: list[Any] | None,
        labels: list[Any],
        prediction_ids: list[str | None] | None = None,
        event_ids: list[str | None] | None = None,
    ) -> LearnResult:
        """Learn into model ``name``: the one way in for every route (HTTP, the fast path,
        the Redis consumer). :meth:`ModelHost.learn` (guards, idempotency, the log), then what
        follows a learn: the snapshot trigger, metrics, the dashboard's series, a guard
        burst's freeze, shadow scoring and the rolling-metric freeze. Raises what the host
        raises (a KeyError for an unknown model)."""
        from tidal.service.shadow import freeze

        h = self.hosts[name]
        n = len(labels)
        res = h.learn(
            rows, labels, prediction_ids, event_ids=event_ids, probe=self.recorder.score_rows
        )
        self.learned(h)
        self.metrics.learn_events.labels(model=name).inc(res.learned)
        self.recorder.count(name, "learn", res.learned)
        if res.probe is not None:
            self.recorder.score(name, *res.probe)
        for rule in res.guard_rules:  # guard events on the dashboard's timeline
            self.recorder.mark(name, "guard", rule)
        if h.guard is not None and h.guard.learning_paused and h.frozen is None:
            rules = ", ".join(h.guard.paused_rules())
            freeze(
                self,
                h,
                0.0,
                0.0,
                reason=f"frozen: guard burst ({rules}): learning paused",
                details={"guard": "burst", "rules": h.guard.paused_rules()},
            )
        done = set(res.already_learned)  # a retried label is scored and learned once
        done.update(i for i, v in enumerate(res.verdicts or ()) if v["verdict"] == "quarantined")
        kept = [i for i in range(n) if i not in done]
        pids = prediction_ids if prediction_ids is not None else [None] * n
        x = rows if rows is not None else [None] * n
        l_pids = [pids[i] for i in kept]
        l_labels = [labels[i] for i in kept]
        self.shadows.score(name, l_pids, l_labels, [x[i] for i in kept])
        floor = self.config.freeze_floor
        watch = self.shadows.watch(name, h.model) if floor > 0 and res.learned else None
        if watch is not None and watch.metric == "accuracy":
            watch.score(l_pids, l_labels)
            value, count = watch.value, watch.info()["window_events"]
            if value is not None and count >= self.config.freeze_min_events and value < floor:
                if h.frozen is None:
                    freeze(self, h, value, floor)
        return res

    def learned(self, host: ModelHost) -> None:
        """Tell the snapshot thread that ``host`` learned (it snapshots every N events)."""
        self.metrics.seq.labels(model=host.name).set(host.applied_seq)
        if host.events_since_snapshot >= host.snapshot_every:
            self._wake.set()

    def _snapshot_loop(self) -> None:
        period = min(1.0, self.config.snapshot_seconds)
        while not self._stop.is_set():
            self._wake.wait(period)
            self._wake.clear()
            for host in list(self.hosts.values()):
                if self._stop.is_set():
                    return
                if host.broken is None and host.snapshot_due(self.config.snapshot_seconds):
                    host.snapshot()

    @property
    def registry(self) -> Any:
        """The model registry (:class:`tidal.registry.Registry`), opened (and migrated) at first
        use: ``config.db``, or ``<data>/registry.sqlite``. Opening it tags each served model
        with its production version, and installs that version where the model running is an
        other registry version (the service stopped between a promotion and its install)."""
        with self._registry_lock:
            if self._registry is None:
                from tidal.registry import GatePolicy, Registry

                cfg = self.config
                url = cfg.db or f"sqlite:///{Path(cfg.data).resolve() / 'registry.sqlite'}"
                policy = GatePolicy(
                    metric=cfg.gate_metric,
                    margin=cfg.gate_margin,
                    min_events=cfg.gate_min_events,
                    last_n=cfg.gate_last_n,
                )
                reg = Registry(url, policy=policy)
                if not cfg.db:  # token hashes and audit: the owner's alone (umask or not)
                    make_private(cfg.data)
                stale = []
                for name, host in self.hosts.items():
                    prod = reg.production(name)
                    if prod is not None and host.version is None:
                        host.version = str(prod.version)
                    elif prod is not None and host.version != str(prod.version):
                        stale.append((name, prod.version))  # promoted, then a crash
                    self.shadows.sync(name, reg)
                self._registry = reg
            else:
                return self._registry
        for name, version in stale:
            self.install(name, version)
        return self._registry

    def install(self, name: str, version: int) -> None:
        """Serve registry ``version`` of model ``name`` from now on (if it is served here).

        The model is replaced between two requests and its snapshot is on disk before the next
        request runs: no event is acknowledged on a model a restart would not bring back. A
        crash between the registry's change and this snapshot is repaired at the next start
        (see :attr:`registry`)."""
        host = self.hosts.get(name)
        if host is None:
            return
        model = self.registry.load(name, version)
        with host._snap_lock, host._lock:
            host.model = model
            host.version = str(version)
            # a version put in on purpose learns again; the freeze on disk goes only once the
            # new model's snapshot is there, so a crash before that restarts frozen
            frozen, host.frozen = host.frozen, None
            # same seq as an older snapshot is fine: save replaces it atomically
            host.save_snapshot(**host.capture())
            if frozen is not None or host.freeze_record is not None:
                host.unfreeze()
        self.shadows.reset_watch(name)

    @property
    def ready(self) -> bool:
        """Recovered, warmed up (see :meth:`ModelHost.warm_up`), not stopping, nothing broken."""
        return (
            self.warmed.is_set()
            and not self._stop.is_set()
            and all(h.broken is None for h in self.hosts.values())
        )

    def close(self) -> None:
        """Stop snapshotting, flush every log, snapshot every model, release the folder."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        self._thread.join()
        for host in self.hosts.values():
            host.close(snapshot=True)
        self.refits.close()
        for journal in self.shadows.journals.values():
            journal.close()
        if self._registry is not None:
            self._registry.close()
        if self.quarantine is not None:
            self.quarantine.close()
        self._lock.release()
