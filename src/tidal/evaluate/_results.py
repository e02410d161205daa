"""Results of a prequential run: rows of dicts, stamped with what produced them."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

__all__ = ["CheckpointSeries", "Results"]

#: checkpoints kept per learner at most: a long stream keeps every 2nd, then 4th... checkpoint
MAX_CHECKPOINTS = 2000


class CheckpointSeries:
    """The checkpoint records of a run, thinned so that their number stays bounded: when more
    than ``cap`` rows are held, the spacing doubles (every other row is dropped). The last row
    added is always kept, whatever its spacing.

    >>> s = CheckpointSeries(every=10, cap=4)
    >>> for row in range(10, 110, 10):
    ...     s.add(row, [{"row": row}])
    >>> [r["row"] for r in s.records()], s.every
    ([40, 80, 100], 40)
    """

    def __init__(self, every: int, cap: int = MAX_CHECKPOINTS) -> None:
        self.every = int(every)
        self.cap = int(cap)
        self._rows: list[tuple[int, list[dict[str, Any]]]] = []

    def add(self, row: int, records: list[dict[str, Any]]) -> None:
        if self._rows and self._rows[-1][0] % self.every:
            self._rows.pop()  # the previous "last row" is off the grid: it only stood for the end
        self._rows.append((row, records))
        while len(self._rows) > self.cap:
            self.every *= 2
            last = self._rows[-1]
            self._rows = [r for r in self._rows[:-1] if r[0] % self.every == 0]
            self._rows.append(last)

    def records(self) -> list[dict[str, Any]]:
        return [rec for _, recs in self._rows for rec in recs]


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become None (strict JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return _clean(value.item())
    return value


class Results:
    """What :func:`tidal.evaluate.prequential` returns.

    ``rows``: one dict per learner (final metric values, rows, CPU seconds, rows per CPU second,
    peak model bytes, error); ``checkpoints``: one dict per learner every ``every`` rows;
    ``meta``: tidal version, data fingerprint, settings and each learner's class, parameters
    and seeds.

    >>> r = Results([{"learner": "a", "Accuracy": 0.5}], [], {"tidal_version": "0.1.0"})
    >>> r.to_pandas()
      learner  Accuracy
    0       a       0.5
    >>> r["a"]["Accuracy"]
    0.5
    """

    def __init__(
        self,
        rows: list[dict[str, Any]],
        checkpoints: list[dict[str, Any]],
        meta: dict[str, Any],
        costs: list[dict[str, Any]] | None = None,
        analysis: dict[str, Any] | None = None,
    ) -> None:
        self.rows = rows
        self.checkpoints = checkpoints
        self.meta = meta
        #: the cost columns of each learner plus the engine's own row ("engine")
        self.costs = costs or []
        #: change points, per-learner drops and recoveries, rolling curves (see _recovery)
        self.analysis = analysis or {}

    @property
    def changes(self) -> list[dict[str, Any]]:
        """One dict per (change point, learner): before, worst, drop, recovery_rows..."""
        return self.analysis.get("changes", [])

    @property
    def guard(self) -> dict[str, Any] | None:
        """The guard's counters (per rule, per verdict, rows scored/learned/paused), if any."""
        return self.meta.get("guard")

    def __getitem__(self, learner: str) -> dict[str, Any]:
        for row in self.rows:
            if row["learner"] == learner:
                return row
        names = [r["learner"] for r in self.rows]
        raise KeyError(f"no learner named {learner!r}; the learners are {names}")

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return f"Results({len(self.rows)} learners, {len(self.checkpoints)} checkpoints)"

    def _table(self, kind: str) -> list[dict[str, Any]]:
        if kind == "summary":
            return self.rows
        if kind == "checkpoints":
            return self.checkpoints
        raise ValueError(f"kind == {kind!r}, must be 'summary' or 'checkpoints'")

    def to_pandas(self, kind: str = "summary") -> Any:
        """A pandas DataFrame of the summary rows or of the ``"checkpoints"``."""
        import pandas as pd

        return pd.DataFrame(self._table(kind))

    def to_polars(self, kind: str = "summary") -> Any:
        """A polars DataFrame of the summary rows or of the ``"checkpoints"``."""
        import polars as pl

        return pl.DataFrame(_clean(self._table(kind)), infer_schema_length=None)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "meta": self.meta,
                "results": self.rows,
                "checkpoints": self.checkpoints,
                "costs": self.costs,
                "analysis": self.analysis,
            }
        )

    def to_json(self, path: str | Path | None = None, indent: int | None = 2) -> str:
        """Everything as strict JSON (NaN as null); also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, allow_nan=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text
