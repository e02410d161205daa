"""The ``tidal`` command: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tidal.base.exceptions import ParameterError, TidalError
from tidal.cli._render import fail

app = typer.Typer(
    name="tidal",
    help="Online and batch learning on data streams, side by side.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

from tidal.cli._guards import guard_for_source, guard_lines, quarantine_app, schema_app  # noqa: E402

ELEC2_NOCHANGE = 0.853


def _console() -> Console:
    console = Console()
    if not console.is_terminal:  # pipes and files: wide enough for the results table
        console = Console(width=max(console.width, 120))
    return console


#: past this many rows the default batch models retrain a bounded number of times in the
#: stream (RETRAINS), not every 5,000 / 1,000 rows: on 581k rows x 7 classes LightGBM's 116
#: retrains of 700 trees cost ~290 CPU s and the logistic regression's 581 cost ~15 s
LONG_STREAM = 200_000
RETRAINS = {"batch-lgbm": 10, "batch-lr": 100}


def _default_models(task: str, n_rows: int | None = None) -> list[str]:
    from tidal import zoo

    have = zoo.names()
    # both families, so that the verdict has something to compare
    if task == "regression":
        wanted = ["linreg", "par", "htr", "arf", "batch-lr", "batch-lgbm", "hybrid", "mean"]
    elif task == "binary":
        wanted = ["lr", "nb", "ht", "arf", "batch-lr", "batch-lgbm", "hybrid", "majority"]
        wanted.append("nochange")
    else:  # the hybrid stacks a binary logit
        wanted = ["softmax", "nb", "ht", "arf", "batch-lr", "batch-lgbm", "majority", "nochange"]
    for name, count in RETRAINS.items():
        if n_rows is not None and n_rows > LONG_STREAM and name in wanted:
            every = -(-n_rows // count // 1000) * 1000  # named in the table as it ran
            wanted[wanted.index(name)] = f"{name}:every={every}"
    return [m for m in wanted if zoo.parse(m)[0] in have]


def _split_models(models: str) -> list[str]:
    return [m.strip() for m in models.split(",") if m.strip()]


def _with_baselines(specs: list[str], task: str) -> list[str]:
    """``specs`` plus the honest baselines they lack: a verdict must show whether any model
    beats predicting the mean, the majority class or the previous label."""
    from tidal import zoo

    wanted = ["mean"] if task == "regression" else ["majority", "nochange"]
    have = {s.split(":")[0] for s in specs}
    return specs + [b for b in wanted if b not in have and b in zoo.names()]


def _change_points(text: str | None) -> list[int] | None:
    """``--change-points 5000,12000`` -> [5000, 12000]; "none" -> []; absent -> detect."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return []
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"--change-points {text!r}: expected row numbers separated by commas, or 'none'"
        ) from None


