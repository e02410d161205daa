"""DriftWatch: feature drift you can act on — which feature, from when, how large.

Every ``step`` rows, the last ``window`` rows of each feature are compared with the ``window``
rows just before them (a reference that moves with the stream, so slow seasonal movement is
not reported again and again against data from years ago). A feature is reported only when
both hold:

- the change is significant after a Bonferroni correction over the features: the
  Kolmogorov-Smirnov p-value (chi-square for categories) is under ``alpha / n_features``, so on
  a stationary stream of independent rows at most ``alpha`` (1 %) of the checks flag any
  feature at all. Real streams are autocorrelated (rows an hour or a day apart look alike),
  which makes plain p-values far too small: the KS p-value uses the effective number of rows
  ``n (1 - r) / (1 + r)``, ``r`` the lag-1 autocorrelation of the reference window;
- the change is large enough to matter: the Wasserstein-1 distance is at least ``min_size``
  reference standard deviations (the current window's, when the reference was constant;
  PSI at least ``min_psi`` for categories).

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(6000, 3)); X[4000:, 1] += 2.0   # feature x1 moves by 2 SD
>>> w = DriftWatch(["x0", "x1", "x2"])
>>> w.update(X)
>>> [(e["feature"], e["row"], round(e["size"], 1)) for e in w.events]
[('x1', 4500, 1.1), ('x1', 5000, 2.0), ('x1', 5500, 0.7)]
>>> w.summary()["features"]["x1"]["first_row"], w.summary()["checks"]
(4500, 9)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tidal.base.validation import check_int, check_real
from tidal.monitor._stats import chi2_test, ks_test, psi, wasserstein


def _n_eff(x: np.ndarray) -> float:
    """Rows' worth of independent information in ``x`` (an AR(1) approximation)."""
    if len(x) < 3 or np.std(x) == 0:
        return float(len(x))
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant half: no correlation
        r = float(np.corrcoef(x[:-1], x[1:])[0, 1])
    r = min(max(r if np.isfinite(r) else 0.0, 0.0), 0.99)
    return len(x) * (1 - r) / (1 + r)


def _ks_p(a: np.ndarray, b: np.ndarray) -> float:
    """KS p-value of the two windows, with their effective sizes (autocorrelation)."""
    from scipy import stats

    d, _ = ks_test(a, b)
    m, n = sorted([max(2.0, _n_eff(a)), max(2.0, _n_eff(b))], reverse=True)
    return float(np.clip(stats.kstwo.sf(d, max(1, round(m * n / (m + n)))), 0, 1))


__all__ = ["DriftWatch"]


class DriftWatch:
    """Moving-reference feature-drift checks with a false-alarm bound (see the module docs).

    Parameters
    ----------
    feature_names
        The columns of the rows given to :meth:`update`.
    categorical
        Names of categorical columns (values are codes; NaN is missing).
    window, step
        Rows in each of the two compared windows; rows between checks (default window / 2).
    alpha
        Family-wise false-alarm rate of one check on a stationary stream (Bonferroni).
    min_size, min_psi
        Smallest change reported: Wasserstein in reference SDs, or PSI for categories.
    """

    def __init__(
        self,
        feature_names: Sequence[str],
        *,
        categorical: Sequence[str] = (),
        window: int = 1000,
        step: int | None = None,
        alpha: float = 0.01,
        min_size: float = 0.3,
        min_psi: float = 0.25,
    ):
        check_int("window", window, 20)
        step = window // 2 if step is None else step
        check_int("step", step, 1)
        check_real("alpha", alpha, 0.0, 1.0, "()")
        self.feature_names = list(feature_names)
        self.categorical = set(categorical)
        self.window, self.step, self.alpha = window, step, alpha
        self.min_size, self.min_psi = min_size, min_psi
        self._buf = np.full((2 * window, len(self.feature_names)), np.nan)
        self.n_seen = 0
        self.checks = 0
        self.events: list[dict[str, Any]] = []

    def update(self, X: np.ndarray) -> None:
        """Add rows (in stream order; NaN cells are left out of the tests)."""
        X = np.asarray(X, dtype=np.float64)
        a = 0
        while a < len(X):
            # cut at stream positions that are multiples of ``step``: checks do not depend
            # on how the rows were blocked
            k = self.step - self.n_seen % self.step
            self._push(X[a : a + k])
            a += k
            if self.n_seen % self.step == 0 and self.n_seen >= 2 * self.window:
                self._check(self.n_seen)

    def _push(self, part: np.ndarray) -> None:
        k = len(part)
        if k >= len(self._buf):
            self._buf[:] = part[-len(self._buf) :]
        else:
            self._buf[:-k] = self._buf[k:]
            self._buf[-k:] = part
        self.n_seen += k

    def _check(self, row: int) -> None:
        self.checks += 1
        ref, cur = self._buf[: self.window], self._buf[self.window :]
        level = self.alpha / max(1, len(self.feature_names))
        for j, name in enumerate(self.feature_names):
            a, b = ref[:, j], cur[:, j]
            a, b = a[~np.isnan(a)], b[~np.isnan(b)]
            if len(a) < 20 or len(b) < 20:
                continue
            if name in self.categorical:
                k = int(max(a.max(), b.max())) + 1
                ra = np.bincount(a.astype(np.intp), minlength=k)
                rb = np.bincount(b.astype(np.intp), minlength=k)
                _, p = chi2_test(ra, rb)
                size, test, enough = psi(ra, rb), "chi2", self.min_psi
            else:
                sd = float(np.std(a))
                if sd <= 1e-9 * max(1.0, abs(float(np.median(a)))):  # constant so far
                    sd = float(np.std(b)) or 1.0
                size = wasserstein(a, b) / sd
                test, enough = "ks", self.min_size
                # the KS p-value is most of a check's time: only a change large enough to be
                # reported needs it (on 581k x 54 rows, a quarter of compare's run)
                p = _ks_p(a, b) if size >= enough else 1.0
            if p < level and size >= enough:
                self.events.append(
                    {
                        "feature": name,
                        "row": row,
                        "since": row - self.window,
                        "test": test,
                        "p_value": float(p),
                        "size": float(size),
                    }
                )

    def summary(self) -> dict[str, Any]:
        """Checks made, the share that flagged a feature, and per feature: reports, first and
        last row flagged, largest size; plus every event (what ``compare --json`` keeps)."""
        feats: dict[str, dict[str, Any]] = {}
        for e in self.events:
            f = feats.setdefault(
                e["feature"], {"reports": 0, "first_row": e["row"], "max_size": 0.0}
            )
            f["reports"] += 1
            f["last_row"] = e["row"]
            f["max_size"] = max(f["max_size"], e["size"])
        flagged = len({e["row"] for e in self.events})
        return {
            "window": self.window,
            "step": self.step,
            "alpha": self.alpha,
            "min_size": self.min_size,
            "checks": self.checks,
            "flagged_checks": flagged,
            "features": feats,
            "events": list(self.events),
        }
