"""Shadow models: challengers that see the production traffic but never answer it.

A shadow is a registry version of a served model in stage ``shadow`` (key ``"v<version>"``) or
a challenger named in the configuration (``shadows = {model = {key = spec}}``). Every predict
request to the model is predicted by its shadows too; their predictions are kept by prediction
id (bounded: the oldest are forgotten beyond ``max_pending``) and scored when a label for that
id arrives, delayed labels included. Each shadow keeps the task's headline metric of
:mod:`tidal.metrics` over its last ``window`` labelled events (a rolling ``Accuracy`` for
classifiers, ``MAE`` for regressors: see :func:`tidal.metrics.headline`). It is
shown in ``GET /v1/models/{name}`` (``shadows``) and in ``/metrics``
(``tidal_shadow_metric{model, shadow, metric}``).

A shadow never changes an answer: its failures (a feature it does not know, not fitted yet)
are counted in ``errors`` and nothing else. A shadow learns the labelled events its model
learns, after scoring them (prequential, like the champion). Shadows are not in the
write-ahead log: after a restart a registry shadow starts again from its registered state, a
configured one from scratch, with an empty window; the predictions it made for ids still
waiting for a label are journaled (``<data>/pending/<model>.shadows``, see
:mod:`tidal.service.pending`) and come back, so a label after a restart is still scored.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge

from tidal.base.exceptions import TidalError
from tidal.metrics import headline, metric_specs
from tidal.service.items import plain

__all__ = ["Shadow", "ShadowSet", "freeze"]

_MISSING = object()


class Shadow:
    """One challenger: predicts, keeps its predictions by id, scores them against labels.

    >>> from tidal.dummy import RunningMeanRegressor
    >>> m = RunningMeanRegressor().learn_many([{"x": 0.0}, {"x": 0.0}], [1.0, 3.0])
    >>> s = Shadow("c", m, max_pending=10, window=10)
    >>> s.observe(["p1", "p2"], [{"x": 1.0}, {"x": 2.0}])  # its predictions
    [2.0, 2.0]
    >>> s.score(["p1", "p2", "p3"], [1.0, 4.0, 0.0])  # p3: never predicted, ignored
    2
    >>> s.metric, s.value
    ('mae', 1.5)
    """

    def __init__(
        self, key: str, model: Any, *, max_pending: int, window: int, learns: bool = True
    ) -> None:
        from tidal.base import Classifier

        self.key = key
        self.learns = learns
        self.model = model
        # the task's headline metric (tidal.metrics), rolling over the last ``window`` events
        classifier = isinstance(model, Classifier)
        spec = headline("multiclass" if classifier else "regression")
        self.metric = spec.key
        self.window = int(window)
        self._rolling = spec.make(window=self.window)
        self._numeric = not classifier  # a regressor's metric scores numbers only
        self._n = 0  # events scored into the rolling metric
        self.max_pending = int(max_pending)
        self._pending: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.predicted = 0
        self.scored = 0
        self.errors = 0

    def observe(self, ids: list[str], rows: list[dict[str, Any]]) -> list[Any]:
        """Predict ``rows`` and keep row and prediction under ``ids`` (never raises). A shadow
        that cannot predict (not fitted yet) keeps the rows to learn from their labels.
        Returns the predictions (None where it could not predict)."""
        with self._lock:
            try:
                preds = [plain(p) for p in np.asarray(self.model.predict_many(rows)).tolist()]
                self.predicted += len(rows)
            except Exception:  # noqa: BLE001 - a shadow must never fail the request
                self.errors += len(rows)
                preds = [_MISSING] * len(rows)
            self._pending.update(zip(ids, zip(rows, preds)))
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
        return [None if p is _MISSING else p for p in preds]

    def restore(self, pid: str, row: Any, pred: Any) -> None:
        """Keep a prediction made before a restart (from the journal) under ``pid``."""
        with self._lock:
            self._pending[pid] = (row, _MISSING if pred is None else pred)

    def keep(self, ids: list[str], preds: list[Any]) -> None:
        """Keep predictions made elsewhere (the production model's) to score them later."""
        with self._lock:
            self._pending.update(zip(ids, ((None, p) for p in preds)))
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)

    def score(
        self,
        ids: list[str | None],
        labels: list[Any],
        rows: list[dict[str, Any] | None] | None = None,
    ) -> int:
        """Score the kept predictions of ``ids`` against ``labels``, then learn the labelled
        events (``rows[i]`` for items without an id). Returns how many were scored: each id
        once, since its prediction is dropped when scored."""
        rows = rows if rows is not None else [None] * len(ids)
        x, y, truth, preds = [], [], [], []
        with self._lock:
            for pid, label, row in zip(ids, labels, rows, strict=True):
                if pid is not None:
                    row, pred = self._pending.pop(pid, (None, _MISSING))
                    if pred is not _MISSING and self._scorable(pred, label):
                        truth.append(label)
                        preds.append(pred)
                if row is not None:
                    x.append(row)
                    y.append(label)
            n = self._add(truth, preds)
            self.scored += n
            if x and self.learns:
                try:  # prequential: scored on what it predicted, then it learns
                    self.model.learn_many(x, y)
                except Exception:  # noqa: BLE001 - a shadow must never fail the request
                    self.errors += len(x)
        return n

    def _scorable(self, pred: Any, label: Any) -> bool:
        """An error metric needs numbers: anything else is counted in ``errors``."""
        if not self._numeric:
            return True
        try:
            float(pred), float(label)
        except (TypeError, ValueError):
            self.errors += 1
            return False
        return True

    def _add(self, truth: list[Any], preds: list[Any]) -> int:
        if not truth:
            return 0
        try:
            self._rolling.update_many(truth, preds)
        except TidalError:  # a label the metric refuses: counted, never raised
            self.errors += len(truth)
            return 0
        self._n += len(truth)
        return len(truth)

    def _value(self) -> float | None:
        return float(self._rolling.get()) if self._n else None

    @property
    def value(self) -> float | None:
        """The rolling metric over the last ``window`` scored events (None before the first)."""
        with self._lock:
            return self._value()

    def info(self) -> dict[str, Any]:
        with self._lock:
            n = min(self._n, self.window)
            value = self._value()
            return {
                "shadow": self.key,
                "class": type(self.model).__module__ + "." + type(self.model).__qualname__,
                "metric": self.metric,
                "value": value,
                "window_events": n,
                "window": self.window,
                "predicted": self.predicted,
                "scored": self.scored,
                "pending": len(self._pending),
                "errors": self.errors,
            }


