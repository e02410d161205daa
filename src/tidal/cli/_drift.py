"""``tidal drift``: which features of a file drift, from when, by how much.

The checks are :class:`tidal.monitor.DriftWatch`'s: the last ``--window`` rows against the
window before them, every half window, Bonferroni-corrected over the features (at most 1 % of
checks flag anything on a stationary stream), autocorrelation taken into account, and only
changes of at least ``--min-size`` standard deviations reported.

>>> from typer.testing import CliRunner
>>> CliRunner().invoke(drift_app, ["no-such.csv", "--target", "y"]).exit_code
2
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tidal.base.exceptions import TidalError
from tidal.cli._options import TargetOption

__all__ = ["drift_app", "drift_lines", "drift_of"]

drift_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


class DriftTap:
    """A compare callback that feeds a :class:`DriftWatch` each row once, as the engine streams
    it: the drift summary needs no second pass over the file. Every learner sees the same
    pieces (predicted once each, by a step or a predict), so a piece already fed is skipped."""

    def __init__(self, window: int = 1000, min_size: float = 0.3) -> None:
        self.window, self.min_size = window, min_size
        self.watch: Any = None
        self.upto = 0

    def __call__(self, event: Any) -> None:
        block = event.block
        if event.kind == "learn" or block.start < self.upto:
            return
        if self.watch is None:
            self.watch = _watch(block, self.window, self.min_size)
        self.watch.update(block.X)
        self.upto = block.start + len(block)

    def summary(self, source: Any) -> dict[str, Any]:
        if self.watch is None:
            self.watch = _watch(source, self.window, self.min_size)
        return self.watch.summary()


def _watch(named: Any, window: int, min_size: float) -> Any:
    from tidal.monitor import DriftWatch

    cats = list(getattr(named, "categories", None) or ())
    return DriftWatch(list(named.feature_names), categorical=cats, window=window, min_size=min_size)


def drift_of(source: Any, window: int = 1000, min_size: float = 0.3) -> dict[str, Any]:
    """:meth:`DriftWatch.summary` over every row of ``source`` (a Source of Blocks)."""
    tap = DriftTap(window, min_size)
    for block in source:
        tap(SimpleNamespace(kind="step", block=block))
    return tap.summary(source)


def drift_table(summary: dict[str, Any], title: str) -> Table:
    """One line per drifted feature: reports, first and last row flagged, largest change."""
    table = Table(title=title)
    for col in ("feature", "reports", "first flagged at row", "last", "largest change"):
        table.add_column(col, justify="left" if col == "feature" else "right")
    for name, f in sorted(summary["features"].items(), key=lambda kv: kv[1]["first_row"]):
        table.add_row(
            name,
            f"{f['reports']} of {summary['checks']}",
            f"{f['first_row']:,}",
            f"{f['last_row']:,}",
            f"{f['max_size']:.2f}",
        )
    return table


def drift_lines(console: Console, summary: dict[str, Any] | None) -> None:
    """What ``compare`` prints about feature drift (nothing if no feature drifted)."""
    if not summary or not summary.get("features"):
        if summary:
            console.print(f"feature drift: none in {summary['checks']} checks", highlight=False)
        return
    console.print(
        drift_table(
            summary,
            f"feature drift (window {summary['window']:,} rows vs the one before; change in "
            "reference SDs, PSI for categories)",
        )
    )


@drift_app.command()
def drift(
    path: Annotated[str, typer.Argument(help="CSV/Parquet/JSONL file or a bundled stream")],
    target: TargetOption = None,
    window: Annotated[int, typer.Option(help="rows per compared window")] = 1000,
    min_size: Annotated[
        float, typer.Option(help="smallest change reported, in reference SDs")
    ] = 0.3,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
) -> None:
    """Feature drift over a file: which feature, when, how large (false alarms bounded)."""
    from tidal.cli._data import open_source

    try:
        summary = drift_of(open_source(path, target), window, min_size)
    except (TidalError, OSError, ValueError) as err:
        Console(stderr=True).print(f"[red]error:[/red] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console = Console()
    n = summary["checks"]
    if not summary["features"]:
        console.print(f"{path}: no feature drift in {n} checks", highlight=False)
        return
    console.print(drift_table(summary, f"{path}: feature drift in {n} checks"))
