"""One process owns a data folder: an exclusive ``fcntl.flock`` on ``<data>/LOCK``.

The lock dies with the process (the kernel releases it even after SIGKILL), so a crash never
leaves a stale lock behind; the PID written in the file only makes the message helpful.

The folder holds training rows and token hashes: taking the lock makes it private to its
owner (:func:`make_private`: the folder and its subfolders 0700, its files 0600), and the
service's entry points set the umask to 077 so the files it makes later are private too.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from tidal.base import TidalError

__all__ = ["DataFolderLock", "DataFolderLockedError", "make_private"]


def make_private(folder: str | Path) -> None:
    """Take group and other permissions off ``folder`` (0700), its subfolders and files (0600).

    >>> import stat, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> (folder / "rows.wal").write_text("x"); (folder / "rows.wal").chmod(0o644)
    1
    >>> make_private(folder)
    >>> oct(folder.stat().st_mode & 0o777), oct((folder / "rows.wal").stat().st_mode & 0o777)
    ('0o700', '0o600')
    """
    folder = Path(folder)
    folder.chmod(0o700)
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            p = Path(root, d)
            if p.stat().st_mode & 0o077:
                p.chmod(0o700)
        for f in files:
            p = Path(root, f)
            if p.is_file() and p.stat().st_mode & 0o077:
                p.chmod(0o600)


class DataFolderLockedError(TidalError, RuntimeError):
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
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.folder / "LOCK"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
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
        make_private(self.folder)

    def release(self) -> None:
        """Give the folder up (idempotent)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
