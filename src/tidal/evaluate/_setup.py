"""What a prequential run starts from: the learners by name, the task, the metrics (from
:mod:`tidal.metrics`' registry) and each learner's track."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tidal.evaluate import _recovery
from tidal.evaluate._track import _is_classifier, _Track
from tidal.metrics import specs_for
from tidal.metrics.base import Metric

__all__ = ["default_metrics"]


def default_metrics(task: str, pos_label: Any = True) -> list[Metric]:
    """The metrics the engine reports for ``task`` ("binary", "multiclass" or "regression"):
    those registered for it (:func:`tidal.metrics.register`), in registration order.

    >>> [m.name for m in default_metrics("binary")]
    ['Accuracy', 'F1', 'ROCAUC', 'LogLoss']
    """
    return [spec.make(pos_label) for spec in specs_for(task)]


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


def _pick_pos_label(y: np.ndarray) -> Any:
    values = {v.item() if isinstance(v, np.generic) else v for v in np.unique(y).tolist()}
    if values <= {0, 1}:
        return True  # == 1: River's and scikit-learn's positive class
    return sorted(values, key=str)[-1]  # scikit-learn's rule: the greater label


def _task(source: Any, learners: list[Any]) -> str:
    kinds = {_is_classifier(m) for m in learners}
    if kinds == {False}:
        return "regression"
    guessed = source.task
    if kinds == {True} and guessed not in ("binary", "multiclass"):
        return "multiclass"
    return guessed or "multiclass"


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
