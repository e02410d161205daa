"""What `tidal compare` and its grid share: the models to run (the defaults, the baselines),
the checks of the output files, and the exit when no model finished."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tidal.base.exceptions import ParameterError

__all__ = [
    "LONG_STREAM",
    "RETRAINS",
    "check_outputs",
    "default_models",
    "exit_unless_finished",
    "finished",
    "make_console",
    "model_specs",
    "progress_bar",
    "split_models",
    "with_baselines",
]


def make_console() -> Console:
    console = Console()
    if not console.is_terminal:  # pipes and files: wide enough for the results table
        console = Console(width=max(console.width, 120))
    return console


def progress_bar(console: Console, quiet: bool) -> Progress:
    """A run's progress on ``console`` (none if ``quiet``): what runs, a bar, how many of how
    many, the time so far; gone from the screen once the run ends."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet,
    )


#: past this many rows the default batch models retrain a bounded number of times in the
#: stream (RETRAINS), not every 5,000 / 1,000 rows: on 581k rows x 7 classes LightGBM's 116
#: retrains of 700 trees cost ~290 CPU s and the logistic regression's 581 cost ~15 s
LONG_STREAM = 200_000
RETRAINS = {"batch-lgbm": 10, "batch-lr": 100}


def default_models(task: str, n_rows: int | None = None) -> list[str]:
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


def split_models(models: str) -> list[str]:
    return [m.strip() for m in models.split(",") if m.strip()]


def with_baselines(specs: list[str], task: str) -> list[str]:
    """``specs`` plus the honest baselines they lack: a verdict must show whether any model
    beats predicting the mean, the majority class or the previous label."""
    from tidal import zoo

    wanted = ["mean"] if task == "regression" else ["majority", "nochange"]
    have = {s.split(":")[0] for s in specs}
    return specs + [b for b in wanted if b not in have and b in zoo.names()]


def model_specs(models: str | None, task: str, n_rows: int | None) -> list[str]:
    """What a comparison runs: the zoo names in ``models`` (comma-separated), else the defaults
    for ``task`` on a stream of ``n_rows`` rows, plus the baselines they lack. ParameterError
    when ``models`` names none (a verdict on the baselines alone answers nothing asked).

    >>> model_specs("lr, nb", "binary", 1000)
    ['lr', 'nb', 'majority', 'nochange']
    """
    specs = split_models(models) if models else default_models(task, n_rows)
    if not specs:
        raise ParameterError(f"--models {models!r}: no models given")
    return with_baselines(specs, task)


def check_outputs(paths: dict[str, Path | None]) -> None:
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


def finished(results: Any) -> bool:
    """Did a model (a baseline counts only when nothing else was asked for) run to the end?"""
    rows = results.rows
    models = [r for r in rows if r.get("family") != "baseline"] or rows
    return any((r.get("status") or ("error" if r.get("error") else "ok")) == "ok" for r in models)


def exit_unless_finished(console: Console, results: Any) -> None:
    """Say so and exit with code 1 when no model ran to the end (:func:`finished`)."""
    if not finished(results):
        console.print("[red]no model finished the run[/red] (see the errors above)")
        raise typer.Exit(code=1)
