"""The guard rules. Each one is vectorised over a block and has a policy for the rows it catches.

Policies: ``"quarantine"`` (reject the row; it is kept in the quarantine), ``"repair"`` (impute
or clip, and learn from the repaired row), ``"flag"`` (let the row through with a flag; a row
still holding a NaN or an invalid label is not learned).

Rules run in stages so that state only ever learns from rows that the stateless rules accepted:
stage 0 is stateless (missing, type, category, label), stage 1 keeps state about values (bounds,
ids, time, outlier scores), stage 2 watches rates (bursts).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tidal.base import ParameterError, StateError
from tidal.base.validation import check_real

if TYPE_CHECKING:
    from tidal.guards._context import Context
    from tidal.guards._schema import Schema

__all__ = ["Rule"]


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

    def state_dict(self) -> dict[str, Any]:
        """What the rule learned (arrays and JSON values), for snapshots."""
        return {k: getattr(self, k).copy() for k in self._state}

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output (arrays must keep their shapes)."""
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
        check_real(key, value, 0.0, closed="(]", owner=rule.name)


def _bad_values(rule: Rule, ctx: Context, specs: list, masks: dict, what: str) -> None:
    for _, spec in specs:
        raw = ctx.raw[spec.name]
        ctx.hit_cells(
            rule, masks[spec.name], spec, lambda i, s=spec, r=raw: f"{s.name} == {r[i]!r} {what}"
        )
