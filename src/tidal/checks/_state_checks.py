"""Checks of copying a learner: clone, pickle and state dicts (in memory and in files)."""

from __future__ import annotations

import copy
import pickle
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from tidal.base import StateError, learner_from_state, read_state, save_state
from tidal.checks._datasets import Dataset
from tidal.checks._utils import (
    assert_same,
    assert_same_learner_state,
    assert_same_state,
    fitted_copy,
    frozen_state,
    prequential,
)

__all__ = [
    "check_clone",
    "check_pickle_roundtrip_midstream",
    "check_state_roundtrip_midstream",
    "check_state_version_refused",
]

_BLOCK = 500


def check_clone(learner: Any, dataset: Dataset) -> None:
    """``sklearn.base.clone`` of a fitted learner is an unfitted copy with equal parameters."""
    fitted = fitted_copy(learner, dataset)
    for copy_ in (clone(fitted), fitted.clone()):
        assert copy_ is not fitted
        assert not copy_.is_fitted, "a clone must not carry the fitted state"
        assert_same_state(
            copy_.state_dict()["params"], fitted.state_dict()["params"], "clone params"
        )
        assert repr(copy_.get_params()) == repr(fitted.get_params())
    # and a clone learns exactly what the original learns
    a, b = clone(learner), clone(fitted)
    assert_same(
        prequential(a, dataset, 0, 300, _BLOCK), prequential(b, dataset, 0, 300, _BLOCK), "clone"
    )


def _continue(learners: list[Any], dataset: Dataset, lo: int) -> list[np.ndarray]:
    return [prequential(m, dataset, lo, dataset.n, _BLOCK) for m in learners]


def check_pickle_roundtrip_midstream(learner: Any, dataset: Dataset) -> None:
    """Pickled half-way through a stream, the copy continues exactly as the original."""
    half = dataset.n // 2
    a = clone(learner)
    prequential(a, dataset, 0, half, _BLOCK)
    b = pickle.loads(pickle.dumps(a))
    out_a, out_b = _continue([a, b], dataset, half)
    assert_same(out_a, out_b, "outputs after the pickle round trip")
    assert_same_learner_state(
        learner, a.state_dict(), b.state_dict(), "final state after the pickle round trip"
    )


def check_state_roundtrip_midstream(learner: Any, dataset: Dataset) -> None:
    """Restored half-way through from ``state_dict`` (in memory, and via a state file read with
    ``allow_pickle=False``), the copies continue exactly as the original; the state dict taken
    is a snapshot that later learning does not change."""
    half = dataset.n // 2
    a = clone(learner)
    prequential(a, dataset, 0, half, _BLOCK)
    state = a.state_dict()
    kept = copy.deepcopy(state)
    b = learner_from_state(state)
    with tempfile.TemporaryDirectory() as tmp:
        path = save_state(state, Path(tmp) / "learner.npz")
        with np.load(path, allow_pickle=False) as archive:  # no pickle inside
            assert "__meta__" in archive.files
        from_file = read_state(path)
    assert_same_state(state, from_file, "state read back from its file")
    c = learner_from_state(from_file)
    d = clone(learner).load_state(from_file)
    outs = _continue([a, b, c, d], dataset, half)
    for name, out, m in zip(("state_dict", "state file", "load_state"), outs[1:], (b, c, d)):
        assert_same(outs[0], out, f"outputs after the {name} round trip")
        assert_same_learner_state(
            learner, a.state_dict(), m.state_dict(), f"final state after the {name} trip"
        )
    assert_same_state(kept, state, "state_dict taken half-way (changed by later learning)")


def check_state_version_refused(learner: Any, dataset: Dataset) -> None:
    """A state with a bumped ``class_version`` or ``format_version`` is refused with a StateError
    that names the versions, and the learner it was loaded into is left unchanged."""
    a = fitted_copy(learner, dataset)
    state = a.state_dict()
    learner_from_state(copy.deepcopy(state))  # the unmodified state loads
    for key in ("class_version", "format_version"):
        bad = copy.deepcopy(state)
        bad[key] = int(bad[key]) + 1
        for load in (learner_from_state, a.load_state):
            before = frozen_state(a)
            try:
                load(bad)
            except StateError as e:
                msg = str(e)
                assert "version" in msg and str(bad[key]) in msg, f"unclear message: {msg!r}"
            else:
                raise AssertionError(f"a state with {key} {bad[key]} was accepted")
            assert_same_state(before, a.state_dict(), f"state after refusing {key}")
