"""The prequential engine: several learners, one stream, test-then-train, exact per row."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tidal.base.exceptions import InputError, NotFittedError, ParameterError
from tidal.evaluate import _recovery
from tidal.evaluate._costs import CostMeter, engine_row, per_row_errors
from tidal.evaluate._guarded import GuardStage
from tidal.evaluate._memory import model_bytes
from tidal.evaluate._results import Results
from tidal.evaluate._schedule import LabelQueue
from tidal.evaluate._source import as_source
from tidal.evaluate._stamp import stamp
from tidal.evaluate._steady import count_labels
from tidal.metrics.base import Metric

__all__ = ["StepEvent", "prequential", "default_metrics"]


@dataclass
class StepEvent:
    """What a callback receives after each call the engine makes on a learner.

    ``kind`` is "step" (predict then learn each row), "predict" or "learn"; ``block`` the rows
    (``block.start`` is their position in the stream); ``y_pred`` / ``proba`` the predictions
    (None for "learn"); ``classes`` the columns of ``proba``.

    >>> import numpy as np
    >>> from tidal.dummy import NoChangeClassifier
    >>> seen = []
    >>> def hook(e):
    ...     seen.append((e.kind, e.block.start, e.y_pred.tolist()))
    >>> _ = prequential((np.zeros((3, 1)), np.array([0, 1, 1])), [NoChangeClassifier()],
    ...                 callbacks=[hook])
    >>> seen
    [('step', 0, [None, 0, 1])]
    """

    name: str
    learner: Any
    kind: str
    block: Any
    y_pred: np.ndarray | None = None
    proba: np.ndarray | None = None
    classes: list[Any] | None = None


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


@dataclass
class _Track:
    """One learner's run: its metrics, cost counters and error."""

    name: str
    learner: Any
    metrics: list[Metric]
    classifier: bool
    cpu_s: float = 0.0
    rows: int = 0
    learned: int = 0
    peak_bytes: int = 0
    error: str | None = None
    error_row: int | None = None
    callbacks: list[Callable[[StepEvent], None]] = field(default_factory=list)
    meter: CostMeter | None = None
    errors: list[np.ndarray] = field(default_factory=list)  # per-row, for recovery
    warnings: list[str] = field(default_factory=list)


def _is_classifier(learner: Any) -> bool:
    tags = getattr(learner, "tags", None)
    if tags is not None:
        return bool(tags.is_classifier)
    return hasattr(learner, "predict_proba_many")


def _decode(P: np.ndarray, classes: list[Any]) -> np.ndarray:
    """Labels from probabilities, as ``predict_many`` does: argmax, None for a row of zeros."""
    out = np.full(P.shape[0], None, dtype=object)
    if P.shape[1] == 0:
        return out
    table = np.empty(len(classes), dtype=object)
    table[:] = classes
    codes = np.argmax(P, axis=1)
    ok = P.sum(axis=1) > 0
    out[ok] = table[codes[ok]]
    return out


def _classes(learner: Any) -> list[Any]:
    try:
        return [c.item() if isinstance(c, np.generic) else c for c in learner.classes_]
    except (NotFittedError, AttributeError):
        return []


def _run_op(t: _Track, kind: str, block: Any) -> StepEvent:
    """Call the learner once (timed), returning what it predicted."""
    learner = t.learner
    y_pred = proba = classes = None
    n = len(block)
    start = time.process_time()
    if kind == "learn":
        learner.learn_many(block, block.y)
    elif t.classifier:
        if kind == "step":
            proba = learner.step_proba_many(block, block.y)
        elif getattr(learner, "is_fitted", True):
            proba = learner.predict_proba_many(block)
        else:
            proba = np.zeros((n, 0))
    elif kind == "step":
        y_pred = np.asarray(learner.step_many(block, block.y), dtype=np.float64)
    elif getattr(learner, "is_fitted", True):
        y_pred = np.asarray(learner.predict_many(block), dtype=np.float64)
    else:
        y_pred = np.zeros(n)
    if t.meter is not None:
        t.meter.settle()  # training threads are charged to the learner that started them
    spent = time.process_time() - start
    t.cpu_s += spent
    if t.meter is not None:
        t.meter.after(kind, n, spent)
    if proba is not None:
        classes = _classes(learner)
        proba = np.asarray(proba, dtype=np.float64)
        y_pred = _decode(proba, classes)
    if kind != "predict":
        t.learned += n
    if y_pred is not None:
        t.errors.append(per_row_errors(block.y, y_pred, t.classifier))
    return StepEvent(t.name, learner, kind, block, y_pred, proba, classes)


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


def _run_ops(t: _Track, ops: list[tuple[str, Any]], on_error: str) -> None:
    """Run one piece's operations on one learner, then score its predictions in one update."""
    scored: list[StepEvent] = []
    for kind, block in ops:
        try:
            event = _run_op(t, kind, block)
        except InputError as err:
            new = _stream_error(t, err, block)
            if on_error == "raise":
                raise new from err
            t.error, t.error_row = str(new), new.row
            break
        if event.y_pred is not None:
            scored.append(event)
        for cb in t.callbacks:
            cb(event)
    if scored:
        _score(t, scored)


