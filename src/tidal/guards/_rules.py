"""The guard rules. Each one is vectorised over a block and has a policy for the rows it catches.

Policies: ``"quarantine"`` (reject the row; it is kept in the quarantine), ``"repair"`` (impute
or clip, and learn from the repaired row), ``"flag"`` (let the row through with a flag; a row
still holding a NaN or an invalid label is not learned).

Rules run in stages so that state only ever learns from rows that the stateless rules accepted:
stage 0 is stateless (missing, type, category, label), stage 1 keeps state about values (bounds,
ids, time, outlier scores), stage 2 watches rates (bursts).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import numpy as np

from tidal._kernels.guards import (
    BURST_STATE_SIZE,
    bounds_check_grow,
    burst_update,
    first_seen_max,
    robust_z,
)
from tidal.base import ParameterError, StateError

if TYPE_CHECKING:
    from tidal.guards._context import Context
    from tidal.guards._schema import Schema

__all__ = [
    "DuplicateId",
    "InvalidLabel",
    "LabelBurst",
    "Missing",
    "OutOfRange",
    "Outlier",
    "RejectBurst",
    "Rule",
    "TimestampOrder",
    "UnseenCategory",
    "WrongType",
    "default_rules",
]


class Rule:
    """Base of the rules: a name, a policy, a stage; subclasses implement ``apply(ctx)``.

    ``apply`` reads the block's coerced columns from the context and calls ``ctx.hit_rows`` /
    ``ctx.hit_cells`` with a mask and a reason; the context applies the rule's policy.

    >>> class Negative(Rule):
    ...     name = "negative"
    ...     def apply(self, ctx):
    ...         ctx.hit_rows(self, (ctx.V < 0).any(axis=1), lambda i: "a negative value")
    >>> from tidal.guards import Guard, Schema
    >>> g = Guard(Schema.infer({"x": [1.0, 2.0]}), rules=[Negative()])
    >>> g.check({"x": [1.0, -1.0]}).verdict.tolist()
    [0, 2]
    """

    name = "rule"
    stage = 0
    policies: tuple[str, ...] = ("quarantine", "repair", "flag")
    # attributes (numpy arrays) that hold what the rule learned from the stream
    _state: tuple[str, ...] = ()

    def __init__(self, *, policy: str = "quarantine"):
        self.policy = policy

    def __repr__(self) -> str:
        return f"{type(self).__name__}(policy={self.policy!r})"

    def check_params(self, schema: Schema) -> None:
        """Raise ParameterError (naming the rule and field) if the rule cannot work here."""
        if self.policy not in self.policies:
            raise ParameterError(
                f"{self.name}: policy == {self.policy!r}, must be one of {list(self.policies)}"
            )

    def start(self, schema: Schema) -> None:
        """Allocate the rule's state for ``schema`` (called once, and by ``Guard.reset``)."""

    def get_state(self) -> dict[str, Any]:
        """What the rule learned (arrays and JSON values), for snapshots."""
        return {k: getattr(self, k).copy() for k in self._state}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state` output (arrays must keep their shapes)."""
        for k in self._state:
            old = getattr(self, k)
            new = np.asarray(state[k], dtype=old.dtype)
            if new.shape != old.shape:
                raise StateError(
                    f"{self.name}: state {k!r} has shape {new.shape}, expected {old.shape}"
                )
            setattr(self, k, new.copy())

    def apply(self, ctx: Context) -> None:
        raise NotImplementedError


def _positive(rule: Rule, **values: float) -> None:
    for key, value in values.items():
        if not (isinstance(value, int | float) and value > 0):
            raise ParameterError(f"{rule.name}: {key} == {value!r}, must be a number > 0")


def _bad_values(rule: Rule, ctx: Context, specs: list, masks: dict, what: str) -> None:
    for _, spec in specs:
        raw = ctx.raw[spec.name]
        ctx.hit_cells(
            rule, masks[spec.name], spec, lambda i, s=spec, r=raw: f"{s.name} == {r[i]!r} {what}"
        )


class Missing(Rule):
    """A missing value (None or NaN) in a column that is not nullable. Repair imputes the
    schema's center (numeric) or the most frequent category.

    >>> Missing(policy="repair").policy
    'repair'
    """

    name = "missing"

    def apply(self, ctx: Context) -> None:
        for spec in ctx.schema.columns:
            if not spec.nullable:
                ctx.hit_cells(
                    self, ctx.missing[spec.name], spec, lambda i, s=spec: f"{s.name} is missing"
                )


class WrongType(Rule):
    """A value that is not a number in a numeric column (e.g. a string). Repair imputes.

    >>> WrongType().name
    'wrong_type'
    """

    name = "wrong_type"

    def apply(self, ctx: Context) -> None:
        _bad_values(self, ctx, ctx.numeric, ctx.wrong, "is not a number")


class UnseenCategory(Rule):
    """A category the schema does not list. Repair maps it to the most frequent category.

    >>> UnseenCategory(policy="flag").policy
    'flag'
    """

    name = "unseen_category"

    def apply(self, ctx: Context) -> None:
        _bad_values(self, ctx, ctx.categorical, ctx.unseen, "is not a known category")


class InvalidLabel(Rule):
    """A label outside the target's domain (not one of the classes, or out of the numeric range,
    or not a number for a numeric target). A missing label is not invalid (it may come later).

    >>> InvalidLabel().policies
    ('quarantine', 'flag')
    """

    name = "invalid_label"
    policies = ("quarantine", "flag")

    def apply(self, ctx: Context) -> None:
        if ctx.y_bad is not None:
            raw = ctx.y_raw
            ctx.hit_rows(
                self, ctx.y_bad, lambda i: f"label {raw[i]!r} is not in the target's domain"
            )


class OutOfRange(Rule):
    """A numeric value outside its bounds. A column with fixed bounds (the schema's min/max, or
    ``bounds`` here) is checked against them only: a person said what the domain is. Any other
    column gets robust growing bounds ``center ± k·scale`` that widen around every accepted
    value, so a column that was constant in the sample can start to move. Repair clips.

    >>> from tidal.guards import Schema
    >>> rule = OutOfRange(bounds={"x": (0.0, 1.0)})
    >>> s = Schema.infer({"x": [0.1, 0.5, 0.9]})
    >>> rule.check_params(s)
    >>> OutOfRange(bounds={"x": (2.0, 1.0)}).check_params(s)
    Traceback (most recent call last):
    ...
    tidal.base.exceptions.ParameterError: out_of_range: bounds['x'] == (2.0, 1.0): low > high
    """

    name = "out_of_range"
    stage = 1
    _state = ("lo", "hi", "ew_mean", "ew_dev")

    def __init__(
        self,
        *,
        bounds: dict[str, tuple[float | None, float | None]] | None = None,
        k: float = 10.0,
        alpha: float = 0.005,
        growing: bool = True,
        policy: str = "quarantine",
    ):
        super().__init__(policy=policy)
        self.bounds = bounds
        self.k = k
        self.alpha = alpha
        self.growing = growing

    def check_params(self, schema: Schema) -> None:
        super().check_params(schema)
        _positive(self, k=self.k, alpha=self.alpha)
        names = {c.name: c for c in schema.columns}
        for key, pair in (self.bounds or {}).items():
            if key not in names or names[key].kind != "numeric":
                raise ParameterError(
                    f"{self.name}: bounds[{key!r}]: not a numeric column of the schema"
                )
            lo, hi = pair
            if lo is not None and hi is not None and lo > hi:
                raise ParameterError(f"{self.name}: bounds[{key!r}] == {pair!r}: low > high")
        for c in schema.columns:
            if c.kind == "numeric" and c.min is not None and c.max is not None and c.min > c.max:
                raise ParameterError(
                    f"{self.name}: schema column {c.name!r}: min {c.min} > max {c.max}"
                )

    def start(self, schema: Schema) -> None:
        specs = [c for c in schema.columns if c.kind == "numeric"]
        fixed = self.bounds or {}
        self.fixed_lo = np.array([fixed.get(c.name, (c.min, c.max))[0] for c in specs], dtype=float)
        self.fixed_hi = np.array([fixed.get(c.name, (c.min, c.max))[1] for c in specs], dtype=float)
        self.fixed_lo = np.where(np.isnan(self.fixed_lo), -np.inf, self.fixed_lo)
        self.fixed_hi = np.where(np.isnan(self.fixed_hi), np.inf, self.fixed_hi)
        center = np.array([c.center for c in specs], dtype=float)
        self.scale = np.array([c.scale for c in specs], dtype=float)
        fixed_cols = np.isfinite(self.fixed_lo) | np.isfinite(self.fixed_hi)
        self.lo = np.where(fixed_cols, -np.inf, center - self.k * self.scale)
        self.hi = np.where(fixed_cols, np.inf, center + self.k * self.scale)
        self.ew_mean = center.copy()
        self.ew_dev = np.zeros_like(center)

    def apply(self, ctx: Context) -> None:
        V = ctx.V
        lo = np.broadcast_to(self.fixed_lo, V.shape).copy()
        hi = np.broadcast_to(self.fixed_hi, V.shape).copy()
        bad = (V < lo) | (V > hi)
        if self.growing and V.shape[1]:
            skip = ctx.quarantined | bad.any(axis=1)
            if ctx.replay:  # replayed rows are judged by today's bounds but do not move them
                skip = np.ones(len(V), dtype=bool)
            robust = np.zeros_like(bad)
            lo_at, hi_at = np.empty_like(V), np.empty_like(V)
            bounds_check_grow(
                V,
                skip,
                self.lo,
                self.hi,
                self.scale,
                self.ew_mean,
                self.ew_dev,
                float(self.k),
                float(self.alpha),
                robust,
                lo_at,
                hi_at,
            )
            bad |= robust
            np.maximum(lo, lo_at, out=lo)
            np.minimum(hi, hi_at, out=hi)
        for j, spec in ctx.numeric:
            col = bad[:, j]
            if col.any():
                a, b, x = lo[:, j], hi[:, j], V[:, j].copy()
                ctx.hit_cells(
                    self,
                    col,
                    spec,
                    lambda i, s=spec, a=a, b=b, x=x: (
                        f"{s.name} == {x[i]:.6g} outside [{a[i]:.6g}, {b[i]:.6g}]"
                    ),
                    clip=(a, b),
                )


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

    def get_state(self) -> dict[str, Any]:
        return {"seen": list(self.seen)}

    def set_state(self, state: dict[str, Any]) -> None:
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
        self.tolerance = tolerance
        self.max_age = max_age

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


class Outlier(Rule):
    """A row whose largest robust z-score ``|x - center| / scale`` (running center and mean
    absolute deviation, floored at the schema's scale) exceeds ``threshold``.

    >>> Outlier(threshold=8.0).threshold
    8.0
    """

    name = "outlier"
    stage = 1
    _state = ("center", "dev")
    policies = ("quarantine", "flag")

    def __init__(self, *, threshold: float = 12.0, alpha: float = 0.005, policy: str = "flag"):
        super().__init__(policy=policy)
        self.threshold = threshold
        self.alpha = alpha

    def check_params(self, schema: Schema) -> None:
        super().check_params(schema)
        _positive(self, threshold=self.threshold, alpha=self.alpha)

    def start(self, schema: Schema) -> None:
        specs = [c for c in schema.columns if c.kind == "numeric"]
        self.center = np.array([c.center for c in specs], dtype=float)
        self.floor = np.array([c.scale for c in specs], dtype=float)
        self.dev = self.floor / 1.2533141373155001

    def apply(self, ctx: Context) -> None:
        if not ctx.numeric:
            return
        z = np.zeros(ctx.n)
        skip = ctx.quarantined | ctx.replay
        robust_z(ctx.V, skip, self.center, self.dev, self.floor, float(self.alpha), z)
        ctx.score = z
        ctx.hit_rows(
            self, z > self.threshold, lambda i: f"robust z-score {z[i]:.1f} > {self.threshold}"
        )


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
        self.alpha_fast = alpha_fast
        self.alpha_slow = alpha_slow
        self.delta = delta
        self.min_rate = min_rate
        self.warmup = warmup
        self.max_duration = max_duration
        self.release = release

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

    def get_state(self) -> dict[str, Any]:
        return {"groups": dict(self.groups), "state": self.state.copy()}

    def set_state(self, state: dict[str, Any]) -> None:
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


def default_rules() -> list[Rule]:
    """Every rule with its default policy (bursts and outliers flag; the rest quarantine)."""
    return [
        Missing(),
        WrongType(),
        UnseenCategory(),
        InvalidLabel(),
        OutOfRange(),
        DuplicateId(),
        TimestampOrder(),
        Outlier(),
        RejectBurst(),
        LabelBurst(),
    ]
