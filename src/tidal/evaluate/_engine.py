"""The prequential engine: several learners, one stream, test-then-train, exact per row."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from tidal.evaluate._source import as_source
from tidal.evaluate._stamp import stamp
from tidal.evaluate._steady import count_labels
from tidal.evaluate._track import (
    StepEvent,
    _concat,
    _costs,
    _final_row,
    _is_classifier,
    _model_bytes,
    _run_ops,
    _sample_latency,
    _Track,
)
from tidal.evaluate._warmup import CompileClock, warm_up
from tidal.metrics.base import Metric
from tidal.stream import Fingerprint

__all__ = ["StepEvent", "prequential", "default_metrics"]


def default_metrics(task: str, pos_label: Any = True) -> list[Metric]:
    """The metrics the engine reports for ``task`` ("binary", "multiclass" or "regression").

    >>> [m.name for m in default_metrics("binary")]
    ['Accuracy', 'F1', 'ROCAUC', 'LogLoss']
    """
    from tidal import metrics as tm

    if task == "regression":
        return [tm.MAE(), tm.RMSE(), tm.R2()]
    if task == "binary":
        return [tm.Accuracy(), tm.F1(pos_label), tm.ROCAUC(pos_label), tm.LogLoss(pos_label)]
    return [tm.Accuracy(), tm.BalancedAccuracy(), tm.MacroF1(), tm.LogLoss()]


def _rolling(metric: Metric, window: int) -> Metric:
    params = metric._params()
    params["window"] = window
    return type(metric)(**params)


def _tracks(
    named: dict[str, Any], base: list[Metric], window: int | None, callbacks: Any
) -> list[_Track]:
    """One track per learner: its own copies of the metrics (plus rolling ones) and hooks."""
    tracks = []
    for name, learner in named.items():
        ms = [m.clone() for m in base]
        if window is not None:
            ms += [_rolling(m, window) for m in base if m.window is None]
        classifier = _is_classifier(learner)
        usable = [m for m in ms if classifier == (m.task != "regression")]
        hooks = callbacks.get(name, ()) if isinstance(callbacks, Mapping) else callbacks
        tracks.append(_Track(name, learner, usable, classifier, callbacks=list(hooks)))
    return tracks


def _name_learners(learners: Any) -> dict[str, Any]:
    if isinstance(learners, Mapping):
        return {str(k): v for k, v in learners.items()}
    from tidal import zoo

    out: dict[str, Any] = {}
    for item in learners:
        if isinstance(item, str):
            name, learner = item, zoo.make(item)
        else:
            name, learner = type(item).__name__, item
        base, k = name, 2
        while name in out:
            name, k = f"{base}#{k}", k + 1
        out[name] = learner
    return out


def _pieces(block: Any, every: int) -> Iterable[Any]:
    """Split ``block`` at the checkpoint rows (multiples of ``every``)."""
    start, end = block.start, block.start + len(block)
    a = start
    while a < end:
        b = min(end, (a // every + 1) * every)
        yield block if (a, b) == (start, end) else block.slice(a - start, b - start)
        a = b


def _pick_pos_label(y: np.ndarray) -> Any:
    values = {v.item() if isinstance(v, np.generic) else v for v in np.unique(y).tolist()}
    if values <= {0, 1}:
        return True  # == 1: River's and scikit-learn's positive class
    return sorted(values, key=str)[-1]  # scikit-learn's rule: the greater label


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
    if on_error not in ("raise", "record"):
        raise ParameterError(f"on_error == {on_error!r}, must be 'raise' or 'record'")
    if on_interrupt not in ("raise", "partial"):
        raise ParameterError(f"on_interrupt == {on_interrupt!r}, must be 'raise' or 'partial'")
    if not isinstance(every, int | np.integer) or every < 1:
        raise ParameterError(f"every == {every!r}, must be an integer >= 1")
    if not isinstance(delay, int | np.integer) or delay < 0:
        raise ParameterError(f"delay == {delay!r}, must be an integer >= 0 (rows)")
    if delay_seconds is not None and not delay_seconds >= 0:
        raise ParameterError(f"delay_seconds == {delay_seconds!r}, must be >= 0")
    if guard is not None and (delay or delay_seconds is not None):
        raise ParameterError("guard: label delays are not supported with a guard (delay=0 only)")
    source = as_source(data, target)
    named = _name_learners(learners)
    if not named:
        raise ParameterError("no learners: give at least one")
    task = task or _task(source, list(named.values()))
    # one thread per BLAS/OpenMP pool for the whole run: the learners take turns on the CPU,
    # and a pool sized for every core only fights the others (and the training threads)
    with bounded_threads(1), CompileClock() as clock:
        return _run(
            source, named, task, clock, metrics, window, every, delay, delay_seconds, pos_label,
            callbacks, on_error, on_interrupt, progress, warmup, fingerprint, change_points,
            recovery_window, guard, guard_source,
        )  # fmt: skip


def _run(
    source: Any,
    named: dict[str, Any],
    task: str,
    clock: CompileClock,
    metrics: Sequence[Metric] | None,
    window: int | None,
    every: int,
    delay: int,
    delay_seconds: float | None,
    pos_label: Any,
    callbacks: Any,
    on_error: str,
    on_interrupt: str,
    progress: Callable[[int], None] | None,
    warmup: bool | Callable[[str, int, int], None],
    fingerprint: bool,
    change_points: Sequence[int] | None,
    recovery_window: int | None,
    guard: Any,
    guard_source: str,
) -> Results:
    blocks = iter(source)
    first = next(blocks, None)
    if pos_label is None and task == "binary" and first is not None and first.y is not None:
        pos_label = _pick_pos_label(first.y)
    base_metrics = list(metrics) if metrics is not None else default_metrics(task, pos_label)
    tracks = _tracks(named, base_metrics, window, callbacks)
    warm0 = time.process_time()
    warm_s = _warm(tracks, first, warmup, clock)
    warm_cpu = time.process_time() - warm0
    wall0, cpu0, compile0 = time.perf_counter(), time.process_time(), (clock.cpu, clock.wall)
    for t in tracks:
        t.meter = CostMeter(t.learner, delay)
    queue = LabelQueue(delay, delay_seconds)
    stage = None if guard is None else GuardStage(guard, guard_source, task != "regression")
    target = TargetRange() if task == "regression" else None
    series = CheckpointSeries(every)  # bounded: a long stream keeps a coarser series
    seen = 0
    labels: dict[Any, int] = {}  # rows per class: the verdict needs enough of each
    partial = False

    def run(ops: list[tuple[str, Any]]) -> None:
        for t in tracks:
            if t.error is None:
                _run_ops(t, ops, on_error, clock, target)

    def checkpoint(row: int, piece: Any = None) -> None:
        wall = time.perf_counter() - wall0 - (clock.wall - compile0[1])
        records = []
        for t in tracks:
            if piece is not None and t.error is None and t.meter is not None:
                _sample_latency(t, piece, clock)
            mem = _model_bytes(t)
            t.peak_bytes = max(t.peak_bytes, mem)
            rec = {"learner": t.name, "row": row}
            rec.update({m.name: m.get() for m in t.metrics})
            rec.update(_costs(t, mem))
            rec["wall_s"] = wall
            records.append(rec)
        series.add(row, records)

    # hashed as it streams by: stamping the results must not read the whole file once more
    digest = Fingerprint() if fingerprint else None
    try:
        for block in _chain(first, blocks):
            if block.y is None:
                raise InputError("the source has no target: name the label column (target=...)")
            if digest is not None:
                digest.update(block)
            if task != "regression":
                count_labels(labels, block.y)
            for piece in _pieces(block, every):
                if target is not None:
                    target.update(piece.y)
                run(queue.schedule(piece) if stage is None else stage.ops(piece, _live(tracks)))
                seen += len(piece)
                if seen % every == 0:
                    checkpoint(seen, piece if stage is None else stage.last)
            if progress is not None:
                progress(seen)
        run(queue.flush())
    except KeyboardInterrupt:
        if on_interrupt == "raise":
            raise
        partial = True  # what was measured so far is kept, marked partial
    if seen % every != 0 or seen == 0:
        checkpoint(seen)
    rows = [_final_row(t, seen) for t in tracks]
    analysis = _analyze(tracks, rows, window, change_points, recovery_window)
    compile_cpu, compile_wall = clock.cpu - compile0[0], clock.wall - compile0[1]
    meta = stamp(
        source,
        task,
        seen,
        digest.hexdigest(source) if digest is not None and not partial else False,
        {
            "every": int(every),
            "window": window,
            "delay": int(delay),
            "delay_seconds": delay_seconds,
            "pos_label": pos_label,
            "metrics": [m.name for m in base_metrics],
        },
        {t.name: t.learner for t in tracks},
        time.perf_counter() - wall0 - compile_wall,
    )
    wall = time.perf_counter() - wall0 - compile_wall
    total_cpu = time.process_time() - cpu0 - compile_cpu
    meta["cpu_s"] = total_cpu
    meta["data"]["class_counts"] = {str(c): k for c, k in labels.items()}
    meta["warmup_s"], meta["warmup_cpu_s"] = warm_s, warm_cpu
    meta["compile_cpu_s"] = compile_cpu  # kernels first reached after the warm-up
    meta["partial"] = partial
    if partial:
        meta["rows_done"] = seen
    if stage is not None:
        meta["guard"] = stage.summary()
        stage.annotate(rows, {t.name: t.errors for t in tracks})
    costs = [{k: r.get(k) for k in _COST_COLUMNS} for r in rows]
    costs.append(engine_row(rows, total_cpu, wall, warm_cpu + compile_cpu))
    return Results(rows, series.records(), meta, costs=costs, analysis=analysis)


def _warm(
    tracks: list[_Track],
    first: Any,
    warmup: bool | Callable[[str, int, int], None],
    clock: CompileClock,
) -> float:
    """Compile (or load) every learner's kernels on copies, before the clocks start."""
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


