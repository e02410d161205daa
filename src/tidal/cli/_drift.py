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
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tidal.base.exceptions import TidalError

__all__ = ["drift_app", "drift_lines", "drift_of"]

drift_app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def drift_of(source: Any, window: int = 1000, min_size: float = 0.3) -> dict[str, Any]:
    """:meth:`DriftWatch.summary` over every row of ``source`` (a Source of Blocks)."""
    from tidal.monitor import DriftWatch

    watch = None
    for block in source:
        if watch is None:
            names, cats = list(block.feature_names), list(block.categories)
            watch = DriftWatch(names, categorical=cats, window=window, min_size=min_size)
        watch.update(block.X)
    if watch is None:
        watch = DriftWatch(list(source.feature_names), window=window, min_size=min_size)
    return watch.summary()


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
    target: Annotated[str | None, typer.Option("--target", "-t", help="label column")] = None,
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
