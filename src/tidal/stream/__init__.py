"""Streams of data: the Block, sources over files and frames, and synthetic generators.

Every source is re-iterable and yields :class:`Block` objects (columnar numpy, default 4,096
rows); ``source.rows()`` gives ``(x, y)`` one row at a time instead.

>>> from tidal import stream
>>> src = stream.synth.SEA(seed=1).take(10_000)
>>> src.feature_names, src.task, sum(len(b) for b in src)
(('x0', 'x1', 'x2'), 'binary', 10000)
"""

from tidal.stream import synth
from tidal.stream._block import Block
from tidal.stream._source import Fingerprint, Source, guess_task
from tidal.stream.frames import from_arrays, from_frame
from tidal.stream.readers import read_csv, read_jsonl, read_parquet

__all__ = [
    "Block",
    "Fingerprint",
    "Source",
    "from_arrays",
    "from_frame",
    "guess_task",
    "read_csv",
    "read_jsonl",
    "read_parquet",
    "synth",
]
