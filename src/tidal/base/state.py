"""State dicts: a learner's exact state as plain numpy arrays plus JSON, and their files.

A state dict::

    {"format": "tidal.state", "format_version": 1,
     "class": "tidal.linear_model.LogisticRegression", "class_version": 1,
     "tidal_version": "0.1.0",
     "params": {...JSON...},            # hyper-parameters, nested tidal objects encoded
     "fitted": {...JSON...} | None,     # feature names, labels, counters
     "state": {...arrays and JSON...} | None}

Files (``save_state`` / ``read_state``) are ``.npz`` archives read with ``allow_pickle=False``:
arrays are stored under their path in the nested dict, the rest as one JSON string. Only classes
from the ``tidal``, ``sklearn`` and ``lightgbm`` packages are rebuilt from a state dict, so loading
a snapshot never runs code named by the file.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from tidal.base.exceptions import StateError

__all__ = [
    "STATE_FORMAT_VERSION",
    "build_state",
    "check_state",
    "encode_params",
    "decode_params",
    "learner_from_state",
    "save_state",
    "read_state",
]

STATE_FORMAT_VERSION = 1
_TRUSTED_PACKAGES = ("tidal", "sklearn", "lightgbm")


def _class_path(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    module = cls.__module__
    # prefer the public re-export (tidal.linear_model rather than tidal.linear_model._logistic)
    public = ".".join(p for p in module.split(".") if not p.startswith("_"))
    try:
        if getattr(importlib.import_module(public), cls.__qualname__, None) is cls:
            module = public
    except ImportError:
        pass
    return f"{module}.{cls.__qualname__}"


def _import_class(path: str, base: type | None = None) -> type:
    """The estimator class ``path`` names, refusing anything else a file could name.

    Functions (``tidal.base.state.save_state``...) and non-estimator classes from the trusted
    packages are refused too: a state file must never call arbitrary code with its own arguments.
    """
    module, _, name = str(path).rpartition(".")
    if module.split(".")[0] not in _TRUSTED_PACKAGES:
        raise StateError(
            f"refusing to build {path!r} from a state dict: only classes from "
            f"{', '.join(_TRUSTED_PACKAGES)} are allowed"
        )
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise StateError(f"state names class {path!r}, which this release does not have") from e
    expected = base or _Estimator
    if not (isinstance(cls, type) and issubclass(cls, expected)):
        what = expected.__name__.lstrip("_")
        raise StateError(f"refusing to build {path!r} from a state dict: it is not a {what} class")
    return cls


class _EstimatorMeta(type):
    def __instancecheck__(cls, obj: Any) -> bool:
        return hasattr(obj, "get_params") and hasattr(obj, "set_params")

    def __subclasscheck__(cls, sub: type) -> bool:
        return hasattr(sub, "get_params") and hasattr(sub, "set_params")


class _Estimator(metaclass=_EstimatorMeta):
    """Anything with the scikit-learn ``get_params``/``set_params`` protocol."""


class _LearnerMeta(_EstimatorMeta):
    def __subclasscheck__(cls, sub: type) -> bool:
        return super().__subclasscheck__(sub) and all(
            hasattr(sub, a) for a in ("load_state", "_load_state", "_init_state", "_state_version")
        )


class _Learner(metaclass=_LearnerMeta):
    """A tidal learner: the estimator protocol plus the state hooks (checked by
    attribute, so that this module does not import :mod:`tidal.base.learner`, which imports it)."""


def encode_params(value: Any) -> Any:
    """Hyper-parameters as JSON: nested estimators become ``{"__class__": path, "params": ...}``.

    >>> encode_params({"l2": 0.1, "steps": (1, 2)})
    {'l2': 0.1, 'steps': [1, 2]}
    """
    if isinstance(value, dict):
        return {str(k): encode_params(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_params(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "get_params"):
        return {
            "__class__": _class_path(value),
            "params": encode_params(value.get_params(deep=False)),
        }
    raise StateError(f"cannot store parameter value {value!r} ({type(value).__name__}) as JSON")


def decode_params(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_params(v) for v in value]
    if isinstance(value, dict):
        if "__class__" in value:
            cls = _import_class(value["__class__"])
            return cls(**decode_params(value["params"]))
        if "__ndarray__" in value:
            return np.array(value["__ndarray__"])
        return {k: decode_params(v) for k, v in value.items()}
    return value


def build_state(learner: Any, fitted: dict | None, state: dict | None) -> dict[str, Any]:
    from tidal import __version__

    return {
        "format": "tidal.state",
        "format_version": STATE_FORMAT_VERSION,
        "class": _class_path(learner),
        "class_version": type(learner)._state_version,
        "tidal_version": __version__,
        "params": encode_params(learner.get_params(deep=False)),
        "fitted": fitted,
        "state": state,
    }


def check_state(learner: Any, state: Any) -> None:
    """Raise StateError with a clear message when ``state`` cannot be loaded into ``learner``
    (an instance or a class)."""
    cls = learner if isinstance(learner, type) else type(learner)
    if not isinstance(state, dict) or state.get("format") != "tidal.state":
        raise StateError("not a tidal state dict (missing 'format': 'tidal.state')")
    fv = state.get("format_version")
    if fv != STATE_FORMAT_VERSION:
        raise StateError(
            f"state format version {fv} is not supported: this release reads version "
            f"{STATE_FORMAT_VERSION} (written by tidal {state.get('tidal_version')})"
        )
    expected = _class_path(learner)
    if state.get("class") != expected:
        raise StateError(f"state is for {state.get('class')}, not {expected}")
    cv = state.get("class_version")
    if cv != cls._state_version:
        raise StateError(
            f"{expected} state version {cv} cannot be read by this release, which reads version "
            f"{cls._state_version} (snapshot written by tidal "
            f"{state.get('tidal_version')}); retrain or load it with that release"
        )


def learner_from_state(state: dict[str, Any]) -> Any:
    """Build the learner a state dict describes and restore its state."""
    if not isinstance(state, dict) or "class" not in state:
        raise StateError("not a tidal state dict (missing 'class')")
    cls = _import_class(state["class"], _Learner)
    check_state(cls, state)
    learner = cls(**decode_params(state["params"]))
    return learner.load_state(state)


def _split(obj: Any, prefix: str, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, dict):
        return {k: _split(v, f"{prefix}.{k}", arrays) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_split(v, f"{prefix}.{i}", arrays) for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _join(obj: Any, arrays: Any) -> Any:
    if isinstance(obj, dict):
        if set(obj) == {"__array__"}:
            return arrays[obj["__array__"]]
        return {k: _join(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_join(v, arrays) for v in obj]
    return obj


def save_state(state: dict[str, Any], path: str | Path) -> Path:
    """Write a state dict to an ``.npz`` file (no pickle inside). Returns the path.

    >>> import tempfile, os
    >>> p = save_state({"format": "tidal.state", "w": np.arange(3.0)},
    ...                os.path.join(tempfile.mkdtemp(), "m.npz"))
    >>> read_state(p)["w"]
    array([0., 1., 2.])
    """
    arrays: dict[str, np.ndarray] = {}
    meta = _split(state, "", arrays)
    for key, arr in arrays.items():
        if arr.dtype.hasobject:
            # it would be pickled, and read_state (allow_pickle=False) could not read it back
            raise StateError(
                f"cannot save an object array ({key}, shape {arr.shape}) in a state file: "
                "store numbers, or JSON values outside arrays"
            )
    path = Path(path)
    with open(path, "wb") as fh:
        np.savez(fh, __meta__=np.array(json.dumps(meta)), **arrays)
    return path


def read_state(path: str | Path) -> dict[str, Any]:
    """Read a file written by :func:`save_state`."""
    try:
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["__meta__"]))
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
    except (OSError, ValueError, KeyError) as e:
        raise StateError(f"{path}: not a tidal state file ({e})") from e
    return _join(meta, arrays)
