"""The rules on values: missing, type, category, label, range (stage 0 and the bounds of
stage 1) and outlier scores. The policies and stages are in :mod:`tidal.guards._rule`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tidal._kernels.guards import (
    bounds_check_grow,
    robust_z,
)
from tidal.base import ParameterError, store_params
from tidal.guards._rule import Rule, _bad_values, _positive
from tidal.guards._rules_stream import (
    DuplicateId,
    LabelBurst,
    RejectBurst,
    TimestampOrder,
)

if TYPE_CHECKING:
    from tidal.guards._context import Context
    from tidal.guards._schema import Schema

__all__ = [
    "InvalidLabel",
    "Missing",
    "OutOfRange",
    "Outlier",
    "UnseenCategory",
    "WrongType",
    "default_rules",
]


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
        store_params(self, locals())

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
        store_params(self, locals())

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
