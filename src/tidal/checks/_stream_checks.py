"""Checks of per-row semantics: block sizes, one-row vs many-row calls, feature order, seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from tidal.base import NotFittedError
from tidal.checks._datasets import Dataset
from tidal.checks._utils import (
    assert_same,
    assert_same_learner_state,
    fitted_copy,
    float_tolerance,
    labels_stream,
    prequential,
)

__all__ = [
    "check_block_size_invariance",
    "check_learn_one_equals_learn_many",
    "check_shuffled_feature_order",
    "check_seed_determinism",
    "check_predict_before_learn",
    "check_predict_changes_nothing",
    "check_step_proba_consistent",
]

_PLAIN = (int, float, str, bool, type(None))


def check_block_size_invariance(learner: Any, dataset: Dataset) -> None:
    """Blocks of 1, 1,000 and 4,096 rows, with sample weights, give exactly the same outputs
    and final state."""
    runs = {}
    w = _weights(dataset.n)
    for block in (1, 1000, 4096):
        m = clone(learner)
        runs[block] = (prequential(m, dataset, 0, dataset.n, block, w), m.state_dict())
    tol = float_tolerance(learner)
    for block in (1000, 4096):
        what = f"outputs, block of 1 vs block of {block}"
        assert_same(runs[1][0], runs[block][0], what, tol)
        assert_same_learner_state(
            learner, runs[1][1], runs[block][1], f"final state, block 1 vs {block}", tol
        )
    if learner._get_tags().is_classifier:
        one = labels_stream(clone(learner), dataset, 0, dataset.n, 1, w)
        big = labels_stream(clone(learner), dataset, 0, dataset.n, 4096, w)
        assert_same(np.array(one, dtype=object), np.array(big, dtype=object), "step_many labels")


def _weights(n: int) -> np.ndarray:
    return 0.5 + (np.arange(n) % 3) * 0.75  # 0.5, 1.25, 2.0: weights must be honoured alike


def check_learn_one_equals_learn_many(learner: Any, dataset: Dataset) -> None:
    """``learn_one`` row by row equals one ``learn_many`` (with weights), and ``predict_one`` /
    ``predict_proba_one`` / ``transform_one`` agree with their ``_many`` forms and return plain
    Python values."""
    n, tags = 400, learner._get_tags()
    w = _weights(n)
    one, many = clone(learner), clone(learner)
    for i in range(n):
        if tags.task == "transformer":
            one.learn_one(dataset.row(i))
        else:
            one.learn_one(dataset.row(i), dataset.y[i].item(), float(w[i]))
    if tags.task == "transformer":
        many.learn_many(dataset.columns(0, n))
    else:
        many.learn_many(dataset.columns(0, n), dataset.y[:n], w)
    assert_same_learner_state(
        learner,
        one.state_dict(),
        many.state_dict(),
        "state, learn_one vs learn_many",
        float_tolerance(learner),
    )
    rest = dataset.columns(n, n + 50)
    if tags.task == "transformer":
        out = many.transform_many(rest)
        for i in range(5):
            got = one.transform_one(dataset.row(n + i))
            assert all(type(v) is float for v in got.values()), f"transform_one gave {got!r}"
            assert_same(
                np.array(list(got.values())),
                out[i],
                f"transform_one row {i}",
                float_tolerance(learner),
            )
        return
    preds = many.predict_many(rest)
    for i in range(5):
        p = one.predict_one(dataset.row(n + i))
        assert type(p) in _PLAIN, f"predict_one returned {type(p).__name__} {p!r}, not plain"
        tol = float_tolerance(learner) if isinstance(p, float) else 0.0
        assert p == preds[i] or abs(p - preds[i]) <= tol, (
            f"row {i}: predict_one {p!r} vs predict_many {preds[i]!r}"
        )
    if tags.is_classifier:
        proba = many.predict_proba_many(rest)
        for i in range(5):
            d = one.predict_proba_one(dataset.row(n + i))
            assert all(type(v) is float for v in d.values()), f"predict_proba_one gave {d!r}"
            assert all(type(k) in _PLAIN for k in d), f"predict_proba_one keys {list(d)!r}"
            assert sorted(map(str, d)) == sorted(map(str, many.classes_)), (
                f"{list(d)} vs classes_ {many.classes_}"
            )
            assert_same(
                np.array([d[c] for c in many.classes_.tolist()]),
                proba[i],
                f"predict_proba_one row {i}",
                float_tolerance(learner),
            )


def check_shuffled_feature_order(learner: Any, dataset: Dataset) -> None:
    """Columns given in another order (dict or pandas frame) change nothing."""
    import pandas as pd

    half = dataset.n // 2
    order = list(reversed(range(len(dataset.names))))
    a, b = clone(learner), clone(learner)
    prequential(a, dataset, 0, half, 500)
    prequential(b, dataset, 0, half, 500)
    rest, shuffled = dataset.columns(half), dataset.columns(half, order=order)
    # both learners get the same calls, in the same order, only the columns are permuted
    if learner._get_tags().task == "transformer":
        assert_same(a.transform_many(rest), b.transform_many(pd.DataFrame(shuffled)), "frame")
        assert_same(a.transform_many(pd.DataFrame(rest)), b.transform_many(shuffled), "dict")
        a.learn_many(rest)
        b.learn_many(shuffled)
    else:
        assert_same(a.predict_many(rest), b.predict_many(pd.DataFrame(shuffled)), "frame")
        assert_same(a.predict_many(pd.DataFrame(rest)), b.predict_many(shuffled), "dict")
        assert_same(
            a.step_many(rest, dataset.y[half:]),
            b.step_many(shuffled, dataset.y[half:]),
            "step_many, shuffled columns",
        )
    assert_same_learner_state(
        learner, a.state_dict(), b.state_dict(), "state after learning shuffled columns"
    )


def check_predict_changes_nothing(learner: Any, dataset: Dataset) -> None:
    """Predicting (or transforming) leaves the state exactly as it was: only learning learns."""
    m, tags = fitted_copy(learner, dataset, 600), learner._get_tags()
    before = m.state_dict()
    X = dataset.columns(600, 700)
    if tags.task == "transformer":
        m.transform_many(X)
        m.transform_one(dataset.row(650))
    else:
        m.predict_many(X)
        m.predict_one(dataset.row(650))
        if tags.is_classifier:
            m.predict_proba_many(X)
            m.predict_proba_one(dataset.row(650))
    assert_same_learner_state(learner, before, m.state_dict(), "state after predicting")


def check_seed_determinism(learner: Any, dataset: Dataset) -> None:
    """The same seed gives the same outputs; different seeds differ somewhere."""
    params = learner.get_params(deep=False)
    assert "seed" in params, "stochastic learners take a `seed` parameter"
    runs = []
    for seed in (1, 1, 2):
        m = clone(learner).set_params(seed=seed)
        runs.append((prequential(m, dataset, 0, 1500, 500), m))
    assert_same(runs[0][0], runs[1][0], "outputs with the same seed")
    assert_same_learner_state(
        learner, runs[0][1].state_dict(), runs[1][1].state_dict(), "state, same seed"
    )
    try:
        assert_same(runs[0][0], runs[2][0], "")
        assert_same_learner_state(learner, runs[0][1].state_dict(), runs[2][1].state_dict(), "")
    except AssertionError:
        return
    raise AssertionError("seeds 1 and 2 gave identical outputs and states: is the seed used?")


def check_predict_before_learn(learner: Any, dataset: Dataset) -> None:
    """Before anything is learned: the one-row API answers None / 0.0 / an empty dict; the array
    API raises NotFittedError; the unfitted state round-trips."""
    from tidal.base import learner_from_state

    m, tags = clone(learner), learner._get_tags()
    row = dataset.row(0)
    if tags.is_classifier:
        assert m.predict_one(row) is None, f"predict_one gave {m.predict_one(row)!r}"
        proba = m.predict_proba_one(row)
        assert isinstance(proba, dict) and not any(proba.values()), f"got {proba!r}"
    elif tags.is_regressor:
        p = m.predict_one(row)
        assert type(p) is float and np.isfinite(p), f"predict_one gave {p!r}"
    array_calls = [m.transform_many] if tags.task == "transformer" else [m.predict_many]
    if tags.is_classifier:
        array_calls.append(m.predict_proba_many)
    for call in array_calls:
        try:
            call(dataset.columns(0, 3))
        except NotFittedError as e:
            assert type(m).__name__ in str(e), f"the message should name the learner: {e}"
        else:
            raise AssertionError(f"{call.__name__} before learning did not raise NotFittedError")
    assert not m.is_fitted
    assert not learner_from_state(m.state_dict()).is_fitted


def check_step_proba_consistent(learner: Any, dataset: Dataset) -> None:
    """The label ``step_many`` gives has the highest probability in ``step_proba_many`` (ties go
    to the class seen first); each row of probabilities sums to 1, or is all zeros (no
    prediction yet: the label is then the first class, code 0)."""
    a, b = clone(learner), clone(learner)
    proba = prequential(a, dataset, 0, dataset.n, 700)
    labels = labels_stream(b, dataset, 0, dataset.n, 700)
    classes = list(a.classes_)
    assert proba.shape == (dataset.n, len(classes)), f"{proba.shape} for {len(classes)} classes"
    assert ((proba >= 0) & (proba <= 1)).all(), "probabilities outside [0, 1]"
    sums = proba.sum(axis=1)
    bad = ~(np.isclose(sums, 1.0, rtol=0, atol=1e-9) | (sums == 0))
    assert not bad.any(), f"row {int(np.argmax(bad))} sums to {sums[bad][0]!r}"
    # one block: decode_proba gives exactly step_many's labels (what the engine scores)
    c, d = clone(learner), clone(learner)
    X, y = dataset.columns(0, 900), dataset.y[:900]
    got, want = c.decode_proba(c.step_proba_many(X, y)), d.step_many(X, y)
    assert_same(np.asarray(got, dtype=object), np.asarray(want, dtype=object), "decode_proba")
    zero = type(a._labels[0])()  # fixed before any label: never a label read from the stream
    for i, (p, s, label) in enumerate(zip(proba, sums, labels)):
        if s == 0:
            assert label == zero, f"row {i}: no probabilities, label {label!r}, not {zero!r}"
        else:
            assert label in classes, f"row {i}: label {label!r} is not in classes_ {classes}"
            j = classes.index(label)
            assert p[j] == p.max(), f"row {i}: label {label!r} has p={p[j]!r} < max {p.max()!r}"
