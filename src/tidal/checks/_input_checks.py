"""Checks of bad input: NaN/inf, extra or missing features, categorical values.

A rejected call must raise an error naming the column and the row and leave the learner exactly
as it was (validate everything, then mutate).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from tidal.base import (
    InputError,
    SchemaMismatchError,
    learner_from_state,
    read_state,
    save_state,
)
from tidal.checks._datasets import Dataset
from tidal.checks._utils import (
    assert_same,
    assert_same_state,
    fitted_copy,
    frozen_state,
    predict,
    step,
)

__all__ = [
    "check_nan_handling",
    "check_extra_or_missing_feature",
    "check_categorical_input",
    "check_empty_block",
]

_FIT_ROWS = 300


def _expect_rejected(
    m: Any,
    call: Callable[[], Any],
    error: type[Exception],
    column: str,
    row: int | None,
    what: str,
) -> None:
    before = frozen_state(m)
    fitted = m.is_fitted
    try:
        call()
    except error as e:
        msg = str(e)
        assert column in msg, f"{what}: the message does not name column {column!r}: {msg!r}"
        assert getattr(e, "column", column) == column, f"{what}: error.column is {e.column!r}"
        if row is not None:
            assert e.row == row and f"row {row}" in msg, f"{what}: row {row} not named: {msg!r}"
    else:
        raise AssertionError(f"{what} was accepted; expected {error.__name__}")
    assert m.is_fitted == fitted, f"{what}: the rejected call changed is_fitted"
    assert_same_state(before, m.state_dict(), f"state after the rejected {what}")


def _assert_finite(out: Any, nan_cells: np.ndarray | None, what: str) -> None:
    arr = np.asarray(out, dtype=np.float64)
    ok = np.isfinite(arr)
    if nan_cells is not None and arr.shape == nan_cells.shape:
        ok |= nan_cells  # a transformer may pass a missing value through
    assert ok.all(), f"{what}: non-finite output at {np.argwhere(~ok)[0].tolist()}"


def check_nan_handling(learner: Any, dataset: Dataset) -> None:
    """NaN is learned and predicted on (``handles_missing``) or rejected, naming column and row,
    with the state unchanged; inf is always rejected."""
    lo, hi, bad_row, col = _FIT_ROWS, _FIT_ROWS + 40, 17, dataset.names[2]
    X = dataset.columns(lo, hi)
    X[col][bad_row] = np.nan
    y = dataset.y[lo:hi]
    m = fitted_copy(learner, dataset, _FIT_ROWS)
    if learner._get_tags().handles_missing:
        cells = np.zeros((hi - lo, len(dataset.names)), dtype=bool)
        cells[bad_row, 2] = True
        _assert_finite(step(m, X, y), cells, "outputs with a NaN")
        _assert_finite(predict(m, X), cells, "predictions with a NaN")
        row = dataset.row(0)
        row[col] = float("nan")
        if not learner._get_tags().task == "transformer":
            m.learn_one(row, dataset.y[0].item())
    else:
        _expect_rejected(m, lambda: step(m, X, y), InputError, col, bad_row, "NaN in learn")
        _expect_rejected(m, lambda: predict(m, X), InputError, col, bad_row, "NaN in predict")
        fresh = clone(learner)
        _expect_rejected(fresh, lambda: step(fresh, X, y), InputError, col, bad_row, "first")
    X[col][bad_row] = np.inf
    _expect_rejected(m, lambda: step(m, X, y), InputError, col, bad_row, "inf in learn")


def check_extra_or_missing_feature(learner: Any, dataset: Dataset) -> None:
    """An extra feature is refused (SchemaMismatchError naming it, state unchanged); a missing
    one too, unless the learner handles missing values."""
    lo, hi = _FIT_ROWS, _FIT_ROWS + 40
    y = dataset.y[lo:hi]
    m = fitted_copy(learner, dataset, _FIT_ROWS)
    extra = dict(dataset.columns(lo, hi), surprise=np.ones(hi - lo))
    _expect_rejected(m, lambda: step(m, extra, y), SchemaMismatchError, "surprise", None, "extra")
    _expect_rejected(m, lambda: predict(m, extra), SchemaMismatchError, "surprise", None, "extra")
    gone = dataset.names[1]
    missing = {k: v for k, v in dataset.columns(lo, hi).items() if k != gone}
    if learner._get_tags().handles_missing:
        cells = np.zeros((hi - lo, len(dataset.names)), dtype=bool)
        cells[:, 1] = True
        _assert_finite(step(m, missing, y), cells, "outputs with a missing feature")
    else:
        _expect_rejected(m, lambda: step(m, missing, y), SchemaMismatchError, gone, None, "gone")


def check_categorical_input(learner: Any, dataset: Dataset) -> None:
    """Text values: learned and predicted on, unseen categories included (``handles_categorical``),
    else refused naming column and row with the state unchanged."""
    n = 600
    colours = np.array(["red", "green", "blue"], dtype=object)[np.arange(n) % 3]
    y = dataset.y[:n]
    m = clone(learner)
    if learner._get_tags().handles_categorical:
        X = dict(dataset.columns(0, n), colour=colours)
        _assert_finite(step(m, X, y), None, "outputs with a categorical column")
        with tempfile.TemporaryDirectory() as tmp:
            back = learner_from_state(read_state(save_state(m.state_dict(), Path(tmp) / "m")))
        assert_same(predict(back, X), predict(m, X), "categorical learner after a state file")
        X["colour"] = np.full(n, "purple", dtype=object)
        _assert_finite(predict(m, X), None, "predictions for an unseen category")
        return
    numeric = dict(dataset.columns(0, n), colour=np.zeros(n))
    step(m, numeric, y)
    bad = dict(dataset.columns(0, n), colour=np.zeros(n, dtype=object))
    bad["colour"][5] = "red"
    _expect_rejected(m, lambda: step(m, bad, y), InputError, "colour", 5, "a text value")


def check_empty_block(learner: Any, dataset: Dataset) -> None:
    """A block of zero rows (a quiet second of a stream) gives zero outputs and changes nothing."""
    m = fitted_copy(learner, dataset, _FIT_ROWS)
    before = frozen_state(m)
    empty = dataset.columns(0, 0)
    for out in (step(m, empty, dataset.y[:0]), predict(m, empty)):
        assert len(out) == 0, f"{len(out)} outputs for an empty block"
    assert_same_state(before, m.state_dict(), "state after an empty block")
