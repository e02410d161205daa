"""Rich tables for the results of a comparison."""

from __future__ import annotations

import math
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tidal.evaluate.schema import COST_COLUMNS, fmt, label, metric_columns

__all__ = ["costs_table", "results_table", "format_bytes", "format_rate"]


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` to stderr and return the exit (code 2) to raise."""
    # the message is text, not markup: "pip install 'tidal[service]'" must print as written
    Console(stderr=True).print(
        f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True
    )
    return typer.Exit(code=2)


def service_extra_missing(err: ImportError) -> typer.Exit:
    """The exit of a command that needs the service extra (serve, token) when it is missing."""
    return fail(f"{err}; install the service extra: pip install 'tidal[service]'")


def format_bytes(n: float) -> str:
    """Bytes in a human unit.

    >>> format_bytes(512), format_bytes(2048), format_bytes(3 * 1024**2)
    ('512 B', '2.0 KiB', '3.0 MiB')
    """
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def format_rate(r: float | None) -> str:
    """Rows per second, short.

    >>> format_rate(1_658_600.0), format_rate(162_349.0), format_rate(950.0)
    ('1.66M', '162k', '950')
    """
    if r is None or math.isnan(r):
        return "-"
    if r >= 1e6:
        return f"{r / 1e6:.2f}M"
    if r >= 1e4:
        return f"{r / 1e3:.0f}k"
    return f"{r:.0f}"


def results_table(results: Any, title: str | None = None) -> Table:
    """One row per learner: every metric, rows per CPU second, CPU seconds, peak model memory;
    and the engine's own CPU row when the results have one."""
    rows = results.rows or [{}]
    # cumulative metrics only: the rolling ones are in the checkpoints (--json)
    metric_names = metric_columns(rows, rolling=False)
    table = Table(title=title)
    table.add_column("learner", style="bold", no_wrap=True)
    keyed = any("keys" in r for r in rows)  # compare --key: what per-key models cost
    for name in [*metric_names, "rows/s", "CPU s", "memory", *(["keys", "memory/key"] * keyed)]:
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows:
        scored = row.get("rows", 1) > 0
        cells = [row["learner"]] + [fmt(m, row.get(m) if scored else None) for m in metric_names]
        cells += [
            format_rate(row["rows_per_s"]),
            f"{row['cpu_s']:.2f}",
            format_bytes(row["peak_model_bytes"]),
        ]
        if keyed:
            per = row.get("bytes_per_key")
            cells += [f"{row.get('keys', '-')}", "-" if per is None else format_bytes(per)]
        status = row.get("status") or ("error" if row.get("error") else "ok")
        if status != "ok":
            cells[0] += " (failed)" if status == "error" else f" ({status})"
        table.add_row(*cells)
    for c in getattr(results, "costs", []):
        if c["learner"] == "engine":
            tail = [""] * (1 + 2 * keyed)
            table.add_row("engine", *[""] * len(metric_names), "", f"{c['cpu_s']:.2f}", *tail)
    return table


def costs_table(results: Any, title: str = "costs and recovery") -> Table:
    """The costs behind the verdict, formatted exactly as the verdict quotes them."""
    table = Table(title=title)
    table.add_column("learner", style="bold", no_wrap=True)
    table.add_column("family")
    for col in COST_COLUMNS:
        table.add_column(label(col), justify="right")
    for row in results.rows:
        table.add_row(
            row["learner"], row.get("family", ""), *[fmt(c, row.get(c)) for c in COST_COLUMNS]
        )
    return table
