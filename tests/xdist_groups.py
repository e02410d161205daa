"""Make ``--dist loadgroup`` group again under pytest >= 9.2 (a pytest plugin; tests/conftest.py
re-exports its hook).

pytest-xdist (3.8) puts a test into its ``xdist_group`` by appending ``@group`` to the test's
node id on the worker (``item._nodeid``); the scheduler reads the group back from that suffix.
pytest 9.2 builds ``nodeid`` from a structured ``item._id`` and ignores ``_nodeid``, so the
suffix never appears and every test is scheduled on its own: one learner's conformance checks
ran on both workers and each worker compiled that learner's kernels (the adaptive tree's
``check_clone`` and ``check_state_roundtrip_midstream`` compiled for minutes each, on two
workers), and both workers started a Ray. Upstream: pytest-dev/pytest-xdist#1386 (fix in #1388).

This hook runs after xdist's and adds the suffix where it is missing; once xdist writes it
itself, the hook finds it there and does nothing.
"""

from __future__ import annotations

import pytest


def _group(item: pytest.Item) -> str | None:
    names = {
        str(m.args[0] if m.args else m.kwargs.get("name", "default"))
        for m in item.iter_markers("xdist_group")
    }
    return "_".join(sorted(names)) if names else None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set by xdist on its workers only
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest < 9.2: xdist's own suffix works
        return
    for item in items:
        group = _group(item)
        if group is None or item.nodeid.endswith(f"@{group}"):
            continue
        item._id = NodeId.parse(f"{item.nodeid}@{group}")
