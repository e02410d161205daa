"""The built wheel works on its own: installed (not editable), bundled data included."""

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent(
    """
    import tidal, tidal.datasets
    src = tidal.datasets.elec2()
    x, y = next(src.rows())
    print(tidal.__file__)
    print(src.n_rows)
    print(sorted(x.items()), y)
    """
)


def _build_wheel(out: Path) -> Path:
    # build from a clean copy: no egg-info or build/ folder is written into the work tree
    tree = out / "tree"
    shutil.copytree(
        ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(out / "dist"), str(tree)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:  # offline: build with the setuptools of this environment
        done = subprocess.run(cmd + ["--no-isolation", "--skip-dependency-check"],
                              capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (wheel,) = (out / "dist").glob("tidal-*.whl")
    return wheel


def test_wheel_installs_and_loads_bundled_elec2(tmp_path):
    wheel = _build_wheel(tmp_path)
    # the dashboard works offline: its page and the vendored plotly.js are in the wheel
    names = set(zipfile.ZipFile(wheel).namelist())
    static = {"index.html", "dashboard.js", "dashboard.css", "plotly-basic.min.js"}
    assert {f"tidal/service/static/{n}" for n in static} <= names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    # dependencies come from this environment's site-packages, added as a plain path: the
    # .pth files there (including the editable install of tidal) are not executed
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(
        [str(python), "-c", CHECK], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    where, rows, first = done.stdout.strip().splitlines()
    assert Path(where).is_relative_to(site) and not Path(where).is_relative_to(ROOT / "src")
    assert rows == "45312"
    expected = {
        "period": 0.0, "nswprice": 0.05644299999999999, "nswdemand": 0.439155,
        "vicprice": 0.003467, "vicdemand": 0.422915, "transfer": 0.414912,
    }  # fmt: skip
    assert first == f"{sorted(expected.items())} 1"
