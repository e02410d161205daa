"""What every host of a served model (:class:`~tidal.service.host.ModelHost`,
:class:`~tidal.service.keyed.KeyedHost`) shares about a request: the items of a learn (rows,
prediction ids, event ids) and the checks they pass before a model sees them, and the answers
(:class:`PredictResult`, :class:`LearnResult`) the routes send back.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tidal.base import InputError, TidalError
from tidal.service.pending import PendingPredictions

__all__ = [
    "LearnResult",
    "PredictResult",
    "UnknownPredictionError",
    "item_row",
    "learn_items",
    "plain",
    "refuse_non_finite",
]


class UnknownPredictionError(TidalError, LookupError):
    """A label came for a prediction id this host does not hold (never made, or expired).

    >>> UnknownPredictionError("abc", 0).index
    0
    """

    def __init__(self, prediction_id: str, index: int) -> None:
        super().__init__(
            f"item {index}: unknown prediction_id {prediction_id!r}: never made by this model, "
            "or older than the retention bound (pending_max / pending_ttl); send the features "
            "with the label instead"
        )
        self.prediction_id = prediction_id
        self.index = index


@dataclass
class PredictResult:
    """Predictions for a list of rows, their ids, and the model version that made them.

    >>> PredictResult([1.5], ["id0"], {"registry_version": None, "seq": 3}).predictions
    [1.5]
    """

    predictions: list[Any]
    prediction_ids: list[str]
    version: dict[str, Any]
    probabilities: list[dict[str, float]] | None = None


@dataclass
class LearnResult:
    """What a learn request did: events learned, their sequence numbers, skipped duplicates.

    >>> LearnResult(2, 5, 6, {"registry_version": None, "seq": 6}).already_learned
    []
    """

    learned: int
    first_seq: int | None
    last_seq: int | None
    version: dict[str, Any]
    already_learned: list[int] = field(default_factory=list)
    #: guarded models only: items quarantined, a verdict per item, rule hits in this request
    quarantined: int = 0
    verdicts: list[dict[str, Any]] | None = None
    guard_rules: dict[str, int] = field(default_factory=dict)
    #: (predictions, labels) of the first rows learned, made just before learning them
    #: (``learn(probe=n)``; None when not asked or not fitted): the dashboard scores them
    probe: tuple[list[Any], list[Any]] | None = None
    #: per item: the sequence number it was learned at (now, or before for a repeated id);
    #: None for an item quarantined
    seqs: list[int | None] = field(default_factory=list)


def plain(v: Any) -> Any:
    """A NumPy scalar as the Python value it holds (JSON writes those); anything else as it is.

    >>> type(plain(np.float64(1.5))), plain("a")
    (<class 'float'>, 'a')
    """
    return v.item() if isinstance(v, np.generic) else v


def learn_items(n: int, *columns: list[Any] | None) -> list[list[Any]]:
    """Each of a learn's optional item columns (rows, prediction ids, event ids) as a list of
    ``n`` (None: ``n`` Nones); raises ValueError naming the lengths when one differs."""
    out = [list(c) if c is not None else [None] * n for c in columns]
    if any(len(c) != n for c in out):
        raise ValueError(f"{n} labels, but item columns of lengths {[len(c) for c in out]}")
    return out


def item_row(
    i: int, row: dict[str, Any] | None, pid: str | None, pending: PendingPredictions, ttl: float
) -> dict[str, Any]:
    """The features of learn item ``i``: the row predicted under ``pid`` when it is set
    (UnknownPredictionError when ``pending`` does not hold it, or has held it longer than
    ``ttl`` seconds), else ``row`` (ValueError when that is None too)."""
    if pid is None:
        if row is None:
            raise ValueError(f"item {i}: give features or a prediction_id")
        return row
    entry = pending.get(pid)
    if entry is None or time.monotonic() - entry[1] > ttl:
        raise UnknownPredictionError(pid, i)
    return entry[0]


def refuse_non_finite(rows: list[dict[str, Any]]) -> None:
    """Raise InputError naming row and feature for a NaN or infinite value: the log and the
    journals are JSON, and a model that imputes would otherwise learn what cannot be logged. A
    missing feature is sent by leaving it out of the row."""
    for i, row in enumerate(rows):
        for k, v in row.items():
            if isinstance(v, float) and not math.isfinite(v):
                raise InputError(
                    f"row {i}: feature {k!r}: expected a finite number, got {v!r} (leave a "
                    "missing feature out of the row)",
                    column=k,
                    row=i,
                )
