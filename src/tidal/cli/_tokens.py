"""``tidal token create --role admin | list | rotate NAME | revoke NAME``: the service's API tokens.

Tokens live hashed in the registry database the service uses: ``--db URL``, or the one in
``--data`` (``<data>/registry.sqlite``), or what ``--config`` / ``TIDAL_DB`` / ``TIDAL_DATA``
say. A token's plaintext is printed once, by ``create`` and ``rotate``, on stdout alone (so
``TOKEN=$(tidal token create --role read --name app)`` works). Bad input is one line on stderr
and exit code 2.

>>> import tempfile
>>> from typer.testing import CliRunner
>>> data = tempfile.mkdtemp()
>>> r = CliRunner().invoke(token_app, ["create", "--role", "learn", "--name", "ci", "--data", data])
>>> r.exit_code, r.output.startswith("tidal_")
(0, True)
>>> CliRunner().invoke(token_app, ["create", "--role", "root", "--data", data]).exit_code
2
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tidal.cli._options import ConfigOption, command_group

__all__ = ["token_app"]

token_app = command_group(
    "token",
    "Create, list, rotate and revoke the service's API tokens (roles: read < predict < learn "
    "< admin).",
)

DataOpt = Annotated[Path | None, typer.Option(help="the service's data folder [default: ./.tidal]")]
DbOpt = Annotated[str | None, typer.Option(help="registry URL [default: <data>/registry.sqlite]")]
ByOpt = Annotated[str, typer.Option(help="who does it (kept in the audit log)")]
WhyOpt = Annotated[str, typer.Option(help="why (kept in the audit log)")]
NameArgument = Annotated[str, typer.Argument(help="the token's name")]


def _store(config: Path | None, data: Path | None, db: str | None):  # noqa: ANN202
    from tidal.cli._render import fail, service_extra_missing

    try:
        from tidal.registry import Registry
        from tidal.service.config import load_config
    except ImportError as err:
        raise service_extra_missing(err) from None
    try:
        cfg = load_config(config, overrides={"data": data, "db": db})
        url = cfg.db or f"sqlite:///{Path(cfg.data).resolve() / 'registry.sqlite'}"
        return Registry(url).tokens
    except Exception as err:  # noqa: BLE001  (bad URL, unreachable server, bad config)
        raise fail(f"cannot open the registry: {err}") from None


def _run(fn, *args: object, **kwargs: object):  # noqa: ANN001, ANN202
    from tidal.cli._render import fail
    from tidal.registry import RegistryError

    try:
        return fn(*args, **kwargs)
    except RegistryError as err:
        raise fail(str(err)) from None


@token_app.command()
def create(
    role: Annotated[str, typer.Option(help="read, predict, learn or admin")],
    name: Annotated[str | None, typer.Option(help="a unique name [default: ROLE-N]")] = None,
    config: ConfigOption = None,
    data: DataOpt = None,
    db: DbOpt = None,
    by: ByOpt = "cli",
    why: WhyOpt = "",
) -> None:
    """Create a token and print it once (it is stored hashed and cannot be shown again)."""
    store = _store(config, data, db)
    if name is None:
        taken = {t.name for t in store.list()}
        name = next(f"{role}-{i}" for i in range(1, len(taken) + 2) if f"{role}-{i}" not in taken)
    token = _run(store.create, role, name, by=by, why=why)
    typer.echo(token)
    Console(stderr=True).print(f"token {name!r} ({role}): shown once, store it now")


@token_app.command("list")
def list_(config: ConfigOption = None, data: DataOpt = None, db: DbOpt = None) -> None:
    """Every token (revoked ones too): name, role, id, dates. Never a secret."""
    table = Table("name", "role", "id", "created", "by", "rotated", "revoked")
    fmt = lambda t: t.strftime("%Y-%m-%d %H:%M:%S") if t else ""  # noqa: E731
    for t in _store(config, data, db).list():
        table.add_row(
            t.name,
            t.role,
            t.id,
            fmt(t.created_at),
            t.created_by,
            fmt(t.rotated_at),
            fmt(t.revoked_at),
        )
    Console(width=120).print(table)


@token_app.command()
def rotate(
    name: NameArgument,
    config: ConfigOption = None,
    data: DataOpt = None,
    db: DbOpt = None,
    by: ByOpt = "cli",
    why: WhyOpt = "",
) -> None:
    """Give a token a new secret (same role) and print it once; the old one stops working."""
    typer.echo(_run(_store(config, data, db).rotate, name, by=by, why=why))


@token_app.command()
def revoke(
    name: NameArgument,
    config: ConfigOption = None,
    data: DataOpt = None,
    db: DbOpt = None,
    by: ByOpt = "cli",
    why: WhyOpt = "",
) -> None:
    """Revoke a token for good (a running service notices within a few seconds)."""
    _run(_store(config, data, db).revoke, name, by=by, why=why)
    Console(stderr=True).print(f"token {name!r} revoked")
