"""Every retrain policy tidal exports, found by walking ``tidal.batch``: a new policy is checked
here without being listed. Each must build with defaults, clone, and continue identically after a
``state_dict`` / ``load_state`` round trip in the middle of a stream of errors."""

from __future__ import annotations

import copy
import inspect

import numpy as np
import pytest
from sklearn.base import clone

import tidal.batch
from tidal.batch import RetrainPolicy


def _policies() -> list[type]:
    found = [
        obj
        for name in tidal.batch.__all__
        if inspect.isclass(obj := getattr(tidal.batch, name))
        and issubclass(obj, RetrainPolicy)
        and obj is not RetrainPolicy
    ]
    assert len(found) >= 5  # EveryN, EveryT, OnDrift, MetricBelow, AnyOf at least
    return found


def _build(cls: type) -> RetrainPolicy:
    if cls.__name__ == "AnyOf":
        from tidal.batch import EveryN, MetricBelow

        return cls(EveryN(700), MetricBelow(threshold=0.8, window=50))
    return cls()


def _triggers(policy: RetrainPolicy, errors: np.ndarray, times: np.ndarray, start: int) -> list:
    out, i = [], start
    while i < len(errors):
        k = policy.first_trigger(i, errors[i:], times[i:])
        if k < 0:
            break
        out.append(i + k)
        policy.retrained()
        i += k + 1
    return out


@pytest.mark.parametrize("cls", _policies(), ids=lambda c: c.__name__)
def test_policy_clones_and_resumes_from_its_state(cls: type) -> None:
    rng = np.random.default_rng(0)
    errors = np.r_[rng.random(1500) < 0.1, rng.random(1500) < 0.6].astype(np.float64)
    times = np.arange(len(errors), dtype=np.float64) * 60.0  # a row a minute: EveryT(one day)

    whole = _build(cls)
    assert (
        type(clone(whole)) is cls and clone(whole).get_params().keys() == whole.get_params().keys()
    )
    whole.start()
    first = _triggers(whole, errors[:1000], times[:1000], 0)
    saved = copy.deepcopy(whole.state_dict())
    rest = _triggers(whole, errors, times, 1000)

    resumed = _build(cls)
    resumed.start()
    resumed.load_state(saved)
    assert _triggers(resumed, errors, times, 1000) == rest
    assert first or rest  # the stream is made to trigger every policy at least once