def _score(t: _Track, events: list[StepEvent]) -> None:
    """Update the metrics with predictions of consecutive rows (one call per metric)."""
    y = _concat([e.block.y for e in events])
    y_pred = _concat([e.y_pred for e in events])
    t.rows += len(y)
    proba = classes = None
    if events[0].proba is not None:
        classes = events[-1].classes or []
        proba = _concat([_align(e.proba, e.classes or [], classes) for e in events])
    for m in t.metrics:
        if not m.requires_proba:
            m.update_many(y, y_pred)
        elif proba is not None:
            m.update_many(y, proba, classes=classes)


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _align(P: np.ndarray, classes: list[Any], final: list[Any]) -> np.ndarray:
    """``P``'s columns (``classes``) rearranged as the columns ``final`` (classes only grow)."""
    if classes == final[: len(classes)]:
        if P.shape[1] == len(final):
            return P
        out = np.zeros((P.shape[0], len(final)))
        out[:, : P.shape[1]] = P[:, : len(final)]
        return out
    out = np.zeros((P.shape[0], len(final)))
    where = {c: j for j, c in enumerate(final)}
    for i, c in enumerate(classes):
        out[:, where[c]] = P[:, i]
    return out


def _stream_error(t: _Track, err: InputError, block: Any) -> InputError:
    row = None if err.row is None else block.start + err.row
    where = (
        f"stream row {row}"
        if row is not None
        else f"stream rows {block.start}..{block.start + len(block) - 1}"
    )
    new = type(err)(f"learner {t.name!r}, {where}: {err}", column=err.column, row=row)
    return new


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
        "raise" the learner's error (it names the stream row), or "record" it in the results
        and drop the learner for the rest of the stream.
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
    wall0, cpu0 = time.perf_counter(), time.process_time()
    blocks = iter(source)
    first = next(blocks, None)
    if pos_label is None and task == "binary" and first is not None and first.y is not None:
        pos_label = _pick_pos_label(first.y)
    base_metrics = list(metrics) if metrics is not None else default_metrics(task, pos_label)
    tracks = _tracks(named, base_metrics, window, callbacks)
    for t in tracks:
        t.meter = CostMeter(t.learner, delay)
    queue = LabelQueue(delay, delay_seconds)
    stage = None if guard is None else GuardStage(guard, guard_source, task != "regression")
    checkpoints: list[dict[str, Any]] = []
    seen = 0
    labels: dict[Any, int] = {}  # rows per class: the verdict needs enough of each

    def run(ops: list[tuple[str, Any]]) -> None:
        for t in tracks:
            if t.error is None:
                _run_ops(t, ops, on_error)

    def checkpoint(row: int, piece: Any = None) -> None:
        wall = time.perf_counter() - wall0
        for t in tracks:
            if piece is not None and t.error is None and t.meter is not None:
                t.meter.sample_latency(piece, t.classifier)
            mem = _model_bytes(t)
            t.peak_bytes = max(t.peak_bytes, mem)
            rec = {"learner": t.name, "row": row}
            rec.update({m.name: m.get() for m in t.metrics})
            rec.update(_costs(t, mem))
            rec["wall_s"] = wall
            checkpoints.append(rec)

    for block in _chain(first, blocks):
        if block.y is None:
            raise InputError("the source has no target: name the label column (target=...)")
        if task != "regression":
            count_labels(labels, block.y)
        for piece in _pieces(block, every):
            run(queue.schedule(piece) if stage is None else stage.ops(piece, _live(tracks)))
            seen += len(piece)
            if seen % every == 0:
                checkpoint(seen, piece if stage is None else stage.last)
        if progress is not None:
            progress(seen)
    run(queue.flush())
    if seen % every != 0 or seen == 0:
        checkpoint(seen)
    rows = []
    for t in tracks:
        rec = {"learner": t.name}
        rec.update({m.name: m.get() for m in t.metrics})
        rec.update(_costs(t, _model_bytes(t)))
        rec["peak_model_bytes"] = t.peak_bytes
        rec["error"] = t.error
        if t.meter is not None:
            rec.update(t.meter.summary())
        # batch learners say what a report must show: skipped retrains, a window larger than
        # the stream, a policy that never fired (never a silent fallback)
        for w in getattr(t.learner, "stream_warnings", lambda n: [])(seen):
            if w not in t.warnings:
                t.warnings.append(w)
        rec["warnings"] = list(t.warnings)
        rows.append(rec)
    analysis = _analyze(tracks, rows, window, change_points, recovery_window)
    meta = stamp(
        source,
        task,
        seen,
        fingerprint,
        {
            "every": int(every),
            "window": window,
            "delay": int(delay),
            "delay_seconds": delay_seconds,
            "pos_label": pos_label,
            "metrics": [m.name for m in base_metrics],
        },
        {t.name: t.learner for t in tracks},
        time.perf_counter() - wall0,
    )
    wall, total_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    meta["cpu_s"] = total_cpu
    meta["data"]["class_counts"] = {str(c): k for c, k in labels.items()}
    if stage is not None:
        meta["guard"] = stage.summary()
        stage.annotate(rows, {t.name: t.errors for t in tracks})
    costs = [{k: r.get(k) for k in _COST_COLUMNS} for r in rows]
    costs.append(engine_row(rows, total_cpu, wall))
    return Results(rows, checkpoints, meta, costs=costs, analysis=analysis)


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


def _model_bytes(t: _Track) -> int:
    """model_bytes, or 0 with a warning in the results when the learner cannot be measured."""
    try:
        return model_bytes(t.learner)
    except Exception as err:  # a learner's state_dict bug must not lose the whole run
        msg = f"model memory not measured: {type(err).__name__}: {err}"
        if msg not in t.warnings:
            t.warnings.append(msg)
        return 0


def _costs(t: _Track, mem: int) -> dict[str, Any]:
    return {
        "rows": t.rows,
        "learned": t.learned,
        "cpu_s": t.cpu_s,
        "rows_per_s": t.rows / t.cpu_s if t.cpu_s > 0 else float("nan"),
        "model_bytes": mem,
    }


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
