"""An estimator for the refit tests, importable by a spawned worker process (by module path).

Flag files steer its fit from the test process: ``gate`` (wait until it exists), ``kill``
(SIGKILL the fitting process if it exists), ``fail`` (raise if it exists).
"""

from __future__ import annotations

import os
import signal
import time

from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge


class ProbeRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, gate: str = "", kill: str = "", fail: str = "") -> None:
        self.gate = gate
        self.kill = kill
        self.fail = fail

    def fit(self, X, y, sample_weight=None):  # noqa: ANN001, ANN201
        if self.kill and os.path.exists(self.kill):
            os.kill(os.getpid(), signal.SIGKILL)
        if self.fail and os.path.exists(self.fail):
            raise RuntimeError("probe: this fit fails on purpose")
        # a deadlock guard, not a timing check: a fit the test never releases ends the test
        give_up = time.monotonic() + 120.0
        while self.gate and not os.path.exists(self.gate):
            if time.monotonic() > give_up:
                raise TimeoutError(f"gate {self.gate} never opened")
            time.sleep(0.01)
        self.model_ = Ridge().fit(X, y, sample_weight=sample_weight)
        self.fit_pid_ = os.getpid()
        return self

    def predict(self, X):  # noqa: ANN001, ANN201
        return self.model_.predict(X)