def run_compare(
    path: str,
    target: str | None,
    models: str | None,
    every: int,
    window: int | None,
    delay: int,
    json_out: Path | None,
    time_column: str | None = None,
    delay_seconds: float | None = None,
    title: str | None = None,
    quiet: bool = False,
    report: Path | None = None,
    change_points: list[int] | None = None,
    show_verdict: bool = True,
    schema: Path | None = None,
    quarantine: str | None = None,
    task: str | None = None,
) -> Any:
    """Open the data, build the learners, run the prequential engine, print the table."""
    from tidal import zoo
    from tidal.cli._data import open_source
    from tidal.cli._render import costs_table, results_table
    from tidal.evaluate import prequential

    console = _console()
    _check_outputs({"--json": json_out, "--report": report})  # before minutes of work, not after
    from tidal.guards import Schema

    spec = None if schema is None else Schema.from_json(schema)
    source = open_source(path, target, time_column, spec)
    guard = None if schema is None else guard_for_source(schema, source, path, quarantine)
    if task is not None and task not in ("binary", "multiclass", "regression"):
        raise ParameterError(f"--task {task!r}: expected binary, multiclass or regression")
    task = task or source.task
    total = source.n_rows
    specs = _split_models(models) if models else _default_models(task or "multiclass", total)
    if not specs:
        raise typer.BadParameter("no models given")
    specs = _with_baselines(specs, task or "multiclass")
    first = next(iter(source), None)
    categorical = bool(first is not None and first.categories)
    learners = {spec: zoo.make(spec, categorical=categorical, task=task) for spec in specs}
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    )
    from tidal.cli._drift import DriftTap, drift_lines

    drift_tap = DriftTap()
    with progress:
        warm = progress.add_task("compiling kernels, once", total=len(learners))

        def warming(name: str, i: int, n: int) -> None:
            what = f"compiling kernels, once: {name}" if name else "kernels ready"
            progress.update(warm, completed=i, description=what)

        bar = progress.add_task(f"{len(learners)} learners", total=total, start=False)
        results = prequential(
            source,
            learners,
            callbacks=[drift_tap],
            every=every,
            window=window,
            delay=delay,
            delay_seconds=delay_seconds,
            task=task,
            on_error="record",
            on_interrupt="partial",
            warmup=warming,
            progress=lambda done: (progress.start_task(bar), progress.update(bar, completed=done)),
            change_points=change_points,
            guard=guard,
        )
    partial = results.meta.get("partial")
    # fed as the rows streamed by (the rows run so far, if interrupted): no second pass
    results.meta["drift"] = (results.guard or {}).get("drift") or drift_tap.summary(source)
    _say_compiled(console, results, quiet)
    title = title or f"{path}: {total:,} rows, {task}"
    if partial:
        title += f" [PARTIAL: interrupted at row {results.meta['rows_done']:,}]"
    console.print(results_table(results, title=title))
    console.print(costs_table(results))
    if results.guard is not None:
        hits = {k: v for k, v in results.guard["rules"].items() if v}
        console.print(f"guard: {results.guard['verdicts']}; rule hits: {hits}", highlight=False)
        guard_lines(console, results.guard, results.rows)
    drift_lines(console, results.meta["drift"])
    for row in results.rows:
        if row.get("error"):
            console.print(f"[yellow]{row['learner']} stopped:[/yellow] {row['error']}")
        for w in row.get("warnings") or ():
            console.print(f"[yellow]{row['learner']}:[/yellow] {w}", soft_wrap=True)
    _outputs(console, results, path, specs, json_out, report, show_verdict)
    if results.meta.get("partial"):
        console.print(
            f"[yellow]interrupted:[/yellow] partial results of the first "
            f"{results.meta['rows_done']:,} rows (saved where asked)"
        )
        raise typer.Exit(code=130)
    if not _finished(results):
        console.print("[red]no model finished the run[/red] (see the errors above)")
        raise typer.Exit(code=1)
    return results


def _check_outputs(paths: dict[str, Path | None]) -> None:
    """Each output file can be written: its folder exists and is writable, it is not a folder."""
    import os

    for option, path in paths.items():
        if path is None:
            continue
        folder = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            raise ParameterError(f"{option} {path}: is a folder; expected a file name")
        if not folder.is_dir():
            raise ParameterError(f"{option} {path}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            raise ParameterError(f"{option} {path}: cannot write there (permission denied)")


def _finished(results: Any) -> bool:
    """Did a model (a baseline counts only when nothing else was asked for) run to the end?"""
    rows = results.rows
    models = [r for r in rows if r.get("family") != "baseline"] or rows
    return any((r.get("status") or ("error" if r.get("error") else "ok")) == "ok" for r in models)


def _say_compiled(console: Console, results: Any, quiet: bool) -> None:
    """Where the compile time went: never into the learners' columns."""
    meta = results.meta
    warm, later = meta.get("warmup_s") or 0.0, meta.get("compile_cpu_s") or 0.0
    if quiet or warm + later < 1.0:
        return
    text = f"compiling kernels, once: {warm:.0f} s before the run"
    if later >= 1.0:
        text += f", {later:.0f} s during it"
    console.print(f"{text} (cached for next time; not charged to the learners)", highlight=False)


def _outputs(
    console: Console,
    results: Any,
    path: str,
    specs: list[str],
    json_out: Path | None,
    report: Path | None,
    show_verdict: bool,
) -> None:
    """The verdict on the console, then the JSON and the HTML report (same data)."""
    from tidal.evaluate import verdict, write_json, write_report

    v = verdict(results)
    if show_verdict:
        console.print("\n[bold]Verdict[/bold]")
        console.print(v.text + "\n", soft_wrap=True, highlight=False, markup=False)
    if json_out is not None:
        write_json(results, json_out, v)
        console.print(f"results written to {json_out}")
    if report is not None:
        params = {"data": path, "models": specs}
        title = f"tidal: {path}"
        if results.meta.get("partial"):  # the JSON says so in meta["partial"]
            title += f" [PARTIAL: interrupted at row {results.meta['rows_done']:,}]"
        write_report(results, report, v, title=title, params=params)
        console.print(f"report written to {report}")


@app.command()
def compare(
    path: Annotated[
        str, typer.Argument(help="CSV/Parquet/JSONL file, or a bundled stream (elec2, weather)")
    ],
    target: Annotated[str | None, typer.Option("--target", "-t", help="label column")] = None,
    models: Annotated[
        str | None,
        typer.Option(
            "--models", "-m", help="comma-separated zoo names, params after ':' (lr:l2=0.01)"
        ),
    ] = None,
    every: Annotated[int, typer.Option(help="checkpoint every N rows")] = 1000,
    window: Annotated[int, typer.Option(help="rolling window of the metrics (0: none)")] = 1000,
    delay: Annotated[int, typer.Option(help="labels arrive K rows after their row")] = 0,
    delay_seconds: Annotated[
        float | None, typer.Option(help="labels arrive T seconds later (needs --time-column)")
    ] = None,
    time_column: Annotated[str | None, typer.Option(help="timestamp column")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write all results as JSON")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="write a self-contained HTML report")
    ] = None,
    change_points: Annotated[
        str | None,
        typer.Option(
            help="known change points (rows, comma-separated), or 'none'; default: detect (ADWIN)"
        ),
    ] = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="guard the stream (see tidal schema infer)")
    ] = None,
    quarantine: Annotated[
        str | None, typer.Option("--quarantine", help="SQLite file for the rejected rows")
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(help="binary, multiclass or regression [default: inferred from the target]"),
    ] = None,
) -> None:
    """Run models side by side on a stream, test-then-train; print scores, costs and a verdict."""
    points = _change_points(change_points)
    try:
        run_compare(
            path,
            target,
            models,
            every,
            window or None,
            delay,
            json_out,
            time_column,
            delay_seconds,
            report=report,
            change_points=points,
            schema=schema,
            quarantine=quarantine,
            task=task,
        )
    except (TidalError, FileNotFoundError, OSError) as err:
        raise fail(str(err)) from None
    except KeyboardInterrupt:  # while reading, compiling or writing: the run's own handler
        # (partial results) only covers the rows
        Console(stderr=True).print("interrupted")
        raise typer.Exit(code=130) from None