class ShadowSet:
    """The shadows of every served model, with their Prometheus metrics.

    >>> from tidal.dummy import RunningMeanRegressor
    >>> shadows = ShadowSet(CollectorRegistry(), max_pending=100, window=50)
    >>> m = RunningMeanRegressor().learn_many([{"x": 0.0}], [2.0])
    >>> shadows.add("price", "challenger", m)
    >>> shadows.observe("price", ["a"], [{"x": 5.0}])
    >>> shadows.score("price", ["a"], [3.0])
    >>> [(s["shadow"], s["value"]) for s in shadows.info("price")]
    [('challenger', 1.0)]
    """

    def __init__(self, registry: CollectorRegistry, *, max_pending: int, window: int) -> None:
        self.max_pending = max_pending
        self.window = window
        #: model -> the journal of its shadows' outputs (set by :meth:`restore`)
        self.journals: dict[str, Any] = {}
        self._shadows: dict[str, dict[str, Shadow]] = {}
        self._watch: dict[str, Shadow] = {}
        self._lock = threading.Lock()
        self._metric = Gauge(
            "tidal_shadow_metric",
            "rolling metric of a shadow model over its last labelled events",
            ["model", "shadow", "metric"],
            registry=registry,
        )
        self._scored = Counter(
            "tidal_shadow_scored",
            "shadow predictions scored against a label",
            ["model", "shadow"],
            registry=registry,
        )

    def add(self, model: str, key: str, learner: Any) -> None:
        """Shadow ``model``'s traffic with ``learner`` under ``key`` (replacing one there)."""
        shadow = Shadow(key, learner, max_pending=self.max_pending, window=self.window)
        with self._lock:
            self._shadows = {**self._shadows, model: {**self._shadows.get(model, {}), key: shadow}}

    def remove(self, model: str, key: str) -> None:
        with self._lock:
            kept = {k: s for k, s in self._shadows.get(model, {}).items() if k != key}
            self._shadows = {**self._shadows, model: kept}
        for metric in {spec.key for spec in metric_specs()}:
            try:
                self._metric.remove(model, key, metric)
            except KeyError:
                pass

    def of(self, model: str) -> dict[str, Shadow]:
        return self._shadows.get(model, {})

    def watch(self, model: str, learner: Any) -> Shadow:
        """The tracker of ``model``'s own rolling metric (production predictions, scored)."""
        with self._lock:
            w = self._watch.get(model)
            if w is None:
                w = Shadow(
                    "production",
                    learner,
                    max_pending=self.max_pending,
                    window=self.window,
                    learns=False,
                )
                self._watch[model] = w
            return w

    def reset_watch(self, model: str) -> None:
        """A new model version is served: its rolling metric starts again."""
        with self._lock:
            self._watch.pop(model, None)

    def sync(self, model: str, registry: Any) -> None:
        """Make ``model``'s registry shadows (``v<n>``) the versions now in stage shadow."""
        wanted = {
            f"v{v.version}": v.version for v in registry.versions(model) if v.stage == "shadow"
        }
        have = {k for k in self.of(model) if k.startswith("v") and k[1:].isdigit()}
        for key in have - set(wanted):
            self.remove(model, key)
        for key in set(wanted) - have:
            self.add(model, key, registry.load(model, wanted[key]))

    def observe(self, model: str, ids: list[str], rows: list[dict[str, Any]]) -> None:
        outputs = {key: shadow.observe(ids, rows) for key, shadow in self.of(model).items()}
        journal = self.journals.get(model)
        if outputs and journal is not None and ids:
            # one line per request: the shadows' outputs per row, under the request's id base
            per_row = [{k: v[i] for k, v in outputs.items()} for i in range(len(ids))]
            journal.journal(ids[0][:-1], per_row)

    def restore(self, model: str, journal: Any, rows: Any) -> int:
        """Give ``model``'s shadows back the outputs ``journal`` kept (a
        :class:`tidal.service.pending.PendingPredictions` of ``{shadow key: prediction}``),
        with each prediction's row (``rows(pid)``). Returns how many predictions came back."""
        self.journals[model] = journal
        shadows, n = self.of(model), 0
        for pid, (outputs, _) in journal.items():
            row = rows(pid)
            for key, pred in outputs.items():
                if key in shadows:
                    shadows[key].restore(pid, row, pred)
                    n += 1
        return n

    def score(
        self,
        model: str,
        ids: list[str | None],
        labels: list[Any],
        rows: list[dict[str, Any] | None] | None = None,
    ) -> None:
        """Score and teach ``model``'s shadows the labelled events the model just learned."""
        for key, shadow in self.of(model).items():
            n = shadow.score(ids, labels, rows)
            if n:
                self._scored.labels(model=model, shadow=key).inc(n)
                value = shadow.value
                if value is not None:
                    self._metric.labels(model=model, shadow=key, metric=shadow.metric).set(value)

    def info(self, model: str) -> list[dict[str, Any]]:
        return [s.info() for s in self.of(model).values()]


def freeze(
    service: Any,
    host: Any,
    value: float,
    floor: float,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    by: str = "tidal",
) -> str:
    """Pause ``host``'s learning (learn answers 409 until a promote or rollback installs a
    version, or an admin unfreezes it), durably (it survives restarts: see
    :meth:`ModelHost.freeze`), and record why in the registry's audit log. Returns the reason.
    ``reason`` and ``details`` replace the rolling-metric ones (the guards freeze with a
    burst's, an admin with theirs); ``by`` is who froze it."""
    reason = reason or f"frozen: rolling accuracy {value:.2f} < floor {floor:.2f}"
    if details is None:
        details = {"metric": "accuracy", "value": value, "floor": floor}
    host.freeze(reason, by=by, details=details)
    reg = service.registry
    version = int(host.version) if host.version is not None else None
    reg.note(by, "freeze", reason, name=host.name, version=version, details=details)
    return reason
