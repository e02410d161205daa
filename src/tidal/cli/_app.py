"""The ``tidal`` command: a thin layer that parses arguments and calls the library."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tidal.base.exceptions import TidalError
from tidal.cli._compare_setup import (
    check_outputs,
    exit_unless_finished,
    make_console,
    model_specs,
    progress_bar,
)
from tidal.cli._options import JsonOutOption, TargetOption, command_group
from tidal.cli._render import fail
from tidal.evaluate import CompareOptions

app = command_group("tidal", "Online and batch learning on data streams, side by side.")

from tidal.cli._guards import guard_for_source, guard_lines, quarantine_app, schema_app  # noqa: E402

ELEC2_NOCHANGE = 0.853


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


def run_compare(options: CompareOptions | str, *args: Any, **fields: Any) -> Any:
    """Open the data, build the learners, run the prequential engine, print the table.

    ``options`` is a :class:`tidal.evaluate.CompareOptions` (``fields`` replace some of its
    values), or its fields in order (``run_compare("elec2", "up", "lr", ...)``)."""
    from tidal import zoo
    from tidal.cli._data import open_source
    from tidal.cli._render import costs_table, results_table
    from tidal.evaluate import prequential

    if isinstance(options, CompareOptions):
        opts = options.with_(**fields) if fields else options
    else:
        opts = CompareOptions(options, *args, **fields)
    path, quiet, schema = opts.path, opts.quiet, opts.schema
    console = make_console()
    # before minutes of work, not after
    check_outputs({"--json": opts.json_out, "--report": opts.report})
    from tidal.guards import Schema

    spec = None if schema is None else Schema.from_json(schema)
    source = open_source(path, opts.target, opts.time_column, spec)
    guard = None if schema is None else guard_for_source(schema, source, path, opts.quarantine)
    task = opts.task or source.task
    total = source.n_rows
    models, key = opts.models, opts.key
    if key is not None:  # global vs per-key models: see tidal.evaluate._keyed_compare
        from tidal.cli._keyed import check_key, key_models

        check_key(source, key, path)
        models = models or key_models(task or "multiclass")
    specs = model_specs(models, task or "multiclass", total)
    first = next(iter(source), None)
    categorical = bool(first is not None and first.categories)
    learners = {spec: zoo.make(spec, categorical=categorical, task=task) for spec in specs}
    if key is not None:
        from tidal.evaluate import keyed_learners

        learners = keyed_learners(specs, key, categorical, task)
    progress = progress_bar(console, quiet)
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
            task=task,
            on_error="record",
            on_interrupt="partial",
            warmup=warming,
            progress=lambda done: (progress.start_task(bar), progress.update(bar, completed=done)),
            guard=guard,
            **opts.engine_kwargs(),
        )
    partial = results.meta.get("partial")
    # fed as the rows streamed by (the rows run so far, if interrupted): no second pass
    results.meta["drift"] = (results.guard or {}).get("drift") or drift_tap.summary(source)
    if key is not None:
        from tidal.evaluate import add_key_costs

        add_key_costs(results, learners)
        results.meta["key"] = key
    _say_compiled(console, results, quiet)
    title = opts.title or f"{path}: {total:,} rows, {task}"
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
    _outputs(console, results, path, specs, opts.json_out, opts.report, opts.show_verdict)
    if results.meta.get("partial"):
        console.print(
            f"[yellow]interrupted:[/yellow] partial results of the first "
            f"{results.meta['rows_done']:,} rows (saved where asked)"
        )
        raise typer.Exit(code=130)
    exit_unless_finished(console, results)
    return results


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
    if results.meta.get("key"):
        from tidal.evaluate import keyed_verdict

        keyed_verdict(v, results, results.meta["key"])
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
    paths: Annotated[
        list[str],
        typer.Argument(
            help="CSV/Parquet/JSONL files, or bundled streams (elec2, weather); several files "
            "(or --seeds, --ray) run a grid",
            metavar="FILE...",
        ),
    ],
    target: TargetOption = None,
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
    json_out: JsonOutOption = None,
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
    seeds: Annotated[
        int | None,
        typer.Option(help="run learners that take a seed with N seeds (42, 43, ...): a grid"),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="compare one global model, one model per value of this column, and per-key "
            "models warm-started from the global one",
        ),
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="run the grid's cells as Ray tasks: alone (or 'local') a local Ray sized to "
            "the machine, else the address of a cluster",
            metavar="[ADDRESS]",
        ),
    ] = None,
) -> None:
    """Run models side by side on a stream, test-then-train; print scores, costs and a verdict."""
    points = _change_points(change_points)
    try:
        opts = CompareOptions(
            paths[0],
            target=target,
            models=models,
            every=every,
            window=window,
            delay=delay,
            json_out=json_out,
            time_column=time_column,
            delay_seconds=delay_seconds,
            report=report,
            change_points=points,
            schema=schema,
            quarantine=quarantine,
            task=task,
            key=key,
        )
        if len(paths) > 1 or seeds is not None or ray is not None:
            from tidal.cli._grid import run_grid_compare

            run_grid_compare(paths, opts, seeds or 1, ray)
            return
        run_compare(opts)
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
    make_console().print(table)


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
    make_console().print(table)


DEMO_MODELS = ("lr", "nb", "ht", "arf", "batch-lr", "batch-lgbm", "hybrid", "majority", "nochange")
#: the demo's comparison (models, outputs filled in when it runs)
DEMO = CompareOptions("elec2", title="Elec2 (45,312 rows), test-then-train")


@app.command()
def demo(
    json_out: JsonOutOption = None,
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

    console = make_console()
    models = ",".join(m for m in DEMO_MODELS if m in zoo.names())
    start = time.perf_counter()
    try:
        results = run_compare(DEMO.with_(models=models, json_out=json_out, report=report))
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
    from tidal.cli._grid import optional_values

    app(args=optional_values(sys.argv[1:]), prog_name="tidal")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
