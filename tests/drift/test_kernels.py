"""The ``*_update(p, s, x)`` kernels can run inside another compiled kernel, one detector per row
of a 2-D state array (as a tree keeps one detector per node)."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from tests.drift._streams import bernoulli, gaussian
from tidal import drift
from tidal._kernels.drift_adwin import adwin_reset, adwin_state_size, adwin_update
from tidal._kernels.drift_stats import DDM_STATE_SIZE, ddm_reset, ddm_update


@njit
def _route(update, p, states, nodes, xs, alarms):  # a stand-in for a tree kernel
    for i in range(xs.shape[0]):
        alarms[i] = update(p, states[nodes[i]], xs[i])


def _adwin_states(n):
    states = np.zeros((n, adwin_state_size(5)))
    for row in states:
        adwin_reset(row)
    return states


def _ddm_states(n):
    states = np.zeros((n, DDM_STATE_SIZE))
    for row in states:
        ddm_reset(row)
    return states


@pytest.mark.parametrize(
    "cls, update, states, xs",
    [
        (drift.ADWIN, adwin_update, _adwin_states, gaussian(31, n=4000)),
        (drift.DDM, ddm_update, _ddm_states, bernoulli(32, n=4000)),
    ],
)
def test_one_detector_per_node_matches_separate_detectors(cls, update, states, xs):
    nodes = np.random.default_rng(0).integers(0, 3, size=xs.shape[0])
    alarms = np.zeros(xs.shape[0], dtype=np.bool_)
    _route(update, cls()._param_array(), states(3), nodes, xs, alarms)
    for node in range(3):
        mine = np.flatnonzero(nodes == node)
        expected = cls().update_many(xs[mine])
        assert np.flatnonzero(alarms[mine]).tolist() == expected.tolist()
    assert alarms.any()
