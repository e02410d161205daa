"""Open what the user named on the command line: a bundled stream or a file."""

from __future__ import annotations

import os
from typing import Any

from tidal.base.exceptions import InputError

__all__ = ["open_source"]

_READERS = {
    ".csv": "read_csv",
    ".gz": "read_csv",
    ".parquet": "read_parquet",
    ".jsonl": "read_jsonl",
}


def _bundled() -> dict[str, Any]:
    try:
        from tidal import datasets
    except ImportError:
        return {}
    return {info.name: info for info in datasets.catalog()}


def open_source(
    path: str, target: str | None, time_column: str | None = None, schema: Any = None
) -> Any:
    """A Source for ``path``: a bundled name (``elec2``, ``weather``) or a CSV/Parquet/JSONL file.

    With a guard's ``schema``, a CSV's column types come from it and cells that do not fit are
    kept for the guards (never an abort mid-stream).

    >>> open_source("elec2", None).target
    'up'
    """
    bundled = _bundled()
    if path in bundled and not os.path.exists(path):
        from tidal import datasets

        source = getattr(datasets, path)()
        if target is not None and target != source.target:
            raise InputError(
                f"{path}: the target of the bundled stream is {source.target!r}, not {target!r}",
                column=target,
            )
        return source
    if not os.path.exists(path):
        names = ", ".join(bundled) or "none installed"
        raise InputError(f"{path}: no such file (bundled streams: {names})")
    if target is None:
        raise InputError(f"{path}: name the label column with --target")
    from tidal import stream

    ext = os.path.splitext(path)[1].lower()
    reader = getattr(stream, _READERS.get(ext, "read_csv"))
    kwargs: dict[str, Any] = {"target": target}
    if time_column is not None:
        kwargs["time_column"] = time_column
    if schema is not None and reader is stream.read_csv:
        kwargs["numeric"] = [c.name for c in schema.columns if c.kind == "numeric"]
        kwargs["categorical"] = [c.name for c in schema.columns if c.kind == "categorical"]
        kwargs["keep_bad"] = True
    return reader(path, **kwargs)
