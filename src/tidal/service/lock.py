"""One process owns a data folder: an exclusive ``fcntl.flock`` on ``<data>/LOCK``.

The lock dies with the process (the kernel releases it even after SIGKILL), so a crash never
leaves a stale lock behind; the PID written in the file only makes the message helpful.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["DataFolderLock", "DataFolderLockedError"]


class DataFolderLockedError(RuntimeError):
    """Another process is serving (learning into) this data folder (see :class:`DataFolderLock`
    for an example)."""


class DataFolderLock:
    """Hold ``<folder>/LOCK`` exclusively until :meth:`release` (or process exit).

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> lock = DataFolderLock(folder)
    >>> DataFolderLock(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tidal.service.lock.DataFolderLockedError: data folder ... is in use by process ...
    >>> lock.release()
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "LOCK"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise DataFolderLockedError(
                f"data folder {self.folder} is in use by process {holder} (lock file "
                f"{self.path}): one process owns learning for a folder; stop that process or "
                "start this one with another data folder"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd: int | None = fd

    def release(self) -> None:
        """Give the folder up (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
