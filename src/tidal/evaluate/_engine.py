"""The prequential engine: several learners, one stream, test-then-train, exact per row.

:func:`prequential` checks its arguments and runs a :class:`Prequential`, whose named steps
are the run: ``open`` (first block, positive label, metrics, one track per learner), ``warm``
(compile before the clocks start), ``stream`` (each piece of each block to each learner, a
checkpoint every ``every`` rows) and ``finish`` (final rows, recovery analysis, stamp, costs).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tidal._threads import bounded_threads
from tidal.base.exceptions import InputError, ParameterError
from tidal.evaluate import _recovery
from tidal.evaluate._costs import CostMeter, engine_row
from tidal.evaluate._guarded import GuardStage
from tidal.evaluate._health import TargetRange
from tidal.evaluate._results import CheckpointSeries, Results
from tidal.evaluate._schedule import LabelQueue
from tidal.evaluate._setup import (
    _name_learners,
    _pick_pos_label,
    _task,
    _tracks,
    _warm_scoring,
    default_metrics,
)
from tidal.evaluate._source import as_source
from tidal.evaluate._stamp import stamp
from tidal.evaluate._steady import count_labels
from tidal.evaluate._track import (
    StepEvent,
    _concat,
    _costs,
    _final_row,
    _model_bytes,
    _run_ops,
    _sample_latency,
    _Track,
)
from tidal.evaluate._warmup import CompileClock, warm_up
from tidal.evaluate.schema import COST_RECORD
from tidal.metrics.base import Metric
from tidal.stream import Fingerprint

__all__ = ["Prequential", "Settings", "StepEvent", "default_metrics", "prequential"]


@dataclass(frozen=True)
class Settings:
    """How :func:`prequential` runs (its keyword arguments, documented there), checked once.

    >>> Settings(every=0).check()
    Traceback (most recent call last):
    ...
    tidal.base.exceptions.ParameterError: every == 0, must be an integer >= 1
    """

    metrics: Sequence[Metric] | None = None
    window: int | None = 1000
    every: int = 1000
    delay: int = 0
    delay_seconds: float | None = None
    pos_label: Any = None
    callbacks: Any = ()
    on_error: str = "raise"
    progress: Callable[[int], None] | None = None
    fingerprint: bool = True
    change_points: Sequence[int] | None = None
    recovery_window: int | None = None
    guard: Any = None
    guard_source: str = "stream"
    on_interrupt: str = "raise"
    warmup: bool | Callable[[str, int, int], None] = True

    def check(self) -> Settings:
        """Raise :class:`ParameterError` naming the first bad setting; return self."""
        every, delay, delay_seconds = self.every, self.delay, self.delay_seconds
        if self.on_error not in ("raise", "record"):
            raise ParameterError(f"on_error == {self.on_error!r}, must be 'raise' or 'record'")
        if self.on_interrupt not in ("raise", "partial"):
            raise ParameterError(
                f"on_interrupt == {self.on_interrupt!r}, must be 'raise' or 'partial'"
            )
        if not isinstance(every, int | np.integer) or every < 1:
            raise ParameterError(f"every == {every!r}, must be an integer >= 1")
        if not isinstance(delay, int | np.integer) or delay < 0:
            raise ParameterError(f"delay == {delay!r}, must be an integer >= 0 (rows)")
        if delay_seconds is not None and not delay_seconds >= 0:
            raise ParameterError(f"delay_seconds == {delay_seconds!r}, must be >= 0")
        if self.guard is not None and (delay or delay_seconds is not None):
            raise ParameterError(
                "guard: label delays are not supported with a guard (delay=0 only)"
            )
        return self


def prequential(
    data: Any,
    learners: Mapping[str, Any] | Sequence[Any],
    *,
    target: str | None = None,
    metrics: Sequence[Metric] | None = None,
    window: int | None = 1000,
    every: int = 1000,
    delay: int = 0,
    delay_seconds: float | None = None,
    pos_label: Any = None,
    task: str | None = None,
    callbacks: Sequence[Callable[[StepEvent], None]]
    | Mapping[str, Sequence[Callable[[StepEvent], None]]] = (),
    on_error: str = "raise",
    progress: Callable[[int], None] | None = None,
    fingerprint: bool = True,
    change_points: Sequence[int] | None = None,
    recovery_window: int | None = None,
    guard: Any = None,
    guard_source: str = "stream",
    on_interrupt: str = "raise",
    warmup: bool | Callable[[str, int, int], None] = True,
) -> Results:
    """Run ``learners`` side by side on one stream, test-then-train, and measure them.

    Each block goes to each learner in turn: ``step_proba_many`` / ``step_many`` (predict each
    row, then learn it) or, with a label delay, ``predict_*_many`` when rows arrive and
    ``learn_many`` when their labels do (see :mod:`tidal.evaluate._schedule`). Blocks are split
    at checkpoints (every ``every`` rows), so the checkpoint values are exact whatever the block
    size. Learners are trained in place.

    Parameters
    ----------
    data
        A :class:`tidal.stream.Source`, a pandas/polars DataFrame (with ``target``) or ``(X, y)``.
    learners
        ``{name: learner}``, or a list of learners and/or :mod:`tidal.zoo` names ("lr", "nb"...).
    metrics
        Cumulative metrics (cloned per learner); default: :func:`default_metrics` for the task.
    window
        Also report each metric over the last ``window`` rows (None: cumulative only).
    delay, delay_seconds
        The label of a row arrives ``delay`` rows later, or ``delay_seconds`` later on the
        source's time column.
    pos_label
        The positive label of binary metrics (default: 1/True, else the greater label).
    callbacks
        Called with a :class:`StepEvent` after every call on a learner (drift detectors,
        guards and monitors plug in here); a list for every learner, or ``{name: [...]}``.
    on_error
        "raise" the learner's error (it names the stream row), or "record" it (any exception)
        in the learner's row and drop the learner for the rest of the stream, while the others
        go on. A learner whose predictions diverge is stopped the same way (``status``).
    on_interrupt
        On Ctrl-C (KeyboardInterrupt): "raise", or "partial": stop reading and return what was
        measured so far, with ``meta["partial"] = True``.
    warmup
        Before the clocks start, run a fresh copy of each learner on the first rows so that
        numba compiles (or loads) its kernels there; compile time met later is also taken off
        the learner's CPU (see :mod:`tidal.evaluate._warmup`). A callable is called with
        ``(learner name, index, number of learners)`` before each copy, and once at the end
        with index == number (progress display).
    progress
        Called with the number of rows done after each block.
    change_points
        Known change points (stream rows) for the recovery analysis; None: detect them with
        ADWIN on the best learner's errors (see :mod:`tidal.evaluate._recovery`).
    recovery_window
        Rows of the rolling metric used for recovery and curves (default: ``window`` or 1000).
    guard, guard_source
        A :class:`tidal.guards.Guard` between the stream and the learners (rows it quarantines
        are neither scored nor learned; rows it pauses are scored, not learned; see
        :mod:`tidal.evaluate._guarded`), checking rows as coming from ``guard_source``. Its
        counters per rule and per verdict are in ``Results.meta["guard"]``. Needs ``delay=0``.

    Besides the metrics, each row holds the learner's costs (:mod:`tidal.evaluate._costs`);
    ``Results.costs`` adds the engine's own row, ``Results.changes`` the recovery analysis.

    >>> import numpy as np
    >>> from tidal.dummy import MajorityClassifier, NoChangeClassifier
    >>> X, y = np.zeros((8, 1)), np.array([1, 1, 0, 0, 0, 0, 1, 1])
    >>> learners = {"majority": MajorityClassifier(), "nochange": NoChangeClassifier()}
    >>> res = prequential((X, y), learners, every=4, window=None)
    >>> [(r["learner"], r["Accuracy"]) for r in res.rows]
    [('majority', 0.25), ('nochange', 0.625)]
    >>> [c["row"] for c in res.checkpoints]
    [4, 4, 8, 8]
    """
    settings = Settings(
        metrics=metrics, window=window, every=every, delay=delay, delay_seconds=delay_seconds,
        pos_label=pos_label, callbacks=callbacks, on_error=on_error, progress=progress,
        fingerprint=fingerprint, change_points=change_points, recovery_window=recovery_window,
        guard=guard, guard_source=guard_source, on_interrupt=on_interrupt, warmup=warmup,
    ).check()  # fmt: skip
    source = as_source(data, target)
    named = _name_learners(learners)
    if not named:
        raise ParameterError("no learners: give at least one")
    task = task or _task(source, list(named.values()))
    # one thread per BLAS/OpenMP pool for the whole run: the learners take turns on the CPU,
    # and a pool sized for every core only fights the others (and the training threads)
    with bounded_threads(1), CompileClock() as clock:
        return Prequential(source, named, task, settings, clock).run()


class Prequential:
    """One run of the engine over ``source``: :meth:`run` is :meth:`open`, :meth:`warm`,
    :meth:`stream` and :meth:`finish`, in that order. Built by :func:`prequential`.

    >>> import numpy as np
    >>> from tidal.dummy import MajorityClassifier
    >>> from tidal.evaluate._source import as_source
    >>> source = as_source((np.zeros((6, 1)), np.array([0, 0, 1, 0, 1, 1])), None)
    >>> with CompileClock() as clock:
    ...     run = Prequential(source, {"m": MajorityClassifier()}, "binary",
    ...                       Settings(every=3, window=None), clock)
    ...     res = run.run()
    >>> res["m"]["Accuracy"], run.seen, [c["row"] for c in res.checkpoints]
    (0.5, 6, [3, 6])
    """

    def __init__(
        self, source: Any, named: dict[str, Any], task: str, settings: Settings, clock: Any
    ) -> None:
        self.source, self.named, self.task = source, named, task
        self.settings, self.clock = settings, clock
        self.seen = 0  # rows run so far
        self.labels: dict[Any, int] = {}  # rows per class: the verdict needs enough of each
        self.partial = False
        self.series = CheckpointSeries(settings.every)  # bounded: a long stream keeps fewer
        self.target = TargetRange() if task == "regression" else None
        self.queue = LabelQueue(settings.delay, settings.delay_seconds)
        guard, source_name = settings.guard, settings.guard_source
        self.stage = None if guard is None else GuardStage(guard, source_name, task != "regression")
        self.digest = Fingerprint() if settings.fingerprint else None
        self.tracks: list[_Track] = []
        self.metrics: list[Metric] = []
        self.pos_label = settings.pos_label
        self.warm_s = self.warm_cpu = 0.0

    def run(self) -> Results:
        blocks = iter(self.source)
        first = self.open(next(blocks, None))
        warm0 = time.process_time()
        self.warm_s = self.warm(first)
        self.warm_cpu = time.process_time() - warm0
        self.start_clocks()
        self.stream(_chain(first, blocks))
        return self.finish()

    # -- the steps ---------------------------------------------------------------------------
    def open(self, first: Any) -> Any:
        """Fix the positive label and the metrics from the first block; one track per learner."""
        s = self.settings
        if self.pos_label is None and self.task == "binary" and first is not None:
            if first.y is not None:
                self.pos_label = _pick_pos_label(first.y)
        if s.metrics is not None:
            self.metrics = list(s.metrics)
        else:
            self.metrics = default_metrics(self.task, self.pos_label)
        self.tracks = _tracks(self.named, self.metrics, s.window, s.callbacks)
        return first

    def warm(self, first: Any) -> float:
        """Compile (or load) every learner's kernels on copies, before the clocks start."""
        warmup, tracks = self.settings.warmup, self.tracks
        if not warmup or first is None or first.y is None:
            return 0.0
        started = time.perf_counter()
        report = warmup if callable(warmup) else None
        named = {t.name: t.learner for t in tracks}
        classifiers = {t.name: t.classifier for t in tracks}

        def each(name: str, i: int) -> None:
            if report is not None:
                report(name, i, len(tracks))

        warm_up(named, first, classifiers, each)
        _warm_scoring(tracks, first)
        if report is not None:
            report("", len(tracks), len(tracks))
        return time.perf_counter() - started

    def start_clocks(self) -> None:
        """Wall, CPU and compile clocks start here; each learner gets its cost meter."""
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        self.compile0 = (self.clock.cpu, self.clock.wall)
        for t in self.tracks:
            t.meter = CostMeter(t.learner, self.settings.delay)

    def stream(self, blocks: Iterable[Any]) -> None:
        """Every block, cut at the checkpoints, to every learner; Ctrl-C ends it if asked."""
        every, progress = self.settings.every, self.settings.progress
        try:
            for block in blocks:
                if block.y is None:
                    raise InputError("the source has no target: name the label column (target=...)")
                if self.digest is not None:  # hashed as it streams by, not in a second pass
                    self.digest.update(block)
                if self.task != "regression":
                    count_labels(self.labels, block.y)
                for piece in _pieces(block, every):
                    self.step(piece)
                if progress is not None:
                    progress(self.seen)
            self.run_ops(self.queue.flush())
        except KeyboardInterrupt:
            if self.settings.on_interrupt == "raise":
                raise
            self.partial = True  # what was measured so far is kept, marked partial
        if self.seen % every != 0 or self.seen == 0:
            self.checkpoint(self.seen)

    def step(self, piece: Any) -> None:
        """One piece (never across a checkpoint) to every learner; a checkpoint at its end."""
        stage = self.stage
        if self.target is not None:
            self.target.update(piece.y)
        ops = self.queue.schedule(piece) if stage is None else stage.ops(piece, _live(self.tracks))
        self.run_ops(ops)
        self.seen += len(piece)
        if self.seen % self.settings.every == 0:
            self.checkpoint(self.seen, piece if stage is None else stage.last)

    def run_ops(self, ops: list[tuple[str, Any]]) -> None:
        """The scheduled calls (step, predict, learn) on every learner still running."""
        for t in self.tracks:
            if t.error is None:
                _run_ops(t, ops, self.settings.on_error, self.clock, self.target)

    def checkpoint(self, row: int, piece: Any = None) -> None:
        """Every learner's metrics and costs at ``row`` (latency sampled on ``piece``)."""
        wall = time.perf_counter() - self.wall0 - (self.clock.wall - self.compile0[1])
        records = []
        for t in self.tracks:
            if piece is not None and t.error is None and t.meter is not None:
                _sample_latency(t, piece, self.clock)
            mem = _model_bytes(t)
            t.peak_bytes = max(t.peak_bytes, mem)
            rec = {"learner": t.name, "row": row}
            rec.update({m.name: m.get() for m in t.metrics})
            rec.update(_costs(t, mem))
            rec["wall_s"] = wall
            records.append(rec)
        self.series.add(row, records)

    def finish(self) -> Results:
        """The final rows, the recovery analysis, the stamp and the costs."""
        s, tracks, seen, clock = self.settings, self.tracks, self.seen, self.clock
        rows = [_final_row(t, seen) for t in tracks]
        analysis = _analyze(tracks, rows, s.window, s.change_points, s.recovery_window)
        compile_cpu, compile_wall = clock.cpu - self.compile0[0], clock.wall - self.compile0[1]
        digest = self.digest
        meta = stamp(
            self.source,
            self.task,
            seen,
            digest.hexdigest(self.source) if digest is not None and not self.partial else False,
            {
                "every": int(s.every),
                "window": s.window,
                "delay": int(s.delay),
                "delay_seconds": s.delay_seconds,
                "pos_label": self.pos_label,
                "metrics": [m.name for m in self.metrics],
            },
            {t.name: t.learner for t in tracks},
            time.perf_counter() - self.wall0 - compile_wall,
        )
        wall = time.perf_counter() - self.wall0 - compile_wall
        total_cpu = time.process_time() - self.cpu0 - compile_cpu
        meta["cpu_s"] = total_cpu
        meta["data"]["class_counts"] = {str(c): k for c, k in self.labels.items()}
        meta["warmup_s"], meta["warmup_cpu_s"] = self.warm_s, self.warm_cpu
        meta["compile_cpu_s"] = compile_cpu  # kernels first reached after the warm-up
        meta["partial"] = self.partial
        if self.partial:
            meta["rows_done"] = seen
        if self.stage is not None:
            meta["guard"] = self.stage.summary()
            self.stage.annotate(rows, {t.name: t.errors for t in tracks})
        costs = [{k: r.get(k) for k in COST_RECORD} for r in rows]
        costs.append(engine_row(rows, total_cpu, wall, self.warm_cpu + compile_cpu))
        return Results(rows, self.series.records(), meta, costs=costs, analysis=analysis)