@app.command()
def models() -> None:
    """List the model names usable with --models."""
    from tidal import zoo

    table = Table(title="models (parameters: name:key=value:key=value)")
    for col in ("name", "task", "description", "parameters"):
        table.add_column(col)
    for name, entry in zoo.entries().items():
        table.add_row(name, entry.task, entry.description, ", ".join(entry.param_names()) or "-")
    _console().print(table)


@app.command()
def datasets() -> None:
    """List the bundled streams."""
    try:
        from tidal import datasets as ds
    except ImportError:
        raise fail("tidal.datasets is not installed") from None
    table = Table(title="bundled streams")
    for col in ("name", "rows", "features", "target", "description"):
        table.add_column(col)
    for info in ds.catalog():
        table.add_row(
            info.name, f"{info.rows:,}", str(info.features), info.target, info.description
        )
    _console().print(table)


DEMO_MODELS = ("lr", "nb", "ht", "arf", "batch-lr", "batch-lgbm", "hybrid", "majority", "nochange")


@app.command()
def demo(
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write all results as JSON")
    ] = None,
    report: Annotated[Path, typer.Option("--report", help="where to write the HTML report")] = Path(
        "report.html"
    ),
) -> None:
    """Online vs batch on Elec2 next to the honest baselines (no-change scores 0.853).

    Online logistic regression, naive Bayes and a Hoeffding tree; batch logistic regression
    (every 1,000 rows, window 5,000) and LightGBM (every 5,000 rows, window 5,000, one thread);
    a hybrid; the baselines. Prints the table and the verdict, writes the report.
    """
    from tidal import zoo

    console = _console()
    models = ",".join(m for m in DEMO_MODELS if m in zoo.names())
    start = time.perf_counter()
    try:
        results = run_compare(
            "elec2",
            None,
            models,
            1000,
            1000,
            0,
            json_out,
            title="Elec2 (45,312 rows), test-then-train",
            report=report,
        )
    except (TidalError, OSError) as err:
        raise fail(str(err)) from None
    wall = time.perf_counter() - start
    nochange = (
        results["nochange"]["Accuracy"]
        if "nochange" in [r["learner"] for r in results.rows]
        else None
    )
    best = max(results.rows, key=lambda r: r["Accuracy"])
    console.print(
        f"no-change baseline: {nochange:.3f} (published: {ELEC2_NOCHANGE}); "
        f"best: {best['learner']} {best['Accuracy']:.3f}; {wall:.1f} s",
        soft_wrap=True,
    )


def _register_subcommands() -> None:
    from tidal.cli._consume import consume
    from tidal.cli._drift import drift
    from tidal.cli._serve import serve
    from tidal.cli._tokens import token_app

    app.command()(serve)
    app.command()(consume)
    app.command()(drift)
    app.add_typer(token_app, name="token")
    app.add_typer(schema_app, name="schema")
    app.add_typer(quarantine_app, name="quarantine")


_register_subcommands()


def main() -> None:
    """Entry point of the ``tidal`` command."""
    app(prog_name="tidal")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
