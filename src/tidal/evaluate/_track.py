"""One learner's run inside the engine: its calls (timed), its metrics, its health, its row."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tidal.base import Classifier
from tidal.base.exceptions import InputError, NotFittedError
from tidal.evaluate._costs import CostMeter, per_row_errors
from tidal.evaluate._health import TargetRange, first_nonfinite, status_of
from tidal.evaluate._memory import model_bytes
from tidal.evaluate._warmup import CompileClock
from tidal.metrics.base import Metric

__all__ = ["StepEvent"]

_MERGE = 256


@dataclass
class StepEvent:
    """What a callback receives after each call the engine makes on a learner.

    ``kind`` is "step" (predict then learn each row), "predict" or "learn"; ``block`` the rows
    (``block.start`` is their position in the stream); ``y_pred`` / ``proba`` the predictions
    (None for "learn"); ``classes`` the columns of ``proba``.

    >>> import numpy as np
    >>> from tidal.dummy import NoChangeClassifier
    >>> from tidal.evaluate import prequential
    >>> seen = []
    >>> def hook(e):
    ...     seen.append((e.kind, e.block.start, e.y_pred.tolist()))
    >>> _ = prequential((np.zeros((3, 1)), np.array([0, 1, 1])), [NoChangeClassifier()],
    ...                 callbacks=[hook])
    >>> seen
    [('step', 0, [0, 0, 1])]
    """

    name: str
    learner: Any
    kind: str
    block: Any
    y_pred: np.ndarray | None = None
    proba: np.ndarray | None = None
    classes: list[Any] | None = None


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
    small: int = 0  # consecutive small arrays at the end of ``errors``
    compile_s: float = 0.0  # CPU in numba's compiler during its calls: not charged to it
    diverged: bool = False


def _is_classifier(learner: Any) -> bool:
    tags = getattr(learner, "tags", None)
    if tags is not None:
        return bool(tags.is_classifier)
    return hasattr(learner, "predict_proba_many")


def _classes(learner: Any) -> list[Any]:
    try:
        return [c.item() if isinstance(c, np.generic) else c for c in learner.classes_]
    except (NotFittedError, AttributeError):
        return []


def _run_op(t: _Track, kind: str, block: Any, clock: CompileClock | None = None) -> StepEvent:
    """Call the learner once (timed, minus any kernel compilation), returning its predictions."""
    learner = t.learner
    y_pred = proba = classes = None
    n = len(block)
    compiling = clock.cpu if clock is not None else 0.0
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
    if clock is not None and clock.cpu > compiling:
        t.compile_s += clock.cpu - compiling
        spent = max(spent - (clock.cpu - compiling), 0.0)
    t.cpu_s += spent
    if t.meter is not None:
        t.meter.after(kind, n, spent)
    if proba is not None:
        classes = _classes(learner)
        proba = np.asarray(proba, dtype=np.float64)
        # the learner's own decoding, so a row is scored as step_many predicts it (ties, and the
        # type's zero before any label); another library's classifier: argmax, None if empty
        decode = getattr(learner, "decode_proba", None)
        if decode is not None and proba.shape[1]:
            y_pred = decode(proba)
        else:
            y_pred = Classifier.decode_columns(proba, classes)
    if kind != "predict":
        t.learned += n
    if y_pred is not None:
        t.errors.append(per_row_errors(block.y, y_pred, t.classifier))
        # tiny pieces (checkpoints every few rows) cost more in array headers than in data:
        # every _MERGE consecutive small ones become one array
        t.small = t.small + 1 if n < _MERGE else 0
        if t.small == _MERGE:
            t.errors[-_MERGE:] = [np.concatenate(t.errors[-_MERGE:])]
            t.small = 0
    return StepEvent(t.name, learner, kind, block, y_pred, proba, classes)


def _run_ops(
    t: _Track,
    ops: list[tuple[str, Any]],
    on_error: str,
    clock: CompileClock | None = None,
    target: TargetRange | None = None,
) -> None:
    """Run one piece's operations on one learner, then score its predictions in one update.

    With ``on_error="record"`` any exception of the learner (or of its callbacks) stops that
    learner only, with its error in its row; a learner whose predictions diverge is stopped
    before the absurd rows are scored (see :mod:`tidal.evaluate._health`).
    """
    scored: list[StepEvent] = []
    for kind, block in ops:
        try:
            event = _run_op(t, kind, block, clock)
            if _diverged(t, event, target):
                break
            for cb in t.callbacks:
                cb(event)
        except InputError as err:
            new = _stream_error(t, err, block)
            if on_error == "raise":
                raise new from err
            t.error, t.error_row = str(new), new.row
            break
        except Exception as err:
            if on_error == "raise":
                raise
            t.error, t.error_row = _learner_error(t, err, block), block.start
            break
        if event.y_pred is not None:
            scored.append(event)
    if scored:
        _score(t, scored)


def _diverged(t: _Track, event: StepEvent, target: TargetRange | None) -> bool:
    """Mark ``t`` diverged if ``event`` holds a non-finite or absurd prediction."""
    if event.proba is not None:
        i = first_nonfinite(event.proba)
        what = "predicted a non-finite probability" if i is not None else ""
    elif event.y_pred is not None and not t.classifier and target is not None:
        i = target.first_absurd(event.y_pred)
        what = target.describe(float(event.y_pred[i])) if i is not None else ""
    else:
        return False
    if i is None:
        return False
    t.diverged = True
    t.errors.pop()  # its absurd errors would swamp the rolling curves of the report
    t.error_row = event.block.start + i
    t.error = f"diverged at stream row {t.error_row}: {what}"
    return True


def _learner_error(t: _Track, err: Exception, block: Any) -> str:
    rows = f"{block.start}..{block.start + len(block) - 1}"
    return f"learner {t.name!r} failed at stream rows {rows}: {type(err).__name__}: {err}"


def _score(t: _Track, events: list[StepEvent]) -> None:
    """Update the metrics with predictions of consecutive rows (one call per metric)."""
    y = _concat([e.block.y for e in events])
    y_pred = _typed(_concat([e.y_pred for e in events]), y)
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


def _typed(y_pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Predicted labels in the dtype of the numeric labels when every row has one: the metrics
    then encode them with numpy instead of a Python loop over objects (a third of the engine's
    time on a 581k-row, 8-learner run)."""
    y = np.asarray(y)
    if y_pred.dtype != object or y.dtype.kind not in "biu" or not len(y_pred):
        return y_pred
    if np.equal(y_pred, None).any():  # rows without a prediction stay None (a miss)
        return y_pred
    try:
        typed = y_pred.astype(y.dtype)
    except (TypeError, ValueError, OverflowError):
        return y_pred
    return typed if np.array_equal(typed, y_pred.astype(np.float64)) else y_pred


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


