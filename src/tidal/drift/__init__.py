"""Concept-drift detectors, compiled with numba.

Each detector has River's one-value API (``update(x)``, ``drift_detected``, and
``warning_detected`` for those with a warning zone), an array form ``update_many(xs)`` that runs a
whole sequence in one compiled call and returns the positions of the alarms, ``reset()``,
``state_dict()`` / ``load_state()`` (and :func:`detector_from_state`), ``get_params`` /
``set_params`` / ``clone``, and pickling.
Defaults and alarms are those of River 0.26.1. The compiled ``*_update(p, s, x)`` kernels live in
:mod:`tidal._kernels` (``drift_adwin``, ``drift_kswin``, ``drift_stats``) for use inside other
kernels (trees, forests).

>>> from tidal.drift import DDM
>>> DDM().update_many([0] * 500 + [1] * 50)
array([500])
"""

from tidal.drift._adwin import ADWIN
from tidal.drift._ddm import DDM, EDDM
from tidal.drift._hddm import HDDM_A, HDDM_W
from tidal.drift._kswin import KSWIN
from tidal.drift._monitored import Monitored, MonitoredClassifier, MonitoredRegressor
from tidal.drift._page_hinkley import PageHinkley
from tidal.drift.base import DriftDetector, detector_from_state

__all__ = [
    "ADWIN",
    "DDM",
    "DriftDetector",
    "EDDM",
    "HDDM_A",
    "HDDM_W",
    "KSWIN",
    "Monitored",
    "MonitoredClassifier",
    "MonitoredRegressor",
    "PageHinkley",
    "detector_from_state",
]
