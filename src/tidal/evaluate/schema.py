"""The columns of a comparison's results, declared once: the console tables, the JSON, the HTML
report and the verdict read them here.

A learner's row holds metric columns (every metric of :func:`tidal.metrics.specs_for` its
task, cumulative, and ``Name[window]`` rolling; the steady state of the headline metric;
``<Metric>_normal`` with a guard) and the cost and bookkeeping columns listed in
:data:`COLUMNS`. Anything not listed there is a metric column, so a metric registered with
:func:`tidal.metrics.register` is shown everywhere without touching this file.

>>> fmt("Accuracy", 0.81647), fmt("cpu_s", 3.6151), fmt("latency_s_per_row", 1.41e-06)
('0.8165', '3.62', '1.41')
>>> label("peak_model_bytes"), label("steady_accuracy"), steady_column("regression")
('peak memory B', 'steady Accuracy', 'steady_mae')
>>> metric_columns([{"learner": "a", "Accuracy": 1.0, "Accuracy[5]": 1.0, "cpu_s": 0.1}])
['Accuracy', 'Accuracy[5]']
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tidal.metrics import headline, metric_specs

__all__ = [
    "COLUMNS",
    "COST_COLUMNS",
    "COST_RECORD",
    "Column",
    "fmt",
    "label",
    "metric_columns",
    "metric_words",
    "score_columns",
    "steady_column",
]


@dataclass(frozen=True)
class Column:
    """A non-metric column: its header, the format of its cell (after ``scale``), and whether
    a larger value is better (None: not a quality)."""

    name: str
    label: str = ""
    cell: str = ".4f"
    scale: float = 1.0
    higher_is_better: bool | None = None


#: every non-metric column of a learner's row
COLUMNS: dict[str, Column] = {
    c.name: c
    for c in (
        Column("learner"),
        Column("family"),
        Column("rows"),
        Column("learned"),
        Column("rows_per_s", "rows/s", ".0f", higher_is_better=True),
        Column("cpu_s", "CPU s", ".2f", higher_is_better=False),
        Column("model_bytes", "memory B", ".0f", higher_is_better=False),
        Column("peak_model_bytes", "peak memory B", ".0f", higher_is_better=False),
        Column("error"),
        Column("status"),
        Column("compile_s", "compile s", ".2f"),
        Column("warnings"),
        Column("bytes_kept", "bytes kept", ".0f", higher_is_better=False),
        Column("retrains", "retrains", ".0f"),
        Column("train_s", "train s", ".2f", higher_is_better=False),
        Column("train_cpu_s", "train CPU s", ".2f", higher_is_better=False),
        Column("staleness_mean", "staleness rows", ".1f", higher_is_better=False),
        Column("staleness_incl_delay", "staleness incl. delay", ".1f", higher_is_better=False),
        Column("latency_s_per_row", "latency us/row", ".2f", 1e6, higher_is_better=False),
        Column("drop_mean", "mean drop", ".4f", higher_is_better=False),
        Column("recovery_rows_mean", "recovery rows", ".0f", higher_is_better=False),
        Column("unrecovered"),
        Column("warmup_rows", "warm-up rows", ".0f", higher_is_better=False),
        # compare --key: how many keys, models and bytes each key's model holds
        Column("keys", "keys", ".0f"),
        Column("models", "models", ".0f"),
        Column("bytes_per_key", "memory/key B", ".0f", higher_is_better=False),
    )
}

#: the cost and recovery columns, in the order the tables show them
COST_COLUMNS = (
    "cpu_s",
    "peak_model_bytes",
    "bytes_kept",
    "retrains",
    "train_s",
    "staleness_mean",
    "latency_s_per_row",
    "warmup_rows",
    "drop_mean",
    "recovery_rows_mean",
)

#: the columns of ``Results.costs`` (one record per learner, plus the engine's)
COST_RECORD = (
    "learner",
    "family",
    "cpu_s",
    "peak_model_bytes",
    "bytes_kept",
    "retrains",
    "train_s",
    "train_cpu_s",
    "staleness_mean",
    "staleness_incl_delay",
    "latency_s_per_row",
)


def steady_column(task: str) -> str:
    """The row column of the headline metric over the steady state (what the verdict ranks)."""
    return "steady_" + headline(task).name.lower()


def _metric_of(column: str) -> Any:
    """The registered spec behind a metric column (``Accuracy``, ``Accuracy[1000]``,
    ``steady_accuracy``, ``Accuracy_normal``), or None."""
    base = column.split("[")[0]
    if base.startswith("steady_"):
        base = base[len("steady_") :]
    base = base.removesuffix("_normal")  # scored on the rows a guard let learn normally
    for spec in metric_specs():
        if spec.name == base or spec.key == base:
            return spec
    return None


def label(column: str) -> str:
    """The header of ``column``."""
    if column in COLUMNS:
        return COLUMNS[column].label or column
    if column.startswith("steady_"):
        spec = _metric_of(column)
        return f"steady {spec.label}" if spec is not None else column
    spec = _metric_of(column)
    return spec.label + column[len(spec.name) :] if spec is not None else column


def fmt(column: str, value: Any) -> str:
    """A cell of the full results table (raw units, fixed decimals; "-" for no value).

    >>> fmt("bytes_kept", 211366), fmt("staleness_mean", None)
    ('211366', '-')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    col = COLUMNS.get(column)
    if col is not None:
        return format(value * col.scale if col.scale != 1.0 else value, col.cell)
    spec = _metric_of(column)
    return format(value, spec.cell if spec is not None else ".4f")


def metric_words(column: str) -> str | None:
    """The format the verdict writes a metric column with (a registered metric over the whole
    run, or its steady state), or None for any other column."""
    if column in COLUMNS or "[" in column or column.endswith("_normal"):
        return None
    spec = _metric_of(column)
    return None if spec is None else spec.words


def metric_columns(rows: list[dict[str, Any]], rolling: bool = True) -> list[str]:
    """The metric columns of ``rows`` (every column not in :data:`COLUMNS`), in row order;
    without the rolling ones (``Name[window]``) when ``rolling`` is False."""
    first = rows[0] if rows else {}
    return [k for k in first if k not in COLUMNS and (rolling or "[" not in k)]


def score_columns(rows: list[dict[str, Any]]) -> list[str]:
    """The registered metrics of ``rows``, cumulative (whole run), in row order.

    >>> score_columns([{"learner": "a", "Accuracy": 1.0, "Accuracy[5]": 1.0, "steady_accuracy": 1}])
    ['Accuracy']
    """
    names = {s.name for s in metric_specs()}
    return [c for c in metric_columns(rows, rolling=False) if c in names]
