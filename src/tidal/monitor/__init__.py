"""Feature-drift monitors: is the distribution of each input feature still the one we trained on?

:class:`FeatureDriftMonitor` keeps a reference window (the first rows) and a sliding current
window per feature and reports PSI, Kolmogorov–Smirnov and Wasserstein-1 for numeric features,
chi-square and PSI for categorical ones. (Concept drift — a change in the error of a model — is
:mod:`tidal.drift`'s job.) :class:`DriftWatch` is the one ``tidal compare`` and ``tidal drift``
use: a reference that moves with the stream, a Bonferroni bound on false alarms, autocorrelation
taken into account, and only changes large enough to act on.

>>> import numpy as np
>>> from tidal.monitor import FeatureDriftMonitor
>>> mon = FeatureDriftMonitor(reference_size=200, window_size=200)
>>> mon.update_many(np.random.default_rng(1).normal(size=(400, 2)))
>>> mon.report().drifted_features
[]
"""

from tidal.monitor._monitor import DriftReport, FeatureDriftMonitor
from tidal.monitor._stats import chi2_test, ks_test, psi, quantile_edges, wasserstein
from tidal.monitor._watch import DriftWatch

__all__ = [
    "DriftReport",
    "DriftWatch",
    "FeatureDriftMonitor",
    "chi2_test",
    "ks_test",
    "psi",
    "quantile_edges",
    "wasserstein",
]
