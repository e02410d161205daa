"""A small keyed stream and an uninterrupted reference run, shared by the distributed tests."""

from __future__ import annotations

import numpy as np

from tidal.compose import Keyed
from tidal.distributed import state_digest


def keyed_stream(
    n: int = 2000, keys: int = 40, seed: int = 0
) -> tuple[dict, np.ndarray, list[str]]:
    """Rows over str and int keys (a few busy, most quiet), regression targets, event ids."""
    rng = np.random.default_rng(seed)
    k = rng.zipf(1.4, n) % keys
    names = np.array([f"s{j}" if j % 2 else j for j in range(keys)], dtype=object)
    slope = rng.normal(0, 3, keys)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = slope[k] * x1 + 0.5 * x2 + 0.1 * rng.normal(size=n)
    return {"key": names[k], "x1": x1, "x2": x2}, y, [f"ev-{seed}-{i}" for i in range(n)]


def blocks(X: dict, y: np.ndarray, ids: list[str], size: int):
    for a in range(0, len(y), size):
        yield {c: v[a : a + size] for c, v in X.items()}, y[a : a + size], ids[a : a + size]


def reference(learner, X: dict, y: np.ndarray, block: int = 128) -> tuple[np.ndarray, dict]:
    """In-process Keyed, uninterrupted: predictions and each key's state digest."""
    model = Keyed(learner, key="key")
    preds = np.concatenate(
        [model.step_many(Xb, yb) for Xb, yb, _ in blocks(X, y, [""] * len(y), block)]
    )
    return preds, {k: state_digest(s) for k, s in model.state_dict()["keys"]}
