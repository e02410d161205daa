"""`tidal compare FILE [FILE ...] --seeds N [--ray [ADDRESS]]`: a grid of learners x seeds x files.

The library does the work (:mod:`tidal.evaluate._grid`); this module prints per-seed rows, a
mean ± sd per learner and the verdict (on the first file with the first seed), and writes the
JSON and the report.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from tidal.base.exceptions import ParameterError
from tidal.cli._compare_setup import (
    check_outputs,
    exit_unless_finished,
    make_console,
    model_specs,
    progress_bar,
)

if TYPE_CHECKING:
    from tidal.evaluate import CompareOptions

__all__ = ["optional_values", "run_grid_compare"]

#: options whose value may be left out: ``--ray`` alone means a local Ray
OPTIONAL_VALUES = {"--ray": "local"}


def optional_values(argv: list[str], options: dict[str, str] = OPTIONAL_VALUES) -> list[str]:
    """``argv`` with the default value put after an option given without one.

    >>> optional_values(["compare", "a.csv", "--ray"]), optional_values(["--ray", "--seeds", "2"])
    (['compare', 'a.csv', '--ray', 'local'], ['--ray', 'local', '--seeds', '2'])
    >>> optional_values(["--ray", "10.0.0.1:6379"])
    ['--ray', '10.0.0.1:6379']
    """
    out = []
    for i, arg in enumerate(argv):
        out.append(arg)
        if arg in options and (i + 1 == len(argv) or argv[i + 1].startswith("-")):
            out.append(options[arg])
    return out


def _metrics(rows: list[dict[str, Any]]) -> list[str]:
    from tidal.evaluate.schema import COLUMNS

    first = next((r for r in rows if not r.get("error") or r.get("rows")), rows[0] if rows else {})
    return [k for k in first if k not in COLUMNS and "[" not in k][:4]


def _cell(v: Any, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def seed_table(grid: Any, title: str) -> Table:
    """One row per (file, learner, seed): the metrics, CPU seconds, peak memory."""
    from tidal.cli._render import format_bytes

    first = grid.results(0, grid.seeds[0])
    metrics = _metrics(first.rows)
    table = Table(title=title)
    for col in ("file", "learner", "seed", *metrics, "CPU s", "memory"):
        table.add_column(col, justify="left" if col in ("file", "learner") else "right")
    for cell in grid.cells:
        got = grid.done.get(cell)
        if got is None:
            continue
        row = got.results.rows[0] if got.results is not None else {}
        name = cell.spec + ("" if not (got.error or row.get("error")) else " (failed)")
        table.add_row(
            grid.files[cell.file], name, "-" if cell.seed is None else str(cell.seed),
            *[_cell(row.get(m)) for m in metrics], _cell(row.get("cpu_s"), 2),
            format_bytes(row.get("peak_model_bytes") or 0),
        )  # fmt: skip
    return table


def summary_table(grid: Any) -> Table:
    """Per (file, learner): n seeds and mean ± sd of the metrics."""
    metrics = _metrics(grid.results(0, grid.seeds[0]).rows)
    table = Table(title="mean ± sd over the seeds (n = 1: the learner takes no seed, no sd)")
    for col in ("file", "learner", "n", *metrics, "CPU s"):
        table.add_column(col, justify="left" if col in ("file", "learner") else "right")
    for rec in grid.summary([*metrics, "cpu_s"]):
        cells = []
        for m in [*metrics, "cpu_s"]:
            mean, sd = rec[m]["mean"], rec[m]["sd"]
            digits = 2 if m == "cpu_s" else 4
            text = "-" if mean is None else f"{mean:.{digits}f}"
            cells.append(text if sd is None else f"{text} ± {sd:.{digits}f}")
        table.add_row(rec["file"], rec["learner"], str(rec["n"]), *cells)
    return table


def run_grid_compare(paths: list[str], opts: CompareOptions, seeds: int, ray: str | None) -> Any:
    """Run the grid over ``paths`` (``opts.path`` is not read), print the tables and the
    verdict, write the outputs."""
    from tidal import zoo
    from tidal.cli._data import open_source
    from tidal.evaluate import GRID_AGGREGATION as AGGREGATION
    from tidal.evaluate import run_grid, verdict

    if opts.key is not None:
        raise ParameterError("--key: not supported in a grid (files, --seeds, --ray) yet")
    if opts.schema is not None:
        raise ParameterError("--schema: not supported in a grid (files, --seeds, --ray)")
    target, time_column = opts.target, opts.time_column
    json_out, report = opts.json_out, opts.report
    console = make_console()
    check_outputs({"--json": json_out, "--report": report})
    if seeds < 1:
        raise ParameterError(f"--seeds {seeds}: expected a number of seeds >= 1")
    sources = [open_source(p, target, time_column) for p in paths]  # every file, before the run
    task = opts.task or sources[0].task or "multiclass"
    specs = model_specs(opts.models, task, sources[0].n_rows)
    for spec in specs:
        zoo.make(spec, task=task)  # a bad name or parameter fails now, not in a task
    seed_list = [zoo.DEFAULT_SEED + i for i in range(seeds)]
    progress = progress_bar(console, opts.quiet)
    where = "sequential" if ray is None else f"Ray ({ray})"
    with progress:
        bar = progress.add_task(f"grid, {where}: cells", total=None)
        grid = run_grid(
            paths, specs, seed_list, opener=open_source, ray=ray,
            on_cell=lambda done, total: progress.update(bar, completed=done, total=total),
            target=target, task=task, time_column=time_column, **opts.engine_kwargs(),
        )  # fmt: skip
    title = (
        f"{len(specs)} learners x {seeds} seeds x {len(paths)} files: {len(grid.cells)} cells, "
        f"{grid.mode} ({grid.workers} workers), {grid.wall_s:.1f} s"
    )
    if grid.partial:
        title += f" [PARTIAL: interrupted, {len(grid.done)} cells done]"
    console.print(seed_table(grid, title))
    console.print(summary_table(grid))
    _errors(console, grid)
    first = grid.results(0, seed_list[0])
    v = verdict(first)
    console.print(f"\n[bold]Verdict[/bold] on {paths[0]} with seed {seed_list[0]} ({AGGREGATION})")
    console.print(v.text + "\n", soft_wrap=True, highlight=False, markup=False)
    _write(console, grid, v, first, json_out, report, specs)
    if grid.partial:
        console.print("[yellow]interrupted:[/yellow] the cells done are kept (saved where asked)")
        raise typer.Exit(code=130)
    exit_unless_finished(console, first)
    return grid


def _errors(console: Console, grid: Any) -> None:
    for cell, got in grid.done.items():
        where = f"{cell.spec} (seed {cell.seed}, {grid.files[cell.file]})"
        row = got.results.rows[0] if got.results is not None else {}
        err = got.error or row.get("error")
        if err:
            console.print(f"[yellow]{where} stopped:[/yellow] {err}", soft_wrap=True)


def _write(
    console: Console,
    grid: Any,
    v: Any,
    first: Any,
    json_out: Path | None,
    report: Path | None,
    specs: list[str],
) -> None:
    import json

    from tidal.evaluate import write_report

    if json_out is not None:
        text = json.dumps(grid.to_dict(v), indent=2, allow_nan=False)
        json_out.write_text(text + "\n", encoding="utf-8")
        console.print(f"results written to {json_out}")
    if report is not None:
        params = {"data": grid.files, "models": specs, "seeds": grid.seeds}
        title = f"tidal: {grid.files[0]}, seed {grid.seeds[0]} (of {len(grid.seeds)})"
        write_report(first, report, v, title=title, params=params)
        console.print(f"report written to {report}")
