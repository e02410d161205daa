"""Fixtures shared by every test package.

``ray_cluster`` is the one local Ray instance of a test session (2 CPUs, no dashboard, a small
object store). It starts only when a test asks for it; its start time and the resident memory of
its processes are printed in the summary, so CI logs show what Ray costs.
"""

from __future__ import annotations

import os
import time

import pytest

# --dist loadgroup groups by xdist_group marks again under pytest >= 9.2 (see the module)
from tests.xdist_groups import pytest_collection_modifyitems  # noqa: F401

_RAY_FIGURES: dict[str, float] = {}


def _ray_processes_rss_mib() -> float:
    """Resident memory of this session's descendant processes (Ray's GCS, raylet, workers), MiB."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields["PPid"])
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
    me, total = os.getpid(), 0
    for pid in rss:
        ancestor = parents.get(pid)
        while ancestor and ancestor != me:
            ancestor = parents.get(ancestor)
        if ancestor == me:
            total += rss[pid]
    return total / 2**20


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray instance for the whole session; yields the ``ray`` module."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    started = time.perf_counter()
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        object_store_memory=96 * 2**20,
        log_to_driver=False,
        configure_logging=False,
    )
    _RAY_FIGURES["start_s"] = time.perf_counter() - started
    _RAY_FIGURES["rss_mib"] = _ray_processes_rss_mib()
    try:
        yield ray
    finally:
        _RAY_FIGURES["rss_mib_at_end"] = _ray_processes_rss_mib()
        ray.shutdown()


def pytest_sessionfinish(session):
    # under pytest-xdist the fixture ran in a worker: hand its figures to the controller
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None and _RAY_FIGURES:
        workeroutput["ray_figures"] = dict(_RAY_FIGURES)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _RAY_FIGURES.update(getattr(node, "workeroutput", {}).get("ray_figures", {}))


def pytest_terminal_summary(terminalreporter):
    if _RAY_FIGURES:
        terminalreporter.write_line(
            "local Ray fixture: started in {start_s:.2f} s, Ray processes "
            "{rss_mib:.0f} MiB RSS after start, {end:.0f} MiB at the end".format(
                end=_RAY_FIGURES.get("rss_mib_at_end", float("nan")), **_RAY_FIGURES
            )
        )
