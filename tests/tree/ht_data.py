"""Streams shared by the tree tests."""

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ELEC2 = Path(str(resources.files("tidal.datasets") / "elec2.csv.gz"))  # bundled copy


def load_elec2() -> pd.DataFrame:
    """Elec2 as a frame (the shared copy, else the one bundled with tidal.datasets)."""
    import tidal

    bundled = Path(tidal.__file__).parent / "datasets" / "elec2.csv.gz"
    for path in (ELEC2, bundled):
        if path.exists():
            return pd.read_csv(path)
    pytest.skip("Elec2 is not available")


def nominal_stream(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
    """3 classes; a categorical column decides one class, a numeric one the others; 5 % NaN."""
    rng = np.random.default_rng(seed)
    colours = np.array(["red", "green", "blue", "grey"], dtype=object)
    c = colours[rng.integers(0, 4, n)]
    a = rng.normal(size=n)
    b = rng.random(n)
    y = np.where(c == "red", "p", np.where(a > 0.5, "q", "r"))
    flip = rng.random(n) < 0.1
    y = np.where(flip, rng.choice(["p", "q", "r"], n), y)
    missing = rng.random(n) < 0.05
    frame = pd.DataFrame({"colour": c, "a": np.where(missing, np.nan, a), "b": b})
    rows = []
    for i in range(n):
        x = {"colour": c[i], "a": float(a[i]), "b": float(b[i])}
        if missing[i]:
            del x["a"]  # River's notion of a missing value: the key is absent
        rows.append(x)
    return frame, y, rows
