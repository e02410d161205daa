"""The promotion gate: may a challenger replace the champion? A pure function of the evidence.

The caller scores both models on the same last N labelled events (or hands in the metric
values it computed itself); the gate only compares, so it is tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidal.metrics import metric_specs

__all__ = ["METRICS", "GateDecision", "GatePolicy", "Evidence", "promotion_gate", "score"]


class _GateMetrics(Mapping[str, tuple[Callable[..., float], bool]]):
    """The metrics the gate can compare, read from :mod:`tidal.metrics`' registry each time:
    every registered metric that scores labels (not probabilities), by its configuration key
    ("accuracy", "mae", "rmse"...) -> (scorer of labels and predictions, higher is better).
    A metric registered there is a gate metric here, with nothing to add."""

    def _specs(self) -> dict[str, Any]:
        return {s.key: s for s in metric_specs() if not s.requires_proba}

    def __getitem__(self, key: str) -> tuple[Callable[..., float], bool]:
        spec = self._specs()[key]

        def scorer(y: Sequence[Any], p: Sequence[Any]) -> float:
            try:
                return float(spec.make().update_many(list(y), list(p)).get())
            except (TypeError, ValueError) as e:  # values the metric cannot take (a list...)
                raise TypeError(f"{spec.name} cannot score these values: {e}") from e

        return scorer, bool(spec.higher_is_better)

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs())

    def __len__(self) -> int:
        return len(self._specs())


#: metric key -> (function of labels and predictions, higher is better); see :class:`_GateMetrics`
METRICS = _GateMetrics()


def score(metric: str, labels: Sequence[Any], predictions: Sequence[Any]) -> float:
    """``metric`` (a key of :data:`METRICS`: "accuracy", "mae", "rmse"...) of ``predictions``
    against ``labels``, computed by the :mod:`tidal.metrics` object of that name.

    >>> score("mae", [1.0, 2.0], [1.5, 2.5])
    0.5
    >>> score("accuracy", [1, 0, 1, 1], [1, 1, 1, None])
    0.5
    """
    if metric not in METRICS:
        raise ValueError(f"metric == {metric!r}, must be one of {sorted(METRICS)}")
    if len(labels) != len(predictions) or not labels:
        raise ValueError(
            f"need as many predictions as labels, at least one: got {len(predictions)} "
            f"predictions for {len(labels)} labels"
        )
    return METRICS[metric][0](labels, predictions)


@dataclass(frozen=True)
class GatePolicy:
    """How the gate decides: the metric, the events it needs, the margin to beat.

    ``margin`` is absolute (in metric units): with accuracy and ``margin=0.01`` the challenger
    needs one point more than the champion. ``require_approval`` names the model kinds that
    also need a human :meth:`~tidal.registry.Registry.approve` before production.

    >>> GatePolicy(metric="rmse").higher_is_better
    False
    """

    metric: str = "accuracy"
    last_n: int = 1000
    min_events: int = 100
    margin: float = 0.0
    require_approval: tuple[str, ...] = ("batch",)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric == {self.metric!r}, must be one of {sorted(METRICS)}")
        if self.margin < 0 or not math.isfinite(self.margin):
            raise ValueError(f"margin == {self.margin}, must be a finite number >= 0")
        if self.min_events < 1 or self.last_n < self.min_events:
            raise ValueError(
                f"min_events == {self.min_events}, last_n == {self.last_n}: "
                "need 1 <= min_events <= last_n"
            )

    @property
    def higher_is_better(self) -> bool:
        return METRICS[self.metric][1]


@dataclass(frozen=True)
class Evidence:
    """The gate's input: both models' metric values on the same ``n_events`` labelled events.

    Build it from values (``Evidence(0.91, 0.90, 500)``) or from scored events with
    :meth:`from_events`, which keeps the last ``policy.last_n``.

    >>> labels, new, old = [1, 0, 1, 1], [1, 0, 1, 1], [1, 1, 1, 0]
    >>> ev = Evidence.from_events(labels, new, old, GatePolicy(min_events=2))
    >>> ev.challenger, ev.champion, ev.n_events
    (1.0, 0.5, 4)
    """

    challenger: float
    champion: float | None
    n_events: int

    @classmethod
    def from_events(
        cls,
        labels: Sequence[Any],
        challenger: Sequence[Any],
        champion: Sequence[Any] | None,
        policy: GatePolicy,
    ) -> Evidence:
        n = min(len(labels), policy.last_n)
        labels = list(labels)[-n:] if n else []
        if not labels:
            return cls(math.nan, None, 0)
        ch = score(policy.metric, labels, list(challenger)[-n:])
        cp = None if champion is None else score(policy.metric, labels, list(champion)[-n:])
        return cls(ch, cp, n)


@dataclass(frozen=True)
class GateDecision:
    """Whether the challenger may go to production, and why (the reason goes to the audit log).

    >>> GateDecision(False, "no evidence").passed
    False
    """

    passed: bool
    reason: str


def promotion_gate(evidence: Evidence | None, policy: GatePolicy) -> GateDecision:
    """Decide a promotion: the challenger must beat the champion by ``policy.margin`` on at
    least ``policy.min_events`` labelled events. With no champion, enough events suffice.

    >>> p = GatePolicy(metric="accuracy", margin=0.02, min_events=100)
    >>> promotion_gate(Evidence(0.93, 0.90, 500), p).passed
    True
    >>> promotion_gate(Evidence(0.91, 0.90, 500), p).reason  # doctest: +NORMALIZE_WHITESPACE
    'challenger accuracy 0.91 does not beat champion 0.9 by the margin 0.02 (needs >= 0.92)
     on 500 events'
    """
    if evidence is None:
        return GateDecision(False, "no evidence: score both models on the last labelled events")
    m = policy.metric
    if evidence.n_events < policy.min_events:
        return GateDecision(
            False,
            f"only {evidence.n_events} labelled events, the gate needs at least "
            f"{policy.min_events} (min_events)",
        )
    if not math.isfinite(evidence.challenger):
        return GateDecision(False, f"challenger {m} is {evidence.challenger}, not a number")
    if evidence.champion is None:
        return GateDecision(
            True,
            f"no champion; challenger {m} {evidence.challenger:.6g} on {evidence.n_events} events",
        )
    sign = 1.0 if policy.higher_is_better else -1.0
    need = evidence.champion + sign * policy.margin
    gain = sign * (evidence.challenger - evidence.champion)
    if policy.margin == 0:
        ok, cmp = gain > 0, ">" if sign > 0 else "<"
    else:  # a gain equal to the margin up to rounding (0.95 - 0.90 vs 0.05) passes
        ok = gain > policy.margin or math.isclose(gain, policy.margin, rel_tol=1e-9)
        cmp = ">=" if sign > 0 else "<="
    verdict = "beats" if ok else "does not beat"
    return GateDecision(
        ok,
        f"challenger {m} {evidence.challenger:.6g} {verdict} champion {evidence.champion:.6g} "
        f"by the margin {policy.margin:g} (needs {cmp} {need:.6g}) on {evidence.n_events} events",
    )
