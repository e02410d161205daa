import pytest
from typer.testing import CliRunner

from tidal.cli import app

runner = CliRunner()


def test_serve_refuses_more_than_one_worker(tmp_path):
    result = runner.invoke(app, ["serve", "--workers", "2", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "workers == 2" in result.output and "exactly one worker" in result.output


def test_serve_names_a_missing_config_file(tmp_path):
    missing = tmp_path / "nope.toml"
    result = runner.invoke(app, ["serve", "--config", str(missing)])
    assert result.exit_code == 2
    assert str(missing) in result.output


def test_serve_is_listed_in_help():
    assert "serve" in runner.invoke(app, ["--help"]).output


def test_serve_refuses_a_data_folder_another_process_owns(tmp_path):
    from tidal.service import DataFolderLock

    lock = DataFolderLock(tmp_path)
    try:
        result = runner.invoke(app, ["serve", "--data", str(tmp_path), "--port", "0"])
    finally:
        lock.release()
    assert result.exit_code == 2
    assert str(tmp_path) in result.output


@pytest.mark.parametrize(
    "command", [["serve"], ["token", "create", "--role", "read"]], ids=["serve", "token"]
)
def test_a_missing_service_extra_is_one_line_naming_the_install(tmp_path, monkeypatch, command):
    import sys

    for module in ("tidal.service", "tidal.service.config", "tidal.registry"):
        monkeypatch.setitem(sys.modules, module, None)  # as if fastapi & co. were missing
    result = runner.invoke(app, [*command, "--data", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.output.strip().startswith("error: ")
    assert "pip install 'tidal[service]'" in result.output
