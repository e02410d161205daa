"""``python -m tidal.service [--config FILE] [--data DIR] [--host H] [--port P]``: serve.

The real command line is ``tidal serve`` (tidal.cli); this entry point needs nothing but the
standard library to parse its flags, which keeps subprocess tests independent of the CLI.
"""

from __future__ import annotations

import argparse

from tidal.service.app import run
from tidal.service.config import load_config


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m tidal.service")
    p.add_argument("--config")
    p.add_argument("--data")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int)
    p.add_argument("--snapshot-every", type=int)
    p.add_argument("--snapshot-seconds", type=float)
    p.add_argument("--wal-segment-bytes", type=int)
    p.add_argument("--db", help="registry database URL [default: <data>/registry.sqlite]")
    p.add_argument("--auth", action=argparse.BooleanOptionalAction, help="require tokens")
    p.add_argument(
        "--accept-loss",
        action="store_true",
        default=None,
        help="start although events are lost: damaged files move aside, the loss is audited",
    )
    args = vars(p.parse_args(argv))
    path = args.pop("config")
    run(load_config(path, overrides=args))


if __name__ == "__main__":
    main()
