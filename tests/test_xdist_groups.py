"""``make test`` relies on ``--dist loadgroup`` keeping an ``xdist_group`` on one worker (one
learner's kernels compiled once, one Ray): tests/xdist_groups.py must make that hold."""

import os
import re
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

pytest.importorskip("xdist")

ROOT = Path(__file__).resolve().parents[1]

SUITE = textwrap.dedent(
    """
    import pytest

    @pytest.mark.parametrize(
        "i", [pytest.param(i, marks=pytest.mark.xdist_group("kernels")) for i in range(6)]
    )
    def test_param_marked(i):
        pass

    @pytest.mark.xdist_group("ray")
    @pytest.mark.parametrize("i", range(6))
    def test_function_marked(i):
        pass

    @pytest.mark.parametrize("i", range(4))
    def test_free(i):
        pass
    """
)


def test_each_xdist_group_runs_on_one_worker(tmp_path):
    (tmp_path / "test_groups.py").write_text(SUITE)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = ["-p", "tests.xdist_groups", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"]
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", *args, "test_groups.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    workers = defaultdict(set)
    ran = re.findall(r"\[(gw\d+)\] .*PASSED (test_groups\.py::\S+)", out.stdout)
    for worker, nodeid in ran:
        name = nodeid.split("::")[1].split("[")[0]
        workers[name].add(worker)
    assert len(ran) == 16, out.stdout
    assert len(workers["test_param_marked"]) == 1, out.stdout
    assert len(workers["test_function_marked"]) == 1, out.stdout
    grouped = [n for _, n in ran if not n.split("::")[1].startswith("test_free")]
    assert all(re.search(r"@(kernels|ray)$", n) for n in grouped), grouped
