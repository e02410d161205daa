"""The on-disk store of a batch learner's rows: Parquet part files in one folder.

Rows are appended one block per part file; when the learner only needs the last N rows, part
files that hold only older rows are deleted, so the bytes kept stay bounded. ``nbytes`` is the
size of the files on disk, which is what the comparison reports as "data kept".
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tidal.base.exceptions import ParameterError

__all__ = ["RowStore"]


class RowStore:
    """Append-only Parquet store of (X, y, w) rows, with a horizon for forgetting.

    >>> s = RowStore(None, feature_names=("a", "b"))
    >>> s.append(np.ones((3, 2)), np.array([0.0, 1.0, 1.0]), np.ones(3), start=0)
    >>> s.n_rows, s.nbytes > 0
    (3, True)
    >>> s.close()
    """

    def __init__(self, path: str | os.PathLike | None, feature_names: tuple[str, ...]):
        self._owned = path is None
        if path is None:
            path = tempfile.mkdtemp(prefix="tidal-batch-")
        self.path = Path(path)
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as e:
            raise ParameterError(
                f"batch store path {str(self.path)!r} is not a writable folder ({e.strerror})"
            ) from e
        self.feature_names = tuple(feature_names)
        self._parts: list[tuple[int, int, Path]] = []  # (first row, end row, file)
        self.n_rows = 0

    def append(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, start: int) -> None:
        if len(X) == 0:
            return
        columns = {name: X[:, j] for j, name in enumerate(self.feature_names)}
        table = pa.table({**columns, "__y__": y, "__w__": w})
        file = self.path / f"part-{start:012d}.parquet"
        pq.write_table(table, file, compression="zstd")
        self._parts.append((start, start + len(X), file))
        self.n_rows = start + len(X)

    def forget_before(self, row: int) -> None:
        """Delete part files whose rows all come before ``row``."""
        keep = []
        for first, end, file in self._parts:
            if end <= row:
                file.unlink(missing_ok=True)
            else:
                keep.append((first, end, file))
        self._parts = keep

    @property
    def nbytes(self) -> int:
        return sum(f.stat().st_size for _, _, f in self._parts if f.exists())

    def read(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """All rows still kept: X, y, w and the stream index of the first one."""
        if not self._parts:
            m = len(self.feature_names)
            return np.zeros((0, m)), np.zeros(0), np.zeros(0), self.n_rows
        tables = [pq.read_table(f) for _, _, f in self._parts]
        table = pa.concat_tables(tables)
        X = np.column_stack([table.column(n).to_numpy() for n in self.feature_names])
        return (
            X,
            table.column("__y__").to_numpy(),
            table.column("__w__").to_numpy(),
            self._parts[0][0],
        )

    def close(self) -> None:
        """Delete the folder if this store created it (a temporary folder)."""
        if self._owned:
            shutil.rmtree(self.path, ignore_errors=True)
        self._parts = []
