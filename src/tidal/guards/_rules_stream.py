"""The rules on the stream: duplicate ids, timestamp order (stage 1) and bursts of rejected rows
or of label disagreement (stage 2). The policies and stages are in :mod:`tidal.guards._rule`."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

from tidal._kernels.guards import (
    BURST_STATE_SIZE,
    burst_update,
    first_seen_max,
)
from tidal.base import ParameterError, store_params
from tidal.guards._rule import Rule, _positive

if TYPE_CHECKING:
    from tidal.guards._context import Context
    from tidal.guards._schema import Schema

__all__ = ["DuplicateId", "LabelBurst", "RejectBurst", "TimestampOrder"]


class DuplicateId(Rule):
    """An event id seen before (among the last ``max_ids`` accepted ids).

    >>> DuplicateId(max_ids=10).max_ids
    10
    """

    name = "duplicate_id"
    stage = 1
    policies = ("quarantine", "flag")

    def __init__(self, *, max_ids: int = 1_000_000, policy: str = "quarantine"):
        super().__init__(policy=policy)
        self.max_ids = max_ids

    def check_params(self, schema: Schema) -> None:
        super().check_params(schema)
        _positive(self, max_ids=self.max_ids)

    def start(self, schema: Schema) -> None:
        self.seen: OrderedDict[Any, None] = OrderedDict()

    def state_dict(self) -> dict[str, Any]:
        return {"seen": list(self.seen)}

    def load_state(self, state: dict[str, Any]) -> None:
        self.seen = OrderedDict((k, None) for k in state["seen"])

    def apply(self, ctx: Context) -> None:
        if ctx.ids is None:
            return
        dup = np.zeros(ctx.n, dtype=bool)
        seen = self.seen
        for i, key in enumerate(ctx.ids):
            if key is None:
                continue
            if key in seen:
                dup[i] = True
            elif not ctx.quarantined[i] and not ctx.replay:
                seen[key] = None
                if len(seen) > self.max_ids:
                    seen.popitem(last=False)
        ids = ctx.ids
        ctx.hit_rows(self, dup, lambda i: f"event id {ids[i]!r} was seen before")


class TimestampOrder(Rule):
    """A timestamp more than ``tolerance`` seconds before the latest accepted one, older than
    ``max_age`` seconds (by the wall clock), or unreadable. Not applied when replaying.

    >>> TimestampOrder(tolerance=60).tolerance
    60
    """

    name = "timestamp"
    stage = 1
    _state = ("last",)
    policies = ("quarantine", "flag")

    def __init__(
        self, *, tolerance: float = 0.0, max_age: float | None = None, policy: str = "quarantine"
    ):
        super().__init__(policy=policy)
        store_params(self, locals())

    def check_params(self, schema: Schema) -> None:
        super().check_params(schema)
        if not (isinstance(self.tolerance, int | float) and self.tolerance >= 0):
            raise ParameterError(f"{self.name}: tolerance == {self.tolerance!r}, must be >= 0")
        if self.max_age is not None:
            _positive(self, max_age=self.max_age)

    def start(self, schema: Schema) -> None:
        self.last = np.array([np.nan])

    def apply(self, ctx: Context) -> None:
        if ctx.ts is None or ctx.replay:
            return
        ts = ctx.ts
        back = np.zeros(ctx.n, dtype=bool)
        unreadable = ctx.ts_bad
        old = np.zeros(ctx.n, dtype=bool)
        if self.max_age is not None:
            old = ts < time.time() - self.max_age
        skip = ctx.quarantined | old | unreadable
        first_seen_max(ts, skip, self.last, back, float(self.tolerance))
        raw = ctx.ts_raw
        ctx.hit_rows(self, unreadable, lambda i: f"timestamp {raw[i]!r} is not a time")
        ctx.hit_rows(
            self,
            old & ~unreadable,
            lambda i: f"timestamp {raw[i]!r} is older than {self.max_age} s",
        )
        ctx.hit_rows(self, back & ~old, lambda i: f"timestamp {raw[i]!r} goes backwards")


class _Burst(Rule):
    """Shared parameters of the burst rules: an alarm on a jump of a fast rate (EWMA with
    ``alpha_fast``) over a baseline (``alpha_slow``) by more than ``delta``, once ``warmup``
    events were seen and the fast rate is at least ``min_rate``; released when the excess falls
    under ``release * delta`` or after ``max_duration`` events."""

    stage = 2
    policies = ("quarantine", "flag")

    def __init__(
        self,
        *,
        alpha_fast: float = 1 / 50,
        alpha_slow: float = 1 / 1000,
        delta: float = 0.3,
        min_rate: float = 0.6,
        warmup: int = 500,
        max_duration: int = 3000,
        release: float = 0.1,
        policy: str = "flag",
    ):
        super().__init__(policy=policy)
        store_params(self, locals())

    def check_params(self, schema: Schema) -> None:
        super().check_params(schema)
        _positive(
            self,
            alpha_fast=self.alpha_fast,
            alpha_slow=self.alpha_slow,
            delta=self.delta,
            max_duration=self.max_duration,
        )
        if not 0 <= self.release < 1:
            raise ParameterError(f"{self.name}: release == {self.release!r}, must be in [0, 1)")
        if not self.alpha_slow < self.alpha_fast <= 1:
            raise ParameterError(
                f"{self.name}: alpha_slow == {self.alpha_slow} and "
                f"alpha_fast == {self.alpha_fast}, must satisfy alpha_slow < alpha_fast <= 1"
            )

    def start(self, schema: Schema) -> None:
        self.groups: dict[str, int] = {}
        self.state = np.zeros((0, BURST_STATE_SIZE))
        self.p = np.array(
            [
                self.alpha_fast,
                self.alpha_slow,
                self.delta,
                self.min_rate,
                self.warmup,
                self.max_duration,
                self.release,
            ],
            dtype=float,
        )

    def state_dict(self) -> dict[str, Any]:
        return {"groups": dict(self.groups), "state": self.state.copy()}

    def load_state(self, state: dict[str, Any]) -> None:
        self.groups = {str(k): int(v) for k, v in state["groups"].items()}
        # a copy: later checks update the state in place and must not change the caller's dict
        self.state = np.array(state["state"], dtype=np.float64).reshape(-1, BURST_STATE_SIZE)

    @property
    def active(self) -> bool:
        """True while the alarm is on (for any source)."""
        return bool(self.state[:, 3].any()) if len(self.state) else False

    def _run(self, ctx: Context, events: np.ndarray, what: str) -> None:
        if ctx.replay:
            return
        g = self.groups.setdefault(ctx.source, len(self.groups))
        if g >= len(self.state):
            self.state = np.vstack([self.state, np.zeros((1, BURST_STATE_SIZE))])
        alarm = np.zeros(ctx.n, dtype=bool)
        burst_update(self.state, events, np.full(ctx.n, g, dtype=np.int64), self.p, alarm)
        ctx.paused |= alarm
        ctx.hit_rows(
            self, alarm, lambda i: f"{what} burst from source {ctx.source!r}: learning paused"
        )


class RejectBurst(_Burst):
    """A sudden jump in the rate of quarantined rows from a source: while the alarm is on,
    learning from that source is paused (the rows it lets through are flagged, not learned).

    >>> RejectBurst().delta
    0.3
    """

    name = "reject_burst"

    def apply(self, ctx: Context) -> None:
        self._run(ctx, ctx.quarantined.astype(np.float64), "rejection")


class LabelBurst(_Burst):
    """A sudden jump in disagreement between the labels and the model's predictions (pass them
    as ``Guard.check(..., predictions=...)``): learning is paused while the alarm lasts, so a
    burst of flipped labels does not teach the model. A lasting change (longer than
    ``max_duration`` labelled rows) becomes the new normal, so real concept drift is learned.

    ``prequential`` and ``tidal compare`` do not feed this rule: with it among the rules they
    watch the stream with a :class:`~tidal.guards.BurstDetector` of their own (no compared
    learner's predictions) and roll every learner back (:class:`~tidal.guards.BurstWatch`).

    Disagreement alone cannot tell flipped labels from a stretch where the model is naturally
    wrong: on Elec2 (logistic regression, 1,000 flipped labels) the defaults learned 27 flipped
    rows and also paused about 3 % of the clean rows, for a net gain of 0.9 accuracy points
    over learning everything (tests/guards/test_corruption.py).

    >>> LabelBurst().max_duration
    3000
    """

    name = "label_burst"

    def apply(self, ctx: Context) -> None:
        events = np.full(ctx.n, np.nan)
        if ctx.pred_keys is not None and ctx.y_keys is not None:
            ok = ~ctx.quarantined & ctx.has_pred & ctx.has_label
            events[ok] = (ctx.y_keys[ok] != ctx.pred_keys[ok]).astype(np.float64)
        self._run(ctx, events, "label disagreement")
