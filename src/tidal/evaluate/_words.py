"""Numbers in human units for the verdict, and a record of where each one came from.

Every number the verdict prints is made by :meth:`Cite.cite` (a cell of the results table,
written with :func:`human`) or :meth:`Cite.derived` (a difference, a confidence, a count), which
records it. A test (and a reader) can then parse the numbers back out of the text, in order, and
check each against the table: ``numbers(text) == numbers of the citations, in order``.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tidal.evaluate.schema import metric_words

__all__ = ["Cite", "human", "numbers"]

_ROWS = {"recovery_rows_mean", "warmup_rows", "staleness_mean", "rows"}
_BYTES = {"peak_model_bytes", "bytes_kept", "model_bytes", "bytes_per_key"}
_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1e3:.0f} ms"
    return f"{s:.1f} s" if s < 100 else f"{s:,.0f} s"


def human(column: str, value: Any) -> str:
    """A table cell in the unit a person reads: MiB, ms, s, µs, rows, points.

    >>> human("steady_accuracy", 0.87312), human("cpu_s", 0.3421), human("cpu_s", 12.34)
    ('0.873', '342 ms', '12.3 s')
    >>> human("peak_model_bytes", 431_000), human("bytes_kept", 5_000), human("bytes_kept", 0)
    ('0.41 MiB', '4.9 KiB', '0 MiB')
    >>> human("latency_s_per_row", 4.13e-06), human("recovery_rows_mean", 1204.4)
    ('4.1 µs', '1,204 rows')
    >>> human("points", 4.61), human("confidence", 0.9712), human("staleness_mean", None)
    ('4.6 points', '97 %', 'n/a')
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    words = metric_words(column)  # a metric: as its registration says (tidal.metrics)
    if words is not None:
        return format(value, words)
    if column in ("cpu_s", "train_s"):
        return _seconds(value)
    if column in _BYTES:
        if value == 0:
            return "0 MiB"
        mib = value / 2**20
        if mib < 0.1:
            return f"{value / 1024:.1f} KiB"
        return f"{mib:.2f} MiB" if mib < 10 else f"{mib:,.0f} MiB"
    if column == "latency_s_per_row":
        us = value * 1e6
        return f"{us:.1f} µs" if us < 1000 else f"{us / 1e3:.1f} ms"
    if column in ("first_fit_row", "row"):
        return f"row {value:,.0f}"
    if column in _ROWS:
        return "1 row" if round(value) == 1 else f"{value:,.0f} rows"
    if column == "points":
        return f"{value:.1f} points"
    if column == "confidence" and value > 0.99:
        return "over 99 %"  # a bootstrap cannot tell 99.9 % from certainty
    if column in ("confidence", "percent"):
        return f"{value * 100:.0f} %"
    return f"{value:,.0f}" if isinstance(value, int) else f"{value:.3g}"


def numbers(text: str) -> list[str]:
    """The numbers of ``text``, in order, as written.

    >>> numbers("lr is 4.6 points ahead (0.873 vs 0.827) after 1,204 rows")
    ['4.6', '0.873', '0.827', '1,204']
    """
    return _NUMBER.findall(text)


class Cite:
    """Formats table cells and remembers each: ``(learner, column, text)``.

    >>> c = Cite({"lr": {"cpu_s": 0.5}})
    >>> c.cite("lr", "cpu_s"), c.derived("lr|data", "percent", 0.25), c.cited
    ('500 ms', '25 %', [('lr', 'cpu_s', '500 ms'), ('lr|data', 'percent', '25 %')])
    """

    def __init__(self, rows: dict[str, dict[str, Any]]) -> None:
        self.rows = rows
        self.cited: list[tuple[str, str, str]] = []

    def value(self, learner: str, column: str) -> Any:
        return self.rows.get(learner, {}).get(column)

    def cite(self, learner: str, column: str) -> str:
        text = human(column, self.value(learner, column))
        self.cited.append((learner, column, text))
        return text

    def derived(self, source: str, column: str, value: Any) -> str:
        """A number computed from table cells (``source`` names them, e.g. "lr|batch")."""
        text = human(column, value)
        self.cited.append((source, column, text))
        return text
