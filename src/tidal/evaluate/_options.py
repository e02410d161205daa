"""The options of a comparison, as one value: the CLI builds it from its flags, the demo from
its defaults, and a program from Python; :func:`tidal.cli._app.run_compare` and the engine read
it (``engine_kwargs``), so an option is added in one place.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tidal.base.exceptions import ParameterError

__all__ = ["CompareOptions"]

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class CompareOptions:
    """What to compare and how (``tidal compare``'s flags).

    ``path`` is a CSV/Parquet/JSON Lines file or a bundled stream ("elec2"); ``models`` the
    zoo names, comma-separated (None: the defaults for the task); ``window`` 0 or None: no
    rolling metrics; ``change_points`` None: detect them, [] for none. The fields keep the
    order of ``run_compare``'s former positional parameters, so
    ``CompareOptions("elec2", "up", "lr")`` reads as it did.

    >>> opts = CompareOptions("elec2", target="up", models="lr,nb", every=500)
    >>> opts.engine_kwargs()["every"], opts.with_(window=0).engine_kwargs()["window"]
    (500, None)
    >>> CompareOptions("elec2", task="ranking")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tidal.base.exceptions.ParameterError: --task 'ranking': expected binary, multiclass or ...
    """

    path: str
    target: str | None = None
    models: str | None = None
    every: int = 1000
    window: int | None = 1000
    delay: int = 0
    json_out: Path | None = None
    time_column: str | None = None
    delay_seconds: float | None = None
    title: str | None = None
    quiet: bool = False
    report: Path | None = None
    change_points: list[int] | None = None
    show_verdict: bool = True
    schema: Path | None = None
    quarantine: str | None = None
    task: str | None = None
    #: compare a global model with one model per value of this column (tidal.compose.Keyed)
    key: str | None = None

    def __post_init__(self) -> None:
        if self.task is not None and self.task not in TASKS:
            raise ParameterError(f"--task {self.task!r}: expected binary, multiclass or regression")
        if self.window == 0:
            object.__setattr__(self, "window", None)

    def with_(self, **changes: Any) -> CompareOptions:
        """A copy with ``changes`` (validated again)."""
        return type(self)(**{**asdict(self), **changes})

    def engine_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :func:`tidal.evaluate.prequential` these options set."""
        return {
            "every": self.every,
            "window": self.window,
            "delay": self.delay,
            "delay_seconds": self.delay_seconds,
            "change_points": self.change_points,
        }
