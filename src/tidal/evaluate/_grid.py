"""Comparison grids: learners x seeds x files, one cell at a time, here or on Ray.

A **cell** is one learner (a :mod:`tidal.zoo` name) with one seed on one file, run test-then-train
by :func:`~tidal.evaluate.prequential` on its own. The cells of one (file, seed) are then merged
into one :class:`~tidal.evaluate.Results`, as if the learners had run side by side: the
learners never share state, so each learner's metrics and costs are the same whether it runs
alone or next to others, and the parts that look across learners (the change points, detected on
the most accurate learner's errors, and the recovery after them) are computed once on the
merged per-row errors (:func:`tidal.evaluate._engine.analyze_run`).

The same cell function runs in this process (:func:`run_grid`) or as a Ray task
(:func:`run_on_ray`), so every number but the clock readings (CPU and wall
seconds, rows per second, latency) is the same either way; :func:`without_timing` drops those.

Seeds: a learner that takes a ``seed`` gets each seed of the grid; one that takes none (a
linear model, naive Bayes, the baselines) gives the same numbers for every seed, so it runs
once per file and stands in every seed's results (its ``n`` in the summary is 1).

>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> df = pd.DataFrame({"a": rng.normal(size=600)}); df["y"] = (df["a"] > 0).astype(int)
>>> grid = run_grid([df], ["arf:n_models=2", "nb"], seeds=[1, 2], target="y", every=200)
>>> [(c.spec, c.seed) for c in grid.cells]
[('arf:n_models=2', 1), ('arf:n_models=2', 2), ('nb', None)]
>>> [(s["learner"], s["n"]) for s in grid.summary()]
[('arf:n_models=2', 2), ('nb', 1)]
"""

from __future__ import annotations

import math
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tidal.base.exceptions import ParameterError
from tidal.evaluate._results import Results

__all__ = ["Cell", "CellResult", "Grid", "GridSettings", "run_grid", "without_timing"]

#: the clock readings of a run: they differ between two runs of the same cell
TIMING_KEYS = frozenset(
    {
        "cpu_s", "rows_per_s", "wall_s", "train_s", "train_cpu_s", "latency_s_per_row",
        "compile_s", "warmup_s", "warmup_cpu_s", "compile_cpu_s", "run_cpu_s", "run_wall_s",
        "created", "worker_rss_bytes", "mode", "workers",
    }
)  # fmt: skip
#: verdict parts whose sentences quote clock readings (CPU seconds, latency)
_VERDICT_TEXT = ("text", "answers", "reasons", "headline")


@dataclass(frozen=True)
class GridSettings:
    """What every cell shares: the target and the engine's settings."""

    target: str | None = None
    task: str | None = None
    every: int = 1000
    window: int | None = 1000
    delay: int = 0
    delay_seconds: float | None = None
    time_column: str | None = None
    change_points: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Cell:
    """One learner, one seed (None: the learner takes none), one file (index into the grid)."""

    file: int
    spec: str
    seed: int | None


@dataclass
class CellResult:
    """A cell's results, its per-row errors (for the merged analysis) and the process's peak RSS."""

    cell: Cell
    results: Results | None
    errors: np.ndarray = field(default_factory=lambda: np.zeros(0))
    error: str | None = None
    worker_rss_bytes: int = 0


def _seeded(spec: str, task: str | None) -> bool:
    """Does the zoo learner of ``spec`` take a seed the user did not fix?"""
    from tidal import zoo

    name, params = zoo.parse(spec)
    entry = zoo.entries().get(name)
    if entry is None:
        zoo.make(spec, task=task)  # the zoo's own error: unknown name, did you mean...
        return False
    return "seed" in entry.param_names(task) and "seed" not in params


def cells_of(
    n_files: int, specs: Sequence[str], seeds: Sequence[int], task: str | None
) -> list[Cell]:
    """Every (file, learner, seed) to run; unseeded learners once per file."""
    out = []
    for f in range(n_files):
        for spec in specs:
            if _seeded(spec, task):
                out += [Cell(f, spec, int(s)) for s in seeds]
            else:
                out.append(Cell(f, spec, None))
    return out


