"""Bundled datasets: byte-identical to the published files, in time order, described truly."""

import csv
import gzip
import hashlib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from tidal import datasets

# the published files: shared/ beside the repository (as CI lays it out), else this machine's copy
_HERE = Path(__file__).resolve().parents[1]
DATA = next(
    (p for p in (_HERE.parent / "shared" / "data", Path("/work/shared/data")) if p.exists()),
    _HERE.parent / "shared" / "data",
)


def test_bundled_files_hash_as_the_embedded_sums():
    for name, digest in datasets.SHA256.items():
        raw = resources.files("tidal.datasets").joinpath(f"{name}.csv.gz").read_bytes()
        assert hashlib.sha256(gzip.decompress(raw)).hexdigest() == digest
        assert datasets.sha256(name) == digest


@pytest.mark.skipif(not (DATA / "SHA256SUMS").exists(), reason="shared data folder not mounted")
def test_embedded_sums_are_the_published_sums():
    published = {}
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, filename = line.split()
        published[filename.removesuffix(".csv")] = digest
    assert published == datasets.SHA256


def _raw_rows(name):
    with gzip.open(resources.files("tidal.datasets").joinpath(f"{name}.csv.gz"), "rt") as fh:
        rows = list(csv.reader(fh))
    return rows[0], np.array(rows[1:], dtype=float)


@pytest.mark.parametrize("info", datasets.catalog(), ids=lambda d: d.name)
def test_loader_matches_the_file_row_for_row_and_the_catalog(info):
    src = getattr(datasets, info.name)()
    header, raw = _raw_rows(info.name)
    X, y = src.arrays()
    assert header[-1] == src.target == info.target
    assert list(src.feature_names) == header[:-1] and len(src.feature_names) == info.features
    assert X.shape == (info.rows, info.features)
    assert np.array_equal(X, raw[:, :-1]) and np.array_equal(y, raw[:, -1])  # never shuffled
    assert src.task == "binary"


def test_reference_facts_from_the_provenance():
    _, y = datasets.elec2().arrays()
    assert round(y.mean(), 3) == 0.425
    assert round(np.mean(y[1:] == y[:-1]), 3) == 0.853  # the no-change baseline
    _, y = datasets.weather().arrays()
    assert round(y.mean(), 3) == 0.314
    assert round(np.mean(y[1:] == y[:-1]), 3) == 0.680


def test_first_rows_and_block_size():
    x, y = next(datasets.weather().rows())
    assert x["temperature"] == 19.8 and x["min_temperature"] == 14.0 and y == 0
    sizes = [len(b) for b in datasets.elec2(block_size=10_000)]
    assert sizes == [10_000] * 4 + [5_312]
