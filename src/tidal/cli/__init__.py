"""The ``tidal`` command line (Typer + Rich), a thin layer over the library.

Commands: ``compare`` (models side by side on a stream), ``models``, ``datasets``, ``demo``.

>>> from typer.testing import CliRunner
>>> from tidal.cli import app
>>> result = CliRunner().invoke(app, ["models"])
>>> result.exit_code, "nochange" in result.output
(0, True)
"""

from tidal.cli._app import app, main

__all__ = ["app", "main"]
