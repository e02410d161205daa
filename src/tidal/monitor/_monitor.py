"""FeatureDriftMonitor: per-feature tests between a reference window and a sliding window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tidal.base import (
    InputError,
    NotFittedError,
    ParameterError,
    SchemaMismatchError,
    StateError,
    read_columns,
    store_params,
)
from tidal.base.validation import check_int, check_real
from tidal.monitor._stats import bin_counts, chi2_test, ks_test, psi, quantile_edges, wasserstein

__all__ = ["DriftReport", "FeatureDriftMonitor"]

NUMERIC_TESTS = ("psi", "ks", "wasserstein")
CATEGORICAL_TESTS = ("chi2", "psi")
STATE_FORMAT = "tidal.feature_drift_monitor"
STATE_FORMAT_VERSION = 1


class DriftReport(list):
    """Rows ``{feature, kind, test, score, p_value, drifted, n_reference, n_current}``.

    >>> r = DriftReport([{"feature": "x", "test": "ks", "drifted": True}])
    >>> r.drifted_features, list(r.to_pandas().columns)
    (['x'], ['feature', 'test', 'drifted'])
    """

    @property
    def drifted_features(self) -> list[str]:
        """Features with at least one test that says drifted, in report order."""
        out: list[str] = []
        for row in self:
            if row["drifted"] and row["feature"] not in out:
                out.append(row["feature"])
        return out

    def to_pandas(self) -> Any:
        """The report as a pandas DataFrame, one row per (feature, test)."""
        import pandas as pd

        return pd.DataFrame(list(self))


class FeatureDriftMonitor:
    """Compares each feature's current window with a reference window.

    The first ``reference_size`` rows form the reference; after them, the last ``window_size``
    rows form the current (sliding) window. Numeric features: PSI over ``n_bins`` quantile bins
    fixed from the reference (drifted when > ``psi_threshold``), Kolmogorov–Smirnov (p-value <
    ``alpha``) and Wasserstein-1 (drifted when larger than ``wasserstein_threshold`` times the
    reference's standard deviation). Categorical features: chi-square (p-value < ``alpha``) and
    PSI over the categories. Missing values (NaN/None) are left out of every test.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mon = FeatureDriftMonitor(reference_size=500, window_size=500)
    >>> mon.update_many({"a": rng.normal(size=1000), "b": rng.choice(["u", "v"], 1000)})
    >>> mon.update_many({"a": rng.normal(3.0, 1.0, 500), "b": rng.choice(["u", "v"], 500)})
    >>> mon.report().drifted_features
    ['a']
    >>> mon.report().to_pandas()[["feature", "test", "drifted"]].values.tolist()[:3]
    [['a', 'psi', True], ['a', 'ks', True], ['a', 'wasserstein', True]]
    """

    def __init__(
        self,
        reference_size: int = 1000,
        window_size: int = 1000,
        *,
        n_bins: int = 10,
        alpha: float = 0.01,
        psi_threshold: float = 0.2,
        wasserstein_threshold: float = 0.25,
        categorical: Sequence[str] | None = None,
    ):
        store_params(self, locals())
        self._check_params()
        self.reset()

    def _check_params(self) -> None:
        for key in ("reference_size", "window_size"):
            check_int(key, getattr(self, key), 2)
        check_int("n_bins", self.n_bins, 2)
        check_real("alpha", self.alpha, 0.0, 1.0, "()")
        for key in ("psi_threshold", "wasserstein_threshold"):
            check_real(key, getattr(self, key), 0.0, closed="(]")

    def reset(self) -> None:
        """Forget everything (the next rows start a new reference)."""
        self.feature_names: tuple[str, ...] | None = None
        self.kinds: dict[str, str] = {}
        self._codes: dict[str, dict[Any, int]] = {}
        self._ref = np.empty((0, 0))
        self._win = np.empty((0, 0))
        self._n_ref = 0
        self._n_win = 0
        self._pos = 0
        self.n_seen = 0

    def _start(self, names: tuple[str, ...], kinds: dict[str, str]) -> None:
        self.feature_names = names
        self.kinds = kinds
        self._codes = {n: {} for n, k in kinds.items() if k == "categorical"}
        self._ref = np.full((self.reference_size, len(names)), np.nan)
        self._win = np.full((self.window_size, len(names)), np.nan)

    def _matrix(self, data: Any) -> np.ndarray:
        cols = read_columns(data)
        names = tuple(cols.names)
        if self.feature_names is None:
            forced = set(self.categorical or ())
            unknown = sorted(forced - set(names))
            if unknown:
                raise ParameterError(
                    f"categorical: {unknown} are not features; features: {list(names)}"
                )
            kinds = {}
            for j, name in enumerate(names):
                col = cols.column(j)
                numeric = col.dtype.kind in "fiub" and name not in forced
                kinds[name] = "numeric" if numeric else "categorical"
            self._start(names, kinds)
        elif set(names) != set(self.feature_names):
            raise SchemaMismatchError(
                f"features {sorted(names)} differ from the monitor's {sorted(self.feature_names)}"
            )
        assert self.feature_names is not None
        pos = {n: j for j, n in enumerate(names)}
        M = np.empty((cols.n_rows, len(self.feature_names)))
        for k, name in enumerate(self.feature_names):
            col = cols.column(pos[name])
            if self.kinds[name] == "numeric":
                try:
                    M[:, k] = np.asarray(col, dtype=np.float64)
                except (TypeError, ValueError):
                    raise InputError(
                        f"feature {name!r} is numeric but got non-numbers", column=name
                    ) from None
            else:
                table = self._codes[name]
                M[:, k] = [
                    np.nan
                    if v is None or (isinstance(v, float) and v != v)
                    else table.setdefault(v, len(table))
                    for v in col.tolist()
                ]
        return M

    def update_many(self, data: Any) -> None:
        """Add a block (a Block, a DataFrame, a 2-D array, a dict of columns or records)."""
        M = self._matrix(data)
        i = 0
        if self._n_ref < self.reference_size:
            take = min(self.reference_size - self._n_ref, len(M))
            self._ref[self._n_ref : self._n_ref + take] = M[:take]
            self._n_ref += take
            i = take
        rest = M[i:]
        if len(rest) >= self.window_size:
            rest = rest[-self.window_size :]
        # ring buffer: the write wraps around at most once since len(rest) <= window_size
        k = len(rest)
        first = min(k, self.window_size - self._pos)
        self._win[self._pos : self._pos + first] = rest[:first]
        self._win[: k - first] = rest[first:]
        self._pos = (self._pos + k) % self.window_size
        self._n_win = min(self._n_win + k, self.window_size)
        self.n_seen += len(M)

    # ------------------------------------------------------------------ state
    def _settings(self) -> dict[str, Any]:
        # categorical=None and categorical=[] force nothing: they are the same setting
        return {
            "reference_size": int(self.reference_size),
            "window_size": int(self.window_size),
            "n_bins": int(self.n_bins),
            "alpha": float(self.alpha),
            "psi_threshold": float(self.psi_threshold),
            "wasserstein_threshold": float(self.wasserstein_threshold),
            "categorical": sorted(str(c) for c in self.categorical or ()),
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything the monitor learned, as numpy arrays and JSON values (a copy).

        ``load_state`` on a monitor with the same settings gives the same :meth:`report` and
        the same reports after any further rows; ``tidal.base.save_state`` writes it to a file.

        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> mon = FeatureDriftMonitor(reference_size=100, window_size=50)
        >>> mon.update_many({"a": rng.normal(size=130), "b": rng.choice(["u", "v"], 130)})
        >>> twin = FeatureDriftMonitor(reference_size=100, window_size=50)
        >>> twin.load_state(mon.state_dict()).report() == mon.report()
        True
        >>> more = {"a": rng.normal(2.0, 1.0, 40), "b": rng.choice(["v", "w"], 40)}
        >>> mon.update_many(more); twin.update_many(more)
        >>> twin.report() == mon.report(), twin.report().drifted_features
        (True, ['a', 'b'])
        >>> FeatureDriftMonitor(reference_size=200, window_size=50).load_state(mon.state_dict())
        Traceback (most recent call last):
        ...
        tidal.base.exceptions.StateError: ...(reference_size == 100 in the state, 200 here)...
        """
        categories: dict[str, list[Any]] = {}
        for name, table in self._codes.items():
            values = []
            for v in table:  # insertion order is code order: codes are given 0, 1, ... as met
                v = v.item() if isinstance(v, np.generic) else v
                if not isinstance(v, str | int | float):
                    raise StateError(
                        f"feature {name!r}: category {v!r} ({type(v).__name__}) cannot be "
                        "stored in a state; expected str, int, float or bool categories"
                    )
                values.append(v)
            categories[name] = values
        return {
            "format": STATE_FORMAT,
            "format_version": STATE_FORMAT_VERSION,
            "settings": self._settings(),
            "feature_names": list(self.feature_names) if self.feature_names is not None else None,
            "kinds": dict(self.kinds),
            "categories": categories,
            "reference": self._ref.copy(),
            "window": self._win.copy(),
            "n_reference": int(self._n_ref),
            "n_window": int(self._n_win),
            "pos": int(self._pos),
            "n_seen": int(self.n_seen),
        }

    def load_state(self, state: dict[str, Any]) -> FeatureDriftMonitor:
        """Restore :meth:`state_dict` output into this monitor (same settings); returns self.

        A state from a monitor with other settings, or with other features than the rows this
        monitor has already seen, raises :class:`tidal.base.StateError` and changes nothing.
        """
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            got = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise StateError(
                f"not a feature-drift monitor state: expected format {STATE_FORMAT!r}, got {got!r}"
            )
        if state.get("format_version") != STATE_FORMAT_VERSION:
            raise StateError(
                f"feature-drift monitor state version {state.get('format_version')!r} is not "
                f"supported: this release reads version {STATE_FORMAT_VERSION}"
            )
        saved, mine = state.get("settings") or {}, self._settings()
        differ = [k for k in mine if saved.get(k) != mine[k]]
        if differ:
            what = ", ".join(
                f"{k} == {saved.get(k)!r} in the state, {mine[k]!r} here" for k in differ
            )
            raise StateError(
                f"the state was saved by a FeatureDriftMonitor with other settings ({what}); "
                "build the monitor with the state's settings, or start a fresh one"
            )
        try:
            restored = self._read_state(state)
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, StateError):
                raise
            raise StateError(
                f"malformed feature-drift monitor state ({type(e).__name__}: {e})"
            ) from e
        names = restored[0]
        if self.feature_names is not None and (
            names is None or set(names) != set(self.feature_names)
        ):
            raise StateError(
                f"the state's features {sorted(names or ())} differ from the features "
                f"{sorted(self.feature_names)} this monitor has seen"
            )
        (
            self.feature_names,
            self.kinds,
            self._codes,
            self._ref,
            self._win,
            self._n_ref,
            self._n_win,
            self._pos,
            self.n_seen,
        ) = restored
        return self

    def _read_state(self, state: dict[str, Any]) -> tuple:
        """The state's parts, checked against each other and this monitor's sizes."""
        raw = state["feature_names"]
        names = tuple(str(n) for n in raw) if raw is not None else None
        p = len(names) if names is not None else 0
        kinds = {str(k): str(v) for k, v in state["kinds"].items()}
        if set(kinds) != set(names or ()) or not set(kinds.values()) <= {"numeric", "categorical"}:
            raise StateError(f"state kinds {kinds} do not match its features {list(names or ())}")
        cats = {str(k): list(v) for k, v in state["categories"].items()}
        if set(cats) != {n for n, k in kinds.items() if k == "categorical"}:
            raise StateError(
                f"state categories for {sorted(cats)} do not match its categorical features"
            )
        codes = {n: {v: i for i, v in enumerate(values)} for n, values in cats.items()}
        ref = np.array(state["reference"], dtype=np.float64)
        win = np.array(state["window"], dtype=np.float64)
        shapes = (
            ((0, 0), (0, 0))
            if names is None
            else (
                (self.reference_size, p),
                (self.window_size, p),
            )
        )
        if (ref.shape, win.shape) != shapes:
            raise StateError(
                f"state windows have shapes {ref.shape} and {win.shape}, expected "
                f"{shapes[0]} and {shapes[1]}"
            )
        n_ref, n_win, pos, n_seen = (
            int(state[k]) for k in ("n_reference", "n_window", "pos", "n_seen")
        )
        ok = (
            0 <= n_ref <= self.reference_size
            and 0 <= n_win <= self.window_size
            and 0 <= pos < self.window_size
            and (n_win == 0 or n_ref == self.reference_size)
            and n_seen >= n_ref + n_win
        )
        if not ok:
            raise StateError(
                f"state counters are inconsistent: n_reference={n_ref}, n_window={n_win}, "
                f"pos={pos}, n_seen={n_seen} for reference_size={self.reference_size}, "
                f"window_size={self.window_size}"
            )
        return names, kinds, codes, ref, win, n_ref, n_win, pos, n_seen

    def update_one(self, x: dict[str, Any]) -> None:
        """Add one row (a dict feature -> value)."""
        self.update_many([x])

    def report(self) -> DriftReport:
        """One row per (feature, test) comparing the current window with the reference."""
        if self.feature_names is None or self._n_ref < self.reference_size or self._n_win == 0:
            raise NotFittedError(
                f"This FeatureDriftMonitor has {self._n_ref} reference rows of "
                f"{self.reference_size} and {self._n_win} current rows; "
                "call update_many with more rows first"
            )
        ref, win = self._ref, self._win[: self._n_win]
        rows = DriftReport()
        for j, name in enumerate(self.feature_names):
            a = ref[:, j][~np.isnan(ref[:, j])]
            b = win[:, j][~np.isnan(win[:, j])]
            kind = self.kinds[name]
            base = {"feature": name, "kind": kind}
            if len(a) == 0 or len(b) == 0:
                continue
            if kind == "numeric":
                rows.extend(self._numeric(base, a, b))
            else:
                rows.extend(self._categorical(base, a, b, len(self._codes[name])))
        return rows

    def _row(
        self,
        base: dict,
        test: str,
        score: float,
        p: float | None,
        drifted: bool,
        n_ref: int,
        n_cur: int,
    ) -> dict[str, Any]:
        return {
            **base,
            "test": test,
            "score": score,
            "p_value": p,
            "drifted": bool(drifted),
            "n_reference": n_ref,
            "n_current": n_cur,
        }

    def _numeric(self, base: dict, a: np.ndarray, b: np.ndarray) -> list[dict[str, Any]]:
        edges = quantile_edges(a, self.n_bins)
        p_score = psi(bin_counts(a, edges), bin_counts(b, edges))
        d, p = ks_test(a, b)
        w = wasserstein(a, b)
        std = float(np.std(a))
        w_drift = w > self.wasserstein_threshold * std if std > 0 else w > 0
        na, nb = len(a), len(b)
        return [
            self._row(base, "psi", p_score, None, p_score > self.psi_threshold, na, nb),
            self._row(base, "ks", d, p, p < self.alpha, na, nb),
            self._row(base, "wasserstein", w, None, w_drift, na, nb),
        ]

    def _categorical(
        self, base: dict, a: np.ndarray, b: np.ndarray, k: int
    ) -> list[dict[str, Any]]:
        ra = np.bincount(a.astype(np.intp), minlength=k)
        cb = np.bincount(b.astype(np.intp), minlength=k)
        stat, p = chi2_test(ra, cb)
        p_score = psi(ra, cb)
        na, nb = len(a), len(b)
        return [
            self._row(base, "chi2", stat, p, p < self.alpha, na, nb),
            self._row(base, "psi", p_score, None, p_score > self.psi_threshold, na, nb),
        ]