def _pieces(block: Any, every: int) -> Iterable[Any]:
    """Split ``block`` at the checkpoint rows (multiples of ``every``)."""
    start, end = block.start, block.start + len(block)
    a = start
    while a < end:
        b = min(end, (a // every + 1) * every)
        yield block if (a, b) == (start, end) else block.slice(a - start, b - start)
        a = b


def _analyze(
    tracks: list[_Track],
    rows: list[dict[str, Any]],
    window: int | None,
    change_points: Sequence[int] | None,
    recovery_window: int | None,
) -> dict[str, Any]:
    errors = {t.name: _concat(t.errors) if t.errors else np.zeros(0) for t in tracks}
    families = {t.name: t.meter.family if t.meter is not None else None for t in tracks}
    classifier = bool(tracks) and tracks[0].classifier
    return analyze_run(errors, families, classifier, rows, window, change_points, recovery_window)


def analyze_run(
    errors: dict[str, np.ndarray],
    families: dict[str, str | None],
    classifier: bool,
    rows: list[dict[str, Any]],
    window: int | None,
    change_points: Sequence[int] | None,
    recovery_window: int | None,
) -> dict[str, Any]:
    """Recovery after change points; adds each learner's summary to its row. ``errors``: each
    learner's per-row errors; also used to analyse runs merged from several (a grid's cells)."""
    ranked = [
        name
        for name, err in errors.items()
        if families.get(name) not in (None, "baseline") and len(err)
    ]
    ref = min(ranked, key=lambda k: float(np.mean(errors[k])), default=None)
    out = _recovery.analyze(
        errors,
        classifier,
        recovery_window or window or 1000,
        None if change_points is None else list(change_points),
        ref,
    )
    out["reference"] = ref
    for rec in rows:
        rec.update(out["summary"].get(rec["learner"], {}))
    return out


def _live(tracks: list[_Track]) -> list[Any]:
    """The learners still running (the guard rolls them back after a label burst)."""
    return [t.learner for t in tracks if t.error is None]


def _chain(first: Any, rest: Iterable[Any]) -> Iterable[Any]:
    if first is not None:
        yield first
        yield from rest
