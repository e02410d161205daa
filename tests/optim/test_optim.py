"""Optimisers and schedulers: River's formulas, immutable configurations that serialise."""

from __future__ import annotations

import numpy as np
import pytest
from river import optim as ro
from sklearn.base import clone

from tidal import linear_model as tl
from tidal import optim as to
from tidal.base import ParameterError
from tidal.base.state import decode_params, encode_params


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (to.schedulers.Constant(0.3), ro.schedulers.Constant(0.3)),
        (to.schedulers.InverseScaling(0.3), ro.schedulers.InverseScaling(0.3)),
        (to.schedulers.InverseScaling(0.7, power=1.3), ro.schedulers.InverseScaling(0.7, 1.3)),
    ],
)
def test_schedulers_equal_river(ours, theirs):
    for t in [0, 1, 2, 10, 999, 123456]:
        assert ours.get(t) == theirs.get(t)


OPTIMISERS = [
    to.SGD(0.05),
    to.SGD(to.schedulers.InverseScaling(0.2, power=0.4)),
    to.AdaGrad(lr=0.3, eps=1e-6),
    to.Adam(lr=0.02, beta_1=0.8, beta_2=0.99, eps=1e-7),
    to.FTRLProximal(alpha=0.2, beta=0.5, l1=0.01, l2=0.3),
]


@pytest.mark.parametrize("opt", OPTIMISERS, ids=lambda o: type(o).__name__)
def test_optimiser_params_round_trip_through_json(opt):
    encoded = encode_params({"optimizer": opt})
    rebuilt = decode_params(encoded)["optimizer"]
    assert type(rebuilt) is type(opt)
    assert repr(rebuilt) == repr(opt)
    assert repr(clone(opt)) == repr(opt)


@pytest.mark.parametrize("opt", OPTIMISERS, ids=lambda o: type(o).__name__)
def test_optimiser_holds_no_state_and_can_be_shared(opt):
    """One optimiser object drives two learners; each learner owns its own accumulators."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    before = repr(opt), dict(vars(opt))
    a = tl.LogisticRegression(optimizer=opt)
    b = tl.LogisticRegression(optimizer=opt)
    pa = a.step_proba_many(X, y)
    pb = b.step_proba_many(X, y)  # a's learning must not have moved b's starting point
    np.testing.assert_array_equal(pa, pb)
    assert (repr(opt), dict(vars(opt))) == before


@pytest.mark.parametrize(
    ("opt", "message"),
    [
        (to.SGD(float("inf")), "learning_rate == inf"),
        (to.SGD(to.schedulers.InverseScaling(0.1, power=-1.0)), "power == -1.0"),
        (to.AdaGrad(eps=-1.0), "eps == -1.0"),
        (to.Adam(beta_2=1.5), "beta_2 == 1.5"),
        (to.FTRLProximal(l2=-0.5), "l2 == -0.5"),
    ],
)
def test_bad_optimiser_parameters_name_the_parameter(opt, message):
    with pytest.raises(ParameterError, match=message):
        tl.LinearRegression(optimizer=opt).learn_one({"x": 1.0}, 1.0)


@pytest.mark.parametrize("how", ["new optimiser", "nested set_params"])
def test_optimiser_changes_take_effect_but_plain_assignment_is_refused(how):
    opt = to.SGD(0.01)
    with pytest.raises(AttributeError, match="immutable"):
        opt.lr = 0.5
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X[:, 0] > 0).astype(int)
    kept = tl.LogisticRegression(optimizer=opt).learn_many(X[:200], y[:200])
    switched = tl.LogisticRegression(optimizer=opt).learn_many(X[:200], y[:200])
    if how == "new optimiser":
        switched.set_params(optimizer=to.SGD(0.5))
    else:
        switched.set_params(optimizer__lr=0.5)
        assert kept.optimizer.lr == 0.5  # the shared optimiser changed for both learners
        kept.set_params(optimizer=to.SGD(0.01))
    fresh = tl.LogisticRegression(optimizer=to.SGD(0.5))
    fresh.load_state({**kept.state_dict(), "params": switched.state_dict()["params"]})
    a = kept.step_proba_many(X[200:], y[200:])
    b = switched.step_proba_many(X[200:], y[200:])
    np.testing.assert_array_equal(b, fresh.step_proba_many(X[200:], y[200:]))
    assert np.abs(a - b).max() > 1e-3
