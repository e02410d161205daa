"""Shared helpers: bit-for-bit comparison of state dicts, deterministic event streams."""

from __future__ import annotations

from typing import Any

import numpy as np


def assert_state_equal(a: Any, b: Any, path: str = "state") -> None:
    """Equal bit for bit: same keys, same JSON values, arrays with identical dtype and bytes."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape, (
            f"{path}: {a.dtype}{a.shape} != {b.dtype}{b.shape}"
        )
        assert a.tobytes() == b.tobytes(), f"{path}: arrays differ"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            assert_state_equal(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (u, v) in enumerate(zip(a, b)):
            assert_state_equal(u, v, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert np.float64(a).tobytes() == np.float64(b).tobytes(), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b and type(a) is type(b), f"{path}: {a!r} != {b!r}"


def make_stream(n: int, seed: int = 0) -> tuple[list[dict[str, float]], list[int]]:
    """A binary classification stream with two informative features and noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] - 0.5 * X[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(int)
    rows = [{"a": float(r[0]), "b": float(r[1]), "c": float(r[2])} for r in X]
    return rows, [int(v) for v in y]


def admin_token(data: Any) -> str:
    """The first admin token, as the first start wrote it into the data folder."""
    from pathlib import Path

    return (Path(data) / "admin-token").read_text().strip()


def crash(svc: Any) -> None:
    """Stop a :class:`tidal.service.runtime.Service` like a killed process: no snapshot, every
    acknowledged event in the log, the data folder's lock released."""
    svc._stop.set()
    svc._wake.set()
    svc._thread.join()
    for host in svc.hosts.values():
        host.wal.close()
    if svc._registry is not None:
        svc._registry.close()
    if svc.quarantine is not None:
        svc.quarantine.close()
    svc._lock.release()
