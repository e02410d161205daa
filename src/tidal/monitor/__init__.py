"""Feature-drift monitors: is the distribution of each input feature still the one we trained on?

:class:`FeatureDriftMonitor` keeps a reference window (the first rows) and a sliding current
window per feature and reports PSI, Kolmogorov–Smirnov and Wasserstein-1 for numeric features,
chi-square and PSI for categorical ones. (Concept drift — a change in the error of a model — is
:mod:`tidal.drift`'s job.)

>>> import numpy as np
>>> from tidal.monitor import FeatureDriftMonitor
>>> mon = FeatureDriftMonitor(reference_size=200, window_size=200)
>>> mon.update_many(np.random.default_rng(1).normal(size=(400, 2)))
>>> mon.report().drifted_features
[]
"""

from tidal.monitor._monitor import DriftReport, FeatureDriftMonitor
from tidal.monitor._stats import chi2_test, ks_test, psi, quantile_edges, wasserstein

__all__ = [
    "DriftReport",
    "FeatureDriftMonitor",
    "chi2_test",
    "ks_test",
    "psi",
    "quantile_edges",
    "wasserstein",
]
