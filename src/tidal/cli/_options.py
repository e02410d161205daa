"""What the commands share: how a command group is set up, and the options several commands take.

>>> from typer.testing import CliRunner
>>> group = command_group("greet", "Say hello or goodbye.")
>>> for name in ("hello", "goodbye"):
...     _ = group.command(name)(lambda: None)
>>> result = CliRunner().invoke(group, [])  # no command: the group's help
>>> "Say hello or goodbye." in result.output, "hello" in result.output
(True, True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["ConfigOption", "JsonOutOption", "TargetOption", "command_group"]


def command_group(name: str, help: str) -> typer.Typer:  # noqa: A002  (Typer's own name)
    """A Typer app for ``tidal`` or one of its command groups: its help when called without a
    command, no shell-completion commands, and plain tracebacks (a bad input is ``fail``'s
    one line, anything else a bug to report as it is)."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="tidal.toml (optional)")]
TargetOption = Annotated[str | None, typer.Option("--target", "-t", help="label column")]
JsonOutOption = Annotated[Path | None, typer.Option("--json", help="write all results as JSON")]
