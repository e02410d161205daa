"""The Guard: runs the rules over a block and gives every row a verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from tidal.base import ParameterError, StateError
from tidal.guards._columns import as_frame, block_frame, record_json
from tidal.guards._context import Context
from tidal.guards._rule import Rule
from tidal.guards._rules import default_rules
from tidal.guards._schema import Schema

__all__ = ["PASS", "REPAIRED", "QUARANTINED", "FLAGGED", "Guard", "GuardResult"]

PASS, REPAIRED, QUARANTINED, FLAGGED = 0, 1, 2, 3


class QuarantineSink(Protocol):
    """Where a guard sends its quarantined rows: a :class:`tidal.guards.Quarantine` (which
    imports the guard to replay rows; the guard needs only this)."""

    def add(self, result: GuardResult) -> int: ...


class GuardResult:
    """What a guard decided about one block.

    Attributes
    ----------
    verdict
        int8 per row: 0 pass, 1 repaired, 2 quarantined, 3 flagged.
    X
        The repaired feature matrix (schema column order; categorical columns as codes into the
        schema's categories; NaN where nothing was repaired).
    y
        Labels mapped onto the schema's classes (None where missing or invalid), or None.
    learn
        True for the rows a learner may learn from: not quarantined, not paused by a burst
        alarm, no NaN left, a valid label.
    paused
        True for rows that arrived while a burst alarm paused learning.
    reasons, rules
        Per row: every rule that fired with its reason ("" if none), and the rule that
        quarantined it ("" if none).
    counters
        Rule name -> number of hits in this block.
    score
        The outlier rule's robust z-score per row (0 if that rule is off).

    >>> import pandas as pd
    >>> schema = Schema.infer(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 1]}), "y")
    >>> res = Guard(schema).check({"x": [2.0, None], "y": [1, 1]})
    >>> res
    GuardResult(2 rows: 1 passed, 0 repaired, 1 quarantined, 0 flagged; 1 to learn)
    >>> res.reasons[1], res.records()
    ('missing: x is missing', [{'x': None, 'y': 1}])
    >>> res.block().X.tolist(), res.block().y.tolist()
    ([[2.0]], [1])
    """

    def __init__(self, ctx: Context, frame: pd.DataFrame, start: int):
        n = ctx.n
        self.n = n
        self.source = ctx.source
        self.start = start
        self.frame = frame
        self.feature_names = tuple(ctx.schema.names)
        self.categories = {
            c.name: list(c.categories) for c in ctx.schema.columns if c.kind == "categorical"
        }
        self.target = ctx.schema.target.name if ctx.schema.target is not None else None
        verdict = np.zeros(n, dtype=np.int8)
        verdict[ctx.repaired] = REPAIRED
        verdict[ctx.flagged] = FLAGGED
        verdict[ctx.quarantined] = QUARANTINED
        self.verdict = verdict
        self.X = ctx.matrix()
        self.y = ctx.y
        label_ok = ctx.has_label if ctx.y_bad is None else ctx.has_label & ~ctx.y_bad
        self.learn = ~ctx.quarantined & ~ctx.paused & np.isfinite(self.X).all(axis=1) & label_ok
        self.paused = ctx.paused
        self.score = ctx.score
        self.reasons = ["; ".join(ctx.reasons.get(i, ())) for i in range(n)]
        self.rules = [ctx.first_rule.get(i, "") for i in range(n)]
        self.counters = {k: v for k, v in ctx.counters.items()}
        #: (rule, column) -> cells that rule hit in that column
        self.cells = dict(ctx.cells)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        counts = np.bincount(self.verdict, minlength=4)
        return (
            f"GuardResult({self.n} rows: {counts[0]} passed, {counts[1]} repaired, "
            f"{counts[2]} quarantined, {counts[3]} flagged; {int(self.learn.sum())} to learn)"
        )

    @property
    def quarantined(self) -> np.ndarray:
        """Boolean mask of the quarantined rows."""
        return self.verdict == QUARANTINED

    def records(self, mask: np.ndarray | None = None) -> list[dict[str, Any]]:
        """The original records (JSON-able dicts) of the rows in ``mask`` (default: quarantined)."""
        rows = np.flatnonzero(self.quarantined if mask is None else mask)
        return [record_json(self.frame, int(i)) for i in rows]

    def block(self, learn_only: bool = True) -> Any:
        """The (learnable) rows as a :class:`tidal.stream.Block`, ready for ``learn_many``."""
        from tidal.stream import Block

        keep = self.learn if learn_only else np.ones(self.n, dtype=bool)
        y = None
        if self.y is not None:
            y = np.array(self.y[keep].tolist()) if keep.any() else np.array([])
        return Block(
            self.X[keep],
            self.feature_names,
            categories=self.categories,
            y=y,
            start=self.start,
            target=self.target,
        )


class Guard:
    """Data-quality guards in front of learning: rules over a schema, a verdict per row.

    Parameters
    ----------
    schema
        The :class:`Schema` rows are checked against.
    rules
        The rules, each with its policy (default: :func:`default_rules`).
    quarantine
        A :class:`Quarantine` that receives the quarantined rows of every block (optional).

    >>> import pandas as pd
    >>> from tidal.guards import Guard, Schema, Missing
    >>> schema = Schema.infer(pd.DataFrame({"x": [1.0, 2.0, 3.0, 2.5], "y": [0, 1, 0, 1]}), "y")
    >>> guard = Guard(schema)
    >>> res = guard.check(pd.DataFrame({"x": [2.0, None, "abc", 1e6, 2.2], "y": [1, 0, 0, 0, 7]}))
    >>> res.verdict.tolist()
    [0, 2, 2, 2, 2]
    >>> res.rules
    ['', 'missing', 'wrong_type', 'out_of_range', 'invalid_label']
    >>> Guard(schema, rules=[Missing(policy="repair")]).check({"x": [None], "y": [1]}).X.tolist()
    [[2.25]]
    """

    def __init__(
        self,
        schema: Schema,
        rules: Sequence[Rule] | None = None,
        *,
        quarantine: QuarantineSink | None = None,
    ):
        self.schema = schema
        self.rules = list(default_rules() if rules is None else rules)
        self.quarantine = quarantine
        names = [r.name for r in self.rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ParameterError(f"rules: {dupes} given more than once")
        for rule in self.rules:
            if not isinstance(rule, Rule):
                raise ParameterError(f"rules: expected Rule instances, got {type(rule).__name__}")
            rule.check_params(schema)
        self.reset()

    def __repr__(self) -> str:
        return f"Guard({len(self.schema.columns)} columns, rules={[r.name for r in self.rules]})"

    def reset(self) -> None:
        """Forget every rule's state (bounds grown, ids seen, burst rates) and the counters."""
        for rule in self.rules:
            rule.start(self.schema)
        self.counters: dict[str, int] = {r.name: 0 for r in self.rules}
        self.n_rows = 0

    def state_dict(self) -> dict[str, Any]:
        """The schema, the counters and what every rule learned (bounds grown, ids seen, burst
        rates), as numpy arrays and JSON values (``tidal.base.save_state`` writes it to a file).
        """
        return {
            "format": "tidal.guard",
            "format_version": 1,
            "schema": self.schema.to_dict(),
            "n_rows": self.n_rows,
            "counters": dict(self.counters),
            "rules": {r.name: r.state_dict() for r in self.rules},
        }

    def load_state(self, state: dict[str, Any]) -> Guard:
        """Restore :meth:`state_dict` output into this guard (same rules); returns self."""
        if not isinstance(state, dict) or state.get("format") != "tidal.guard":
            raise StateError("not a guard state: expected format 'tidal.guard'")
        if state.get("schema") != self.schema.to_dict():
            raise StateError("the state was saved with another schema than this guard's")
        saved = state.get("rules", {})
        names = sorted(r.name for r in self.rules)
        if sorted(saved) != names:
            raise StateError(f"the state has rules {sorted(saved)}, this guard has {names}")
        for rule in self.rules:
            rule.load_state(saved[rule.name])
        self.n_rows = int(state["n_rows"])
        self.counters = {k: int(v) for k, v in state["counters"].items()}
        return self

    @property
    def learning_paused(self) -> bool:
        """True while a burst alarm is on."""
        return any(getattr(r, "active", False) for r in self.rules)

    def check(
        self,
        data: Any,
        *,
        predictions: Any = None,
        source: str = "default",
        replay: bool = False,
    ) -> GuardResult:
        """Check a block (a DataFrame, a Block, a dict of columns or a list of records).

        ``predictions`` are the deployed model's predictions for these rows (the label-burst
        rule compares them with the labels). ``replay=True`` re-checks old rows: rules about
        arrival order (timestamps, bursts) are skipped and no state learns from them.
        """
        from tidal.stream import Block

        if isinstance(data, Block):
            frame = block_frame(data, self.schema.id_column, self.schema.timestamp_column)
            t = self.schema.target
            if t is not None and data.y is not None and (data.target or "y") != t.name:
                frame = frame.rename(columns={data.target or "y": t.name})
        else:
            frame = as_frame(data)
        frame = frame.reset_index(drop=True)
        block_counts: dict[str, int] = {r.name: 0 for r in self.rules}
        ctx = Context(
            self.schema,
            frame,
            source=source,
            predictions=predictions,
            replay=replay,
            counters=block_counts,
        )
        for rule in sorted(self.rules, key=lambda r: r.stage):
            rule.apply(ctx)
        result = GuardResult(ctx, frame, self.n_rows)
        if not replay:
            self.n_rows += ctx.n
            for k, v in block_counts.items():
                self.counters[k] = self.counters.get(k, 0) + v
            if self.quarantine is not None:
                self.quarantine.add(result)
        return result
