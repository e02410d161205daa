"""``tidal serve``: parse flags, build the service configuration, hand over to tidal.service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tidal.cli._options import ConfigOption

RayOption = Annotated[
    str | None,
    typer.Option(
        "--ray",
        help="route keyed models' shards (and batch refits) to a Ray cluster: --ray alone "
        "for Ray's default (RAY_ADDRESS, or a Ray already running here, else a new one), "
        "or an ADDRESS (host:port, ray://..., 'auto')",
    ),
]
ShardsOption = Annotated[
    int | None, typer.Option(min=1, help="shards of each keyed model (with --key) [default: 2]")
]
KeyOption = Annotated[
    str | None,
    typer.Option(help="serve a model per value of this column, sharded (tidal.distributed)"),
]


def serve(
    config: ConfigOption = None,
    data: Annotated[
        Path | None, typer.Option(help="data folder (log, snapshots) [default: ./.tidal]")
    ] = None,
    host: Annotated[str | None, typer.Option(help="address to bind [default: 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="port [default: 8000]")] = None,
    workers: Annotated[
        int | None, typer.Option(help="must be 1: one process owns learning")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(help="registry database URL [default: sqlite in the data folder]"),
    ] = None,
    auth: Annotated[
        bool | None, typer.Option("--auth/--no-auth", help="require API tokens [default: on]")
    ] = None,
    ray: RayOption = None,
    shards: ShardsOption = None,
    key: KeyOption = None,
    accept_loss: Annotated[
        bool,
        typer.Option(
            "--accept-loss",
            help="start although events are lost (the refusal names them): damaged files "
            "move to DATA/damaged/, the loss is recorded in the audit log",
        ),
    ] = False,
) -> None:
    """Serve the models of CONFIG (or the default model set) over HTTP: predict, learn,
    /metrics. Precedence: flags > TIDAL_* environment variables > the config file.

    With --key, each model is learned per value of that column, in --shards shards (Ray actors
    with --ray, each with its own log and snapshots); batch models refit in another process
    (a Ray task with --ray)."""
    from tidal.cli._render import fail, service_extra_missing

    try:
        from tidal.service import (
            SERVE_DEFAULTS,
            DataFolderLockedError,
            ServiceError,
            load_config,
            run,
        )
    except ImportError as err:
        raise service_extra_missing(err) from None
    overrides = {
        "data": data,
        "host": host,
        "port": port,
        "workers": workers,
        "db": db,
        "auth": auth,
        "accept_loss": accept_loss or None,
        "ray": ray,
        "shards": shards,
        "key": key,
    }
    try:
        cfg = load_config(config, overrides=overrides, defaults=SERVE_DEFAULTS)
        run(cfg)
    except (ValueError, OSError, ServiceError, DataFolderLockedError) as err:
        raise fail(str(err)) from None
