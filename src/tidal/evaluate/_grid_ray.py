"""A grid's cells as Ray Core tasks (``tidal compare ... --ray [ADDRESS]``).

Each cell is one task asking for one CPU. Inside the task numba and the BLAS/OpenMP pools are
pinned to one thread, so that tasks sharing a node do not fight over its cores; the task runs
the same :func:`tidal.evaluate._grid.run_cell` as a sequential grid, and so measures its CPU
time (``time.process_time`` of the worker process) and model memory where it runs. Ray is
imported here only, when a grid asks for it: ``import tidal`` never imports it.

The files are opened by each task: a path must be readable on every node (a bundled stream
always is).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["run_on_ray"]


def _pinned_cell(cell: Any, data: Any, settings: Any, opener: Any) -> Any:
    """The body of a task: one thread per pool, then the cell."""
    from tidal._threads import bounded_threads
    from tidal.evaluate._grid import run_cell

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
    from tidal.distributed._connect import connect_ray
    from tidal.evaluate._grid import CellResult

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
