"""``tidal consume redis://HOST:PORT/DB --stream NAME --group G --model M``: learn from a stream.

The command owns the data folder (like ``tidal serve``: one learning process per folder), learns
every entry of the stream into model ``M`` exactly once (see :mod:`tidal.service.consumer` for
the entry format and the guarantees) and stops on SIGTERM or Ctrl-C after the batch in hand,
then flushes the log and snapshots the model. Bad arguments are one line on stderr, exit code 2.

>>> import typer
>>> from typer.testing import CliRunner
>>> app = typer.Typer()
>>> _ = app.command()(consume)
>>> _ = app.command("other")(lambda: None)  # two commands, so the name is an argument
>>> result = CliRunner().invoke(app, ["consume", "http://x", "--stream", "s", "--group", "g"])
>>> result.exit_code, result.output.strip()
(2, "error: 'http://x' is not a Redis URL; expected redis://HOST:PORT/DB")
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from tidal.cli._render import fail
from tidal.cli._serve import KeyOption, RayOption, ShardsOption

__all__ = ["consume"]


def consume(
    url: Annotated[str, typer.Argument(help="redis://HOST:PORT/DB (rediss:// for TLS)")],
    stream: Annotated[str, typer.Option(help="the stream to read")],
    group: Annotated[str, typer.Option(help="the consumer group (created if missing)")],
    model: Annotated[str, typer.Option(help="the configured model to learn into")] = "default",
    consumer: Annotated[
        str | None, typer.Option(help="this consumer's name in the group [default: host-pid]")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="tidal.toml (see tidal serve)")] = None,
    data: Annotated[Path | None, typer.Option(help="data folder (overrides the config)")] = None,
    batch: Annotated[int, typer.Option(min=1, help="entries per read (COUNT)")] = 500,
    min_idle_ms: Annotated[
        int, typer.Option(min=1, help="reclaim other consumers' entries pending this long")
    ] = 60_000,
    claim_every: Annotated[float, typer.Option(help="seconds between reclaim rounds")] = 10.0,
    start_id: Annotated[
        str, typer.Option(help="where a new group starts: 0 = the whole stream, $ = new entries")
    ] = "0",
    until_idle: Annotated[
        bool, typer.Option(help="exit once nothing is new or pending (for batch jobs)")
    ] = False,
    ray: RayOption = None,
    shards: ShardsOption = None,
    key: KeyOption = None,
) -> None:
    """Learn every entry of a Redis stream into a model, exactly once, acknowledged only after
    it is in the write-ahead log on disk; bad entries go to the stream ``<stream>:dead``.
    With --key, into a model per value of that column, over --shards shards (Ray actors with
    --ray), each entry once by its event id."""
    import redis

    from tidal.service.config import ConfigError, load_config
    from tidal.service.consumer import StreamConsumer
    from tidal.service.lock import DataFolderLockedError
    from tidal.service.runtime import Service

    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise fail(f"{url!r} is not a Redis URL; expected redis://HOST:PORT/DB")
    try:
        cfg = load_config(
            config, overrides={"data": data, "ray": ray, "shards": shards, "key": key}
        )
    except ConfigError as e:
        raise fail(str(e)) from None
    if model not in cfg.models:
        raise fail(f"unknown model {model!r}; configured models: {sorted(cfg.models)}")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as e:
        raise fail(f"cannot reach Redis at {url}: {e}") from None
    os.umask(0o077)  # as `tidal serve`: the data folder's files are the owner's alone
    try:
        svc = Service(cfg)
    except (DataFolderLockedError, ConfigError) as e:
        raise fail(str(e)) from None
    host = svc.hosts[model]
    worker = StreamConsumer(
        client,
        host,
        stream,
        group,
        consumer,
        batch=batch,
        min_idle_ms=min_idle_ms,
        claim_every=claim_every,
        start_id=start_id,
        service=svc,
    )

    def _stop(signum: int, frame: Any) -> None:
        worker.stop()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGTERM, signal.SIGINT)}
    err = Console(stderr=True)
    err.print(
        f"consuming {stream!r} as {worker.consumer!r} of group {group!r} into model {model!r}",
        highlight=False,
    )
    try:
        stats = worker.run(until_idle=until_idle)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        svc.close()  # flush the log and snapshot before exit
    err.print(
        f"stopped: {stats.learned} learned, {stats.duplicates} already learned, "
        f"{stats.dead} dead-lettered to {worker.dead_stream!r}, {stats.reclaimed} reclaimed",
        highlight=False,
    )
