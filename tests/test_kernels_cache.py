"""The numba cache must work when the package folder cannot be written (installed wheel)."""

import os
import subprocess
import sys
import textwrap

import tidal._kernels as kernels

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from tidal._kernels import jit

    @jit
    def double(a):
        return a * 2.0

    assert double(np.ones(3)).sum() == 6.0
    import os
    print(os.environ.get("NUMBA_CACHE_DIR", ""))
    """
)


def test_cache_goes_to_fallback_folder_when_asked(tmp_path):
    script = tmp_path / "use_kernel.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["TIDAL_NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    out = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(tmp_path / "cache")
    cached = [f for _, _, files in os.walk(tmp_path / "cache") for f in files]
    assert any(f.endswith(".nbi") for f in cached), cached


def test_unwritable_package_folder_falls_back_to_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("TIDAL_NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(kernels, "_writable", lambda path: False)
    from numba.core import config

    # numba is already imported here, so the fallback also rewrites numba's own config: restore
    # it, or every later kernel of this test session would cache into tmp_path
    monkeypatch.setattr(config, "CACHE_DIR", config.CACHE_DIR)
    kernels._configure_cache()
    try:
        assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path / "tidal" / "numba")
        assert config.CACHE_DIR == str(tmp_path / "tidal" / "numba")
        assert (tmp_path / "tidal" / "numba").is_dir()
    finally:
        os.environ.pop("NUMBA_CACHE_DIR", None)


def test_writable_package_folder_keeps_numba_default(monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("TIDAL_NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(kernels, "_writable", lambda path: True)
    kernels._configure_cache()
    assert "NUMBA_CACHE_DIR" not in os.environ
