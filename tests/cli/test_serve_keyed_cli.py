"""``tidal serve --ray [ADDRESS] --shards N --key COLUMN``: the flags reach the configuration."""

import sys

import pytest
from typer.testing import CliRunner

import tidal.service
from tidal.cli import main
from tidal.cli._app import app


@pytest.fixture
def served(monkeypatch):
    """The configuration `tidal serve` would run (the server itself is not started)."""
    got = []
    monkeypatch.setattr(tidal.service, "run", got.append)
    return got


def test_serve_passes_ray_shards_and_key(tmp_path, served):
    args = ["serve", "--data", str(tmp_path), "--ray", "10.0.0.1:6379", "--shards", "3"]
    result = CliRunner().invoke(app, [*args, "--key", "store"])
    assert result.exit_code == 0, result.output
    cfg = served[0]
    assert (cfg.ray, cfg.shards, cfg.key) == ("10.0.0.1:6379", 3, "store")


def test_a_bare_ray_flag_means_rays_default(tmp_path, served, monkeypatch):
    argv = ["tidal", "serve", "--data", str(tmp_path), "--ray", "--key", "store"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 0
    assert (served[0].ray, served[0].shards, served[0].key) == ("local", 2, "store")


def test_consume_refuses_zero_shards():
    result = CliRunner().invoke(app, ["consume", "redis://x", "--stream", "s", "--group", "g",
                                      "--key", "k", "--shards", "0"])  # fmt: skip
    assert result.exit_code == 2 and "shards" in result.output