class _ErrorTap:
    """Collects a learner's per-row errors from the engine's callbacks, as its track does."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def __call__(self, event: Any) -> None:
        from tidal.evaluate._costs import per_row_errors

        if event.y_pred is not None:
            self.parts.append(per_row_errors(event.block.y, event.y_pred, event.proba is not None))

    def errors(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros(0)


def _open_data(data: Any, settings: GridSettings, opener: Callable[..., Any] | None) -> Any:
    from tidal.evaluate._source import as_source

    if opener is not None and isinstance(data, str):
        return opener(data, settings.target, settings.time_column)
    return as_source(data, settings.target)


def run_cell(
    cell: Cell, data: Any, settings: GridSettings, opener: Callable[..., Any] | None = None
) -> CellResult:
    """Run one cell test-then-train; a learner's error stays in its row (``on_error="record"``),
    any other error (the data, the learner's construction) in :attr:`CellResult.error`."""
    from tidal import zoo
    from tidal.evaluate._engine import prequential

    try:
        source = _open_data(data, settings, opener)
        task = settings.task or source.task
        first = next(iter(source), None)
        categorical = bool(first is not None and first.categories)
        spec = cell.spec if cell.seed is None else f"{cell.spec}:seed={cell.seed}"
        learner = zoo.make(spec, categorical=categorical, task=task)
        tap = _ErrorTap()
        results = prequential(
            source, {cell.spec: learner}, callbacks=[tap], every=settings.every,
            window=settings.window, delay=settings.delay, delay_seconds=settings.delay_seconds,
            task=task, on_error="record", on_interrupt="partial", change_points=[],
        )  # fmt: skip
        out = CellResult(cell, results, tap.errors())
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 -- the cell's own row says what went wrong
        out = CellResult(cell, None, error=f"{type(err).__name__}: {err}")
    # ru_maxrss is KiB on Linux: the worker's peak, over every cell it ran so far
    out.worker_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return out


def _failed_row(c: CellResult) -> dict[str, Any]:
    return {
        "learner": c.cell.spec, "rows": 0, "learned": 0, "cpu_s": 0.0, "rows_per_s": math.nan,
        "peak_model_bytes": 0, "error": c.error, "status": "error", "family": None,
    }  # fmt: skip


def merge(cells: list[CellResult], settings: GridSettings, seed: int | None = None) -> Results:
    """The cells of one (file, seed) as one run of their learners side by side."""
    from tidal.evaluate._engine import analyze_run

    ran = [c for c in cells if c.results is not None]
    rows, errors, families, costs, checkpoints = [], {}, {}, [], []
    learners: dict[str, Any] = {}
    cpu = wall = warm = compile_cpu = engine_cpu = 0.0
    for c in cells:
        if c.results is None:
            rows.append(_failed_row(c))
            continue
        res = c.results
        row = dict(res.rows[0])
        rows.append(row)
        errors[row["learner"]] = c.errors
        families[row["learner"]] = row.get("family")
        costs += [dict(r) for r in res.costs if r["learner"] != "engine"]
        engine_cpu += next((r["cpu_s"] for r in res.costs if r["learner"] == "engine"), 0.0)
        checkpoints += [(r["row"], len(rows), r) for r in res.checkpoints]
        learners.update(res.meta["learners"])
        cpu, wall = cpu + res.meta["cpu_s"], wall + res.meta["wall_s"]
        warm, compile_cpu = warm + res.meta["warmup_s"], compile_cpu + res.meta["compile_cpu_s"]
    meta: dict[str, Any] = dict(ran[0].results.meta) if ran else {"data": {}}
    meta.update(learners=learners, cpu_s=cpu, wall_s=wall, warmup_s=warm)
    meta["compile_cpu_s"] = compile_cpu
    meta["partial"] = any(c.results.meta.get("partial") for c in ran)
    if meta["partial"]:
        meta["rows_done"] = min(c.results.meta.get("rows_done", 0) for c in ran)
    meta["grid"] = {"seed": seed, "cells": len(cells)}
    classifier = any("Accuracy" in r for r in rows)
    points = None if settings.change_points is None else list(settings.change_points)
    analysis = analyze_run(
        errors, families, classifier, [r for r in rows if r["learner"] in errors],
        settings.window, points, None,
    )  # fmt: skip
    costs.append(
        {"learner": "engine", "family": "engine", "cpu_s": engine_cpu, "run_cpu_s": cpu,
         "run_wall_s": wall, "compile_cpu_s": compile_cpu}
    )  # fmt: skip
    checkpoints.sort(key=lambda t: (t[0], t[1]))
    return Results(rows, [r for *_, r in checkpoints], meta, costs=costs, analysis=analysis)


@dataclass
class Grid:
    """The results of a grid: each cell, and each (file, seed) merged (see the module doc)."""

    files: list[str]
    specs: list[str]
    seeds: list[int]
    settings: GridSettings
    cells: list[Cell]
    done: dict[Cell, CellResult] = field(default_factory=dict)
    mode: str = "sequential"
    workers: int = 1
    wall_s: float = 0.0
    partial: bool = False

    def results(self, file: int = 0, seed: int | None = None) -> Results:
        """The learners of ``file`` with ``seed`` (default: the first) as one run."""
        seed = self.seeds[0] if seed is None else seed
        mine = [
            self.done[c]
            for c in self.cells
            if c.file == file and c.seed in (None, seed) and c in self.done
        ]
        return merge(mine, self.settings, seed)

    def summary(self, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Per (file, learner): ``n`` runs, and the mean and sd (n - 1) of each number."""
        out = []
        for f, name in enumerate(self.files):
            for spec in self.specs:
                runs = [
                    self.done[c].results.rows[0]
                    for c in self.cells
                    if c.file == f and c.spec == spec and c in self.done
                    if self.done[c].results is not None
                ]
                rec: dict[str, Any] = {"file": name, "learner": spec, "n": len(runs)}
                keys = columns or [k for k, v in (runs[0] if runs else {}).items() if _number(v)]
                for k in keys:
                    vals = [float(r[k]) for r in runs if _number(r.get(k))]
                    mean = float(np.mean(vals)) if vals else None
                    # a sample sd needs two runs: None for a learner run once
                    sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else None
                    rec[k] = {"mean": mean, "sd": sd}
                out.append(rec)
        return out

    def to_dict(self, verdict: Any = None) -> dict[str, Any]:
        """Everything as JSON-safe data: the grid, each (file, seed) run, the summary."""
        from tidal.evaluate._results import _clean

        runs = []
        for f, name in enumerate(self.files):
            for s in self.seeds:
                runs.append({"file": name, "seed": s, **self.results(f, s).to_dict()})
        cells = [
            {"file": self.files[c.file], "learner": c.spec, "seed": c.seed,
             "error": self.done[c].error, "worker_rss_bytes": self.done[c].worker_rss_bytes}
            for c in self.cells if c in self.done
        ]  # fmt: skip
        grid = {
            "files": self.files, "learners": self.specs, "seeds": self.seeds, "mode": self.mode,
            "workers": self.workers, "wall_s": self.wall_s, "partial": self.partial,
            "cells": cells, "aggregation": AGGREGATION,
        }  # fmt: skip
        data = {"grid": grid, "runs": runs, "summary": self.summary()}
        if verdict is not None:
            data["verdict"] = {"file": self.files[0], "seed": self.seeds[0], **verdict.to_dict()}
        return _clean(data)


AGGREGATION = (
    "the verdict is on the first file with the first seed; the tables show every seed's row "
    "and, per learner, the mean and sample sd over its seeds (a learner without a seed runs "
    "once per file: n = 1, no sd)"
)


def _number(v: Any) -> bool:
    return isinstance(v, int | float | np.number) and not isinstance(v, bool)


def without_timing(data: Any) -> Any:
    """``data`` (a grid's or a run's JSON form) without the clock readings, for comparing runs.

    >>> without_timing({"cpu_s": 1.0, "Accuracy": 0.9, "rows": [{"wall_s": 2.0, "n": 3}]})
    {'Accuracy': 0.9, 'rows': [{'n': 3}]}
    """
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            if k in TIMING_KEYS:
                continue
            if k == "verdict" and isinstance(v, dict):
                v = {a: b for a, b in v.items() if a not in _VERDICT_TEXT}
                v["quotes"] = [q for q in v.get("quotes", []) if q[1] not in TIMING_KEYS]
            out[k] = without_timing(v)
        return out
    if isinstance(data, list):
        return [without_timing(v) for v in data]
    return data


def run_grid(
    files: Sequence[Any],
    specs: Sequence[str],
    seeds: Sequence[int] = (42,),
    *,
    opener: Callable[..., Any] | None = None,
    ray: str | bool | None = None,
    workers: int | None = None,
    on_cell: Callable[[int, int], None] | None = None,
    **settings: Any,
) -> Grid:
    """Run ``specs`` x ``seeds`` x ``files`` cell by cell (see the module docstring).

    ``files``: paths (opened by ``opener(path, target, time_column)``) or anything
    :func:`~tidal.evaluate.prequential` takes; ``settings``: the fields of
    :class:`GridSettings`. ``ray``: None runs here; True (a local Ray, ``workers`` CPUs, default
    the machine's) or an address runs each cell as a Ray task. ``on_cell(done, total)`` is
    called as cells finish. Ctrl-C stops the grid and keeps the cells done (``partial``).
    """
    if not specs:
        raise ParameterError("run_grid: no learners given")
    if not seeds:
        raise ParameterError("run_grid: seeds is empty; give at least one seed")
    conf = replace(GridSettings(), **settings)
    if conf.change_points is not None:
        conf = replace(conf, change_points=tuple(int(c) for c in conf.change_points))
    names = [f if isinstance(f, str) else f"data{i}" for i, f in enumerate(files)]
    grid = Grid(names, list(specs), [int(s) for s in seeds], conf, [])
    grid.cells = cells_of(len(files), specs, seeds, conf.task)
    started = time.perf_counter()
    if ray is None or ray is False:
        _run_here(grid, list(files), opener, on_cell)
    else:
        run_on_ray(grid, list(files), opener, None if ray is True else ray, workers, on_cell)
    grid.wall_s = time.perf_counter() - started
    return grid


def _run_here(
    grid: Grid, files: list[Any], opener: Any, on_cell: Callable[[int, int], None] | None
) -> None:
    try:
        for cell in grid.cells:
            got = run_cell(cell, files[cell.file], grid.settings, opener)
            grid.done[cell] = got
            if on_cell is not None:
                on_cell(len(grid.done), len(grid.cells))
            if got.results is not None and got.results.meta.get("partial"):
                grid.partial = True  # Ctrl-C inside the cell's run: its rows so far are kept
                return
    except KeyboardInterrupt:
        grid.partial = True


# ----------------------------------------------------------------------------- on Ray
# Each cell is one task asking for one CPU. Inside the task numba and the BLAS/OpenMP pools are
# pinned to one thread, so that tasks sharing a node do not fight over its cores; the task runs
# the same run_cell as a sequential grid, and so measures its CPU time and model memory where it
# runs. Ray is imported only when a grid asks for it. Each task opens its file: a path must be
# readable on every node (a bundled stream always is).


def _pinned_cell(cell: Any, data: Any, settings: Any, opener: Any) -> Any:
    """The body of a task: one thread per pool, then the cell."""
    from tidal._threads import bounded_threads

    try:
        import numba

        numba.set_num_threads(1)
    except (ImportError, ValueError):  # a numba without a threading layer: nothing to pin
        pass
    with bounded_threads(1):
        return run_cell(cell, data, settings, opener)


def run_on_ray(
    grid: Any,
    files: list[Any],
    opener: Any,
    address: str | None,
    workers: int | None,
    on_cell: Callable[[int, int], None] | None,
) -> None:
    """Fill ``grid.done`` from Ray tasks; a Ray already started in this process is used as is,
    else one is started (``address``: connect to that cluster; None: a local one with
    ``workers`` CPUs, default the machine's) and stopped at the end."""
    from tidal.distributed import connect_ray

    ray, started = connect_ray(address, num_cpus=workers)
    grid.mode = "ray"
    grid.workers = int(ray.cluster_resources().get("CPU", 0)) or 1
    task = ray.remote(num_cpus=1, max_retries=0)(_pinned_cell)
    settings = ray.put(grid.settings)
    # each file once in the object store, not once per cell (paths are passed as they are)
    shared = {i: f if isinstance(f, str) else ray.put(f) for i, f in enumerate(files)}
    pending = {task.remote(c, shared[c.file], settings, opener): c for c in grid.cells}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                cell = pending.pop(ref)
                try:
                    grid.done[cell] = ray.get(ref)
                except Exception as err:  # noqa: BLE001 -- a lost worker: the cell's row says so
                    grid.done[cell] = CellResult(cell, None, error=f"{type(err).__name__}: {err}")
                if on_cell is not None:
                    on_cell(len(grid.done), len(grid.cells))
    except KeyboardInterrupt:
        grid.partial = True
        for ref in pending:
            ray.cancel(ref, force=True)
    finally:
        if started:
            ray.shutdown()
