"""The drift-detector base: parameters, the scalar fast path, the one-call array form and state.

A detector is two flat float64 arrays, ``_p`` (parameters) and ``_s`` (state), and one compiled
``update(p, s, x) -> bool`` kernel from :mod:`tidal._kernels` (``s[0]`` holds the drift flag of
the last update, ``s[1]`` the warning flag). The arrays are built at the first update, so
``__init__`` only stores the parameters (scikit-learn's rule, which makes ``clone`` work).

Speed of ``update(x)``: a numba call from Python costs far more than most detectors' work, mostly
in unboxing array arguments and in type dispatch. So ``p`` and ``s`` are views of one buffer whose
address (an int) is passed, with ``x``, straight to the compiled entry point of
``drift_update_at``: about 70 ns per call instead of about 300 ns through the dispatcher.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np
from numba import config, types
from sklearn.base import BaseEstimator

from tidal._kernels.drift_many import drift_update_at, drift_update_many, drift_update_python
from tidal.base.exceptions import InputError, StateError

__all__ = ["DriftDetector", "WarningMixin", "detector_from_state"]

_INF = math.inf
_RUNTIME = ("_p", "_s", "_addr", "_drift", "_k")
_ENTRIES: dict[str, Any] = {}


def _compiled_entry(kernel: Any, *arg_types: Any) -> Any:
    """``kernel``'s compiled function for these argument types, called without numba's
    argument-type dispatch (which costs more than a one-value update)."""
    key = kernel.__name__
    if key not in _ENTRIES:
        sig = tuple(arg_types)
        kernel.compile(sig)
        try:
            _ENTRIES[key] = kernel.overloads[sig].entry_point
        except (AttributeError, KeyError):  # numba internals moved: the dispatcher still works
            _ENTRIES[key] = kernel
    return _ENTRIES[key]


def _scalar_entry() -> Any:
    if config.DISABLE_JIT:
        return drift_update_python
    return _compiled_entry(drift_update_at, types.int64, types.float64)


class DriftDetector(BaseEstimator):
    """Base of tidal's concept-drift detectors (not a Learner: it monitors one number a row).

    Subclasses set ``_kind`` (the kernel's number in :mod:`tidal._kernels.drift_many`), implement
    ``_check_params`` and ``_param_array``, and either set ``_state_size`` and ``_reset_state``
    or implement ``_new_state``.

    >>> from tidal.drift import PageHinkley
    >>> ph = PageHinkley(threshold=20.0)
    >>> ph.update(0.0).drift_detected
    False
    >>> ph.update_many([0.0] * 100 + [3.0] * 20)
    array([106])
    >>> ph.clone().get_params() == ph.get_params()
    True
    """

    _kind: ClassVar[int]
    #: bump when the layout of the state array changes; older snapshots are then refused clearly
    _state_version: ClassVar[int] = 1

    # ------------------------------------------------------------------ subclass hooks
    def _check_params(self) -> None:
        raise NotImplementedError

    def _param_array(self) -> np.ndarray:
        raise NotImplementedError

    #: for the fixed-size detectors: the state length and the kernel that (re)initialises it
    _state_size: ClassVar[int]
    _reset_state: ClassVar[Any]

    def _new_state(self, p: np.ndarray) -> np.ndarray:
        s = np.zeros(self._state_size, dtype=np.float64)
        type(self)._reset_state(s)
        return s

    def _restore_params(self, saved: np.ndarray) -> np.ndarray:
        """The parameter array to use with a saved state (recomputed from the parameters)."""
        return self._param_array()

    # ------------------------------------------------------------------ machinery
    def _start(self) -> None:
        self._check_params()
        p = self._param_array()
        self._bind(p, self._new_state(p))

    def _bind(self, p: np.ndarray, s: np.ndarray) -> None:
        """Keep ``p`` and ``s`` as views of one buffer ``[kind, len(p), len(buf), p, s]``, whose
        address the one-value path passes to the kernel."""
        buf = np.concatenate([[self._kind, p.shape[0], 3 + p.shape[0] + s.shape[0]], p, s])
        self._buf = buf
        self._p = buf[3 : 3 + p.shape[0]]
        self._s = buf[3 + p.shape[0] :]
        # with NUMBA_DISABLE_JIT=1 the one-value kernel is given the detector, not an address
        self._addr = self if config.DISABLE_JIT else buf.ctypes.data
        self._drift = bool(self._s[0] != 0.0)
        self._k = _scalar_entry()

    def _started(self) -> bool:
        return "_buf" in self.__dict__

    def update(self, x: float) -> DriftDetector:
        """Update the detector with one value (an error bit for the binary detectors).

        Returns ``self``; read :attr:`drift_detected` afterwards.
        """
        try:
            code = self._k(self._addr, x)
        except AttributeError:
            self._start()
            return self.update(x)
        except TypeError:
            code = 2
        if code:
            if code > 1:
                self._reject(x)
            self._drift = True
        else:
            self._drift = False
        return self

    def _reject(self, x: Any) -> None:
        try:
            float(x)
        except (TypeError, ValueError):
            raise InputError(
                f"{type(self).__name__}.update: x == {x!r}, expected a number", row=0
            ) from None
        raise InputError(
            f"{type(self).__name__}.update: x == {x!r}, expected a finite number", row=0
        )

    def update_many(self, xs: Any, return_warnings: bool = False) -> Any:
        """Update with every value of ``xs`` in order, in one compiled call.

        Returns the 0-based positions in ``xs`` of the rows after which :attr:`drift_detected`
        was True, as an int64 array; with ``return_warnings=True``, the pair ``(alarms,
        warnings)`` where ``warnings`` holds the positions after which ``warning_detected`` was
        True (always empty for detectors without a warning zone). The result is exactly what
        calling :meth:`update` on each value would give. ``xs`` is checked before any state
        changes: a NaN or infinite value raises :class:`~tidal.base.InputError` naming its
        position.
        """
        arr = self._check_values(xs)
        if not self._started():
            self._start()
        n = arr.shape[0]
        alarms = np.empty(n, dtype=np.int64)
        warns = np.empty(n, dtype=np.int64)
        na, nw = drift_update_many(self._kind, self._p, self._s, arr, alarms, warns)
        self._drift = bool(self._s[0] != 0.0)
        if return_warnings:
            return alarms[:na].copy(), warns[:nw].copy()
        return alarms[:na].copy()

    def _check_values(self, xs: Any) -> np.ndarray:
        name = type(self).__name__
        try:
            arr = np.ascontiguousarray(xs, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InputError(f"{name}.update_many: expected a 1-D sequence of numbers ({e})") from e
        if arr.ndim != 1:
            raise InputError(
                f"{name}.update_many: expected a 1-D sequence of numbers, got shape {arr.shape}"
            )
        bad = ~np.isfinite(arr)
        if bad.any():
            i = int(np.argmax(bad))
            raise InputError(
                f"{name}.update_many: xs[{i}] == {arr[i]}, expected a finite number", row=i
            )
        return arr

    @property
    def drift_detected(self) -> bool:
        """Whether the last update signalled a drift (the detector restarts at the next one)."""
        try:
            return self._drift
        except AttributeError:
            return False

    def reset(self) -> DriftDetector:
        """Forget everything seen (the parameters stay). Returns ``self``."""
        for k in _RUNTIME + ("_buf",):
            self.__dict__.pop(k, None)
        return self

    def clone(self) -> DriftDetector:
        """A fresh copy with the same parameters."""
        from sklearn.base import clone

        return clone(self)

    def set_params(self, **params: Any) -> DriftDetector:
        """Set parameters (scikit-learn's rule); the detector restarts from scratch."""
        super().set_params(**params)
        return self.reset()

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The exact state as plain arrays and JSON (see :mod:`tidal.base.state`)."""
        from tidal.base.state import build_state

        if not self._started():
            return build_state(self, None, None)
        return build_state(self, {}, {"p": self._p.copy(), "s": self._s.copy()})

    def load_state(self, state: dict[str, Any]) -> DriftDetector:
        """Restore a :meth:`state_dict` (parameters included). Returns ``self``."""
        from tidal.base.state import check_state, decode_params

        check_state(self, state)
        self.set_params(**decode_params(state["params"]))
        if state.get("state") is None:
            return self
        self._check_params()
        saved = state["state"]
        try:
            p = self._restore_params(np.asarray(saved["p"], dtype=np.float64))
            s = np.array(saved["s"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as e:
            raise StateError(f"{type(self).__name__} state is malformed ({e})") from e
        expected = self._new_state(p).shape
        if s.shape != expected:
            raise StateError(
                f"{type(self).__name__} state array has shape {s.shape}, expected {expected} "
                "for these parameters"
            )
        self._bind(p, s)
        return self

    def __getstate__(self) -> dict[str, Any]:
        # views, the address and the compiled entry point are rebuilt from the buffer
        return {k: v for k, v in self.__dict__.items() if k not in _RUNTIME}

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__dict__.update(d)
        if "_buf" in d:
            buf = self.__dict__.pop("_buf")
            n = 3 + int(buf[1])
            self._bind(buf[3:n], buf[n:])

    def __deepcopy__(self, memo: dict) -> DriftDetector:
        new = type(self).__new__(type(self))
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        return new


class WarningMixin:
    """For detectors with a warning zone (DDM, EDDM, HDDM_A, HDDM_W).

    >>> from tidal.drift import DDM
    >>> ddm = DDM()
    >>> ddm.warning_detected
    False
    >>> ddm.update_many([0, 0, 0, 1] * 100 + [1] * 11)
    array([], dtype=int64)
    >>> ddm.warning_detected, ddm.drift_detected
    (True, False)
    """

    @property
    def warning_detected(self) -> bool:
        """Whether the last update put the detector in its warning zone."""
        s = self.__dict__.get("_s")
        return s is not None and bool(s[1] != 0.0)


def detector_from_state(state: dict[str, Any]) -> DriftDetector:
    """Build the drift detector a :meth:`DriftDetector.state_dict` describes, state included.

    Only :class:`DriftDetector` subclasses from tidal are built, so a state file never runs
    code it names.

    >>> from tidal.drift import DDM, detector_from_state
    >>> ddm = DDM().update(1)
    >>> detector_from_state(ddm.state_dict()).get_params() == ddm.get_params()
    True
    """
    from tidal.base.state import _import_class, check_state, decode_params

    if not isinstance(state, dict) or "class" not in state:
        raise StateError("not a tidal state dict (missing 'class')")
    cls = _import_class(state["class"], DriftDetector)
    check_state(cls, state)
    return cls(**decode_params(state["params"])).load_state(state)
