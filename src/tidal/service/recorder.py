"""What the dashboard draws, recorded as it happens: bounded per-model time series (rolling
metrics, predict and learn rates), alarm marks and guard counts, downsampled to min/max buckets
before they leave the server; and the sampler thread that adds shadow metrics and feature-drift
alarms once a second.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import deque
from typing import Any

import numpy as np

from tidal.metrics import headline

__all__ = ["MAX_POINTS", "Recorder", "downsample", "sample_drift", "sample_shadows"]

MAX_POINTS = 1000


def downsample(t: np.ndarray, v: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Indices of at most ``max_points`` points that keep each bucket's min and max, in order.

    Min/max buckets keep every spike a line chart would show at that resolution (unlike taking
    every k-th point), at numpy speed.

    >>> v = np.zeros(10_000); v[1234] = 9.0
    >>> idx = downsample(np.arange(10_000.0), v, 100)
    >>> len(idx) <= 100, 1234 in idx, int(idx[0]), int(idx[-1]) >= 9_800  # every bucket kept
    (True, True, 0, True)
    """
    n = len(v)
    if n <= max_points:
        return np.arange(n)
    k = math.ceil(n / max(1, max_points // 2))
    nb = math.ceil(n / k)
    lo = np.full(nb * k, np.inf)
    hi = np.full(nb * k, -np.inf)
    lo[:n] = v
    hi[:n] = v
    base = np.arange(nb) * k
    idx = np.concatenate([base + lo.reshape(nb, k).argmin(1), base + hi.reshape(nb, k).argmax(1)])
    return np.unique(idx)


class _Series:
    """A growing (t, v) buffer that keeps the newest half when it reaches ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.t = np.empty(256)
        self.v = np.empty(256)
        self.n = 0

    def extend(self, t: np.ndarray, v: np.ndarray) -> None:
        if len(t) >= self.capacity:
            t, v, self.n = t[-self.capacity :], v[-self.capacity :], 0
        if self.n + len(t) > self.capacity:
            keep = max(0, min(self.n, self.capacity // 2, self.capacity - len(t)))
            self.t[:keep] = self.t[self.n - keep : self.n]
            self.v[:keep] = self.v[self.n - keep : self.n]
            self.n = keep
        need = self.n + len(t)
        if need > len(self.t):
            size = min(self.capacity, max(need, 2 * len(self.t)))
            self.t = np.resize(self.t, size)
            self.v = np.resize(self.v, size)
        self.t[self.n : need] = t
        self.v[self.n : need] = v
        self.n = need

    def put(self, t: float, v: float, resolution: float) -> None:
        """Append (t, v), or overwrite the last point if it is less than ``resolution`` older."""
        if self.n and resolution > 0 and t - self.t[self.n - 1] < resolution:
            self.v[self.n - 1] = v
        else:
            self.extend(np.array([t]), np.array([v]))

    def bump(self, t: float, dv: float) -> None:
        """Add ``dv`` to the last point if it is at ``t``, else append (t, dv)."""
        if self.n and self.t[self.n - 1] == t:
            self.v[self.n - 1] += dv
        else:
            self.extend(np.array([t]), np.array([dv]))

    def view(self, max_points: int) -> dict[str, list]:
        t, v = self.t[: self.n], self.v[: self.n]
        idx = downsample(t, v, max_points)
        return {"t": np.round(t[idx] * 1000).astype(np.int64).tolist(), "v": v[idx].tolist()}


class _Scored:
    """A model's rolling metric and the rows it scored. Iterating gives ``(metric name, value,
    rows scored)``: what two runs of the same events must agree on.

    >>> from tidal.metrics import Accuracy
    >>> s = _Scored(Accuracy(window=2)); s.metric.update_many([1, 0], [1, 1]); s.n = 2
    Accuracy[2]: 0.500000
    >>> list(s)
    ['Accuracy[2]', 0.5, 2]
    """

    def __init__(self, metric: Any) -> None:
        self.metric = metric
        self.n = 0

    def __iter__(self) -> Any:
        return iter((self.metric.name, float(self.metric.get()), self.n))


class Recorder:
    """Per-model time series for the dashboard, thread-safe and bounded.

    Series are named ``metric:<family>`` (rolling metric; family online, batch or shadow) and
    ``rate:predict`` / ``rate:learn`` (rows per second); marks are drift alarms and guard
    rejections. ``snapshot()`` returns them downsampled to ``max_points`` per series.

    >>> rec = Recorder(window=2)
    >>> rec.score("m", [1, 0, 1], [1, 1, 1], t=10.0)  # rolling accuracy over the last 2 rows
    >>> rec.count("m", "learn", 3, t=10.2)
    >>> rec.mark("m", "drift", "ADWIN on x", t=10.5)
    >>> snap = rec.snapshot()["m"]
    >>> snap["series"]["metric:online"]["v"], snap["series"]["rate:learn"]["v"]
    ([0.5], [3.0])
    >>> snap["metric"], snap["marks"][0]["text"]
    ('accuracy', 'ADWIN on x')
    >>> rec.mark("quiet", "drift", "feature drift: x", t=11.0)  # marks before any series
    >>> rec.snapshot()["quiet"]["series"], rec.snapshot()["quiet"]["guard_rules"]
    ({}, {})
    """

    def __init__(
        self,
        capacity: int = 100_000,
        window: int = 500,
        score_rows: int = 16,
        resolution: float = 0.1,
    ) -> None:
        self.capacity = capacity  # points kept per series (the newest)
        self.window = window  # scored rows in the rolling metric
        # seconds between two points of a rolling metric (0: one point per learn request), so
        # that a busy model's series covers hours, not seconds
        self.resolution = resolution
        # rows per learn request scored before learning (0: none); the host predicts them under
        # the lock it learns them with (ModelHost.learn(probe=...)), so it costs no extra lock
        self.score_rows = score_rows
        self.version = 0
        self._lock = threading.Lock()
        self._series: dict[str, dict[str, _Series]] = {}
        self._scores: dict[tuple[str, str], _Scored] = {}
        self._metric: dict[str, str] = {}
        self._marks: dict[str, deque] = {}
        self._rules: dict[str, dict[str, int]] = {}
        self._cache: tuple[int, int, dict] | None = None

    def _get(self, model: str, series: str) -> _Series:
        s = self._series.setdefault(model, {})
        if series not in s:
            s[series] = _Series(self.capacity)
        return s[series]

    def extend(self, model: str, series: str, t: Any, v: Any) -> None:
        """Append many points at once (unix seconds, values); non-finite values are dropped."""
        t, v = np.asarray(t, dtype=float), np.asarray(v, dtype=float)
        ok = np.isfinite(t) & np.isfinite(v)
        with self._lock:
            self._get(model, series).extend(t[ok], v[ok])
            self.version += 1

    def count(self, model: str, what: str, n: int, t: float | None = None) -> None:
        """Add ``n`` rows to the per-second ``rate:<what>`` series."""
        sec = float(math.floor(time.time() if t is None else t))
        with self._lock:
            self._get(model, f"rate:{what}").bump(sec, float(n))
            self.version += 1

    def score(
        self,
        model: str,
        predicted: list[Any],
        truth: list[Any],
        family: str = "online",
        t: float | None = None,
    ) -> None:
        """Score predictions made before learning with the task's headline metric of
        :mod:`tidal.metrics` (rolling over the last ``window`` rows); append it (one point)."""
        if not truth:
            return
        numeric = all(isinstance(y, int | float) and not isinstance(y, bool) for y in truth)
        regression = numeric and any(isinstance(y, float) for y in truth)
        spec = headline("regression" if regression else "multiclass")
        if regression:  # an error needs a finite prediction: the others are not scored
            kept = [(p, y) for p, y in zip(predicted, truth) if _finite_error(p, y)]
            predicted, truth = [p for p, _ in kept], [y for _, y in kept]
        with self._lock:
            key = (model, family)
            if key not in self._scores:
                self._scores[key] = _Scored(spec.make(window=self.window))
            scored = self._scores[key]
            if truth:
                scored.metric.update_many(truth, predicted)
                scored.n += len(truth)
            self._metric.setdefault(model, spec.key)
            if scored.n:
                now = time.time() if t is None else t
                value = float(scored.metric.get())
                self._get(model, f"metric:{family}").put(now, value, self.resolution)
                self.version += 1

    def mark(self, model: str, kind: str, text: str, t: float | None = None) -> None:
        """Mark the timeline: ``kind`` "drift" (an alarm) or "guard" (``text`` names the rule)."""
        with self._lock:
            marks = self._marks.setdefault(model, deque(maxlen=200))
            marks.append(
                {"t": int((time.time() if t is None else t) * 1000), "kind": kind, "text": text}
            )
            if kind == "guard":
                rules = self._rules.setdefault(model, {})
                rules[text] = rules.get(text, 0) + 1
            self.version += 1

    def snapshot(self, max_points: int = MAX_POINTS) -> dict[str, Any]:
        """Every model's series (downsampled), metric name, marks and guard counts per rule."""
        with self._lock:
            if self._cache and self._cache[:2] == (self.version, max_points):
                return self._cache[2]
            out = {
                m: {
                    "series": {k: s.view(max_points) for k, s in series.items() if s.n},
                    "metric": self._metric.get(m, "metric"),
                    "marks": list(self._marks.get(m, ())),
                    "guard_rules": dict(self._rules.get(m, {})),
                }
                for m, series in self._series.items()
            }
            for m in set(self._marks) - set(out):
                out[m] = {
                    "series": {},
                    "metric": self._metric.get(m, "metric"),
                    "marks": list(self._marks[m]),
                    "guard_rules": dict(self._rules.get(m, {})),
                }
            self._cache = (self.version, max_points, out)
            return out


def _finite_error(p: Any, y: Any) -> bool:
    try:
        return p is not None and math.isfinite(abs(float(p) - float(y)))
    except (TypeError, ValueError):
        return False


def sample_shadows(svc: Any, rec: Recorder, seen: dict[tuple[str, str], int]) -> int:
    """Record each shadow's rolling metric as ``metric:shadow <key>`` when it scored anything
    new since the last call (``seen`` remembers the counts); returns the points recorded.

    >>> from types import SimpleNamespace
    >>> info = [{"shadow": "v2", "value": 0.75, "scored": 4, "metric": "accuracy"}]
    >>> svc = SimpleNamespace(hosts={"m": None}, shadows=SimpleNamespace(info=lambda m: info))
    >>> rec, seen = Recorder(), {}
    >>> sample_shadows(svc, rec, seen), sample_shadows(svc, rec, seen)  # nothing new: no point
    (1, 0)
    >>> rec.snapshot()["m"]["series"]["metric:shadow v2"]["v"]
    [0.75]
    """
    shadows = getattr(svc, "shadows", None)
    if shadows is None:
        return 0
    now, n = time.time(), 0
    for name in list(svc.hosts):
        for s in shadows.info(name):
            key = (name, s["shadow"])
            if s["value"] is None or seen.get(key) == s["scored"]:
                continue
            seen[key] = s["scored"]
            rec.extend(name, f"metric:shadow {s['shadow']}", [now], [s["value"]])
            with rec._lock:
                rec._metric.setdefault(name, s["metric"])
            n += 1
    return n


def _drift_report(guard: Any) -> dict[str, Any]:
    """``guard.drift()``, computed again only when its monitor has seen new rows (a report
    costs ~15 ms a model, and every open page asks for one each second)."""
    n_seen = getattr(getattr(guard, "monitor", None), "n_seen", None)
    if n_seen is None:  # no monitor to tell whether anything changed
        return guard.drift()
    with _DRIFT_LOCK:
        hit = _DRIFT_MEMO.get(guard)
    if hit is not None and hit[0] == n_seen:
        return hit[1]
    report = guard.drift()
    with _DRIFT_LOCK:
        _DRIFT_MEMO[guard] = (n_seen, report)
    return report


_DRIFT_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_DRIFT_LOCK = threading.Lock()


def sample_drift(svc: Any, rec: Recorder, drifting: dict[str, set[str]]) -> int:
    """Mark a drift alarm on a guarded model's timeline when one of its features starts
    drifting (any of the monitor's tests says so); the feature is armed again once no test
    does. ``drifting`` remembers the drifting features per model; returns the marks made.

    >>> from types import SimpleNamespace
    >>> report = {"features": [{"feature": "x", "test": "psi", "drifted": True},
    ...                        {"feature": "x", "test": "ks", "drifted": True},
    ...                        {"feature": "z", "test": "psi", "drifted": False}]}
    >>> host = SimpleNamespace(guard=SimpleNamespace(drift=lambda: report))
    >>> svc, rec, drifting = SimpleNamespace(hosts={"m": host}), Recorder(), {}
    >>> rec.count("m", "learn", 400)  # the monitor's rows were learned
    >>> sample_drift(svc, rec, drifting), sample_drift(svc, rec, drifting)  # once, not again
    (1, 0)
    >>> [(k["kind"], k["text"]) for k in rec.snapshot()["m"]["marks"]]
    [('drift', 'feature drift: x (psi, ks)')]
    """
    n = 0
    for name, host in list(svc.hosts.items()):
        guard = getattr(host, "guard", None)
        if guard is None:
            continue
        tests: dict[str, list[str]] = {}
        for r in _drift_report(guard)["features"]:
            if r["drifted"]:
                tests.setdefault(r["feature"], []).append(r["test"])
        for feature in sorted(set(tests) - drifting.get(name, set())):
            rec.mark(name, "drift", f"feature drift: {feature} ({', '.join(tests[feature])})")
            n += 1
        drifting[name] = set(tests)
    return n


def _sampler(svc: Any) -> None:
    seen: dict[tuple[str, str], int] = {}
    drifting: dict[str, set[str]] = {}
    while not svc._stop.wait(1.0):  # ends with the service
        for sample, memory in ((sample_shadows, seen), (sample_drift, drifting)):
            try:
                sample(svc, svc.recorder, memory)
            except Exception:  # a model swapped mid-read: the next second tries again
                continue