def _warm_scoring(tracks: list[_Track], block: Any) -> None:
    """The engine's own kernels (metrics, the recovery's change detector) on copies too."""
    y = block.y[: min(len(block), 256)]
    labels = [v.item() if isinstance(v, np.generic) else v for v in np.unique(y).tolist()]
    done = set()
    for t in tracks:
        for m in t.metrics:
            key = (type(m), m.window is None, t.classifier)
            if key in done:
                continue
            done.add(key)
            try:
                if not m.requires_proba:
                    m.clone().update_many(y, y if not t.classifier else np.full(len(y), y[0]))
                elif t.classifier:
                    P = np.full((len(y), len(labels)), 1.0 / max(len(labels), 1))
                    m.clone().update_many(y, P, classes=labels)
            except Exception:  # noqa: BLE001 -- warming only; the run meets any real error
                continue
    try:
        _recovery.detect_changes(np.zeros(64, dtype=np.float32), 32)
    except Exception:  # noqa: BLE001
        pass


_COST_COLUMNS = (
    "learner",
    "family",
    "cpu_s",
    "peak_model_bytes",
    "bytes_kept",
    "retrains",
    "train_s",
    "train_cpu_s",
    "staleness_mean",
    "staleness_incl_delay",
    "latency_s_per_row",
)


def _analyze(
    tracks: list[_Track],
    rows: list[dict[str, Any]],
    window: int | None,
    change_points: Sequence[int] | None,
    recovery_window: int | None,
) -> dict[str, Any]:
    """Recovery after change points; adds each learner's summary to its row."""
    errors = {t.name: _concat(t.errors) if t.errors else np.zeros(0) for t in tracks}
    classifier = bool(tracks) and tracks[0].classifier
    ranked = [
        t.name
        for t in tracks
        if t.meter is not None and t.meter.family != "baseline" and len(errors[t.name])
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


def _task(source: Any, learners: list[Any]) -> str:
    kinds = {_is_classifier(m) for m in learners}
    if kinds == {False}:
        return "regression"
    guessed = source.task
    if kinds == {True} and guessed not in ("binary", "multiclass"):
        return "multiclass"
    return guessed or "multiclass"


def _live(tracks: list[_Track]) -> list[Any]:
    """The learners still running (the guard rolls them back after a label burst)."""
    return [t.learner for t in tracks if t.error is None]


def _chain(first: Any, rest: Iterable[Any]) -> Iterable[Any]:
    if first is not None:
        yield first
        yield from rest