def _sample_latency(t: _Track, piece: Any, clock: CompileClock) -> None:
    """The meter's latency sample, minus any compilation, never fatal to the run."""
    assert t.meter is not None
    compiling = clock.cpu
    try:
        t.meter.sample_latency(piece, t.classifier)
    except Exception as err:  # the learner's own calls will report a real failure
        t.warnings.append(f"latency not measured: {type(err).__name__}: {err}")
        t.meter.sampled_rows = 0
    t.meter.sampled_cpu -= min(clock.cpu - compiling, t.meter.sampled_cpu)


def _final_row(t: _Track, seen: int) -> dict[str, Any]:
    """The learner's row of the results (never raises: a broken learner shows its error)."""
    rec: dict[str, Any] = {"learner": t.name}
    rec.update({m.name: m.get() for m in t.metrics})
    rec.update(_costs(t, _model_bytes(t)))
    rec["peak_model_bytes"] = t.peak_bytes
    rec["compile_s"] = t.compile_s
    if t.meter is not None:
        try:
            rec.update(t.meter.summary())
        except Exception as err:
            t.warnings.append(f"costs not measured: {type(err).__name__}: {err}")
            rec["family"] = t.meter.family
    rec["error"] = t.error
    rec["status"] = status_of(t.error, t.diverged)
    # batch learners say what a report must show: skipped retrains, a window larger than
    # the stream, a policy that never fired (never a silent fallback)
    try:
        for w in getattr(t.learner, "stream_warnings", lambda n: [])(seen):
            if w not in t.warnings:
                t.warnings.append(w)
    except Exception as err:
        t.warnings.append(f"warnings not collected: {type(err).__name__}: {err}")
    rec["warnings"] = list(t.warnings)
    return rec


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
