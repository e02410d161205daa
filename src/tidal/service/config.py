"""Service configuration: a dataclass read from ``tidal.toml``, then ``TIDAL_*``, then flags.

``tidal.toml``::

    [service]
    data = "./.tidal"          # everything lives here: logs, snapshots, the lock file
    host = "127.0.0.1"
    port = 8000
    snapshot_every = 10000     # events between snapshots ...
    snapshot_seconds = 60.0    # ... or seconds, whichever comes first
    max_body_bytes = 8388608   # 413 above this
    max_rows = 10000           # rows (or items) per request
    pending_max = 100000       # predictions kept for delayed labels (retention bound) ...
    pending_ttl = 3600.0       # ... and their age limit in seconds
    learned_ids_max = 100000   # event ids (and labelled prediction ids) kept to answer retries ...
    learned_ids_ttl = 604800.0 # ... for at most this many seconds (the retry window)
    durable_reads = true       # a prediction waits until the events it saw are on disk
    auth = true                # bearer tokens with roles (off only for local experiments)
    db = "postgresql://user@host/tidal"   # the registry (default: <data>/registry.sqlite)
    gate_margin = 0.0          # promotion: the challenger must beat the champion by this ...
    gate_min_events = 100      # ... on at least this many of ...
    gate_last_n = 1000         # ... the last N labelled events
    gate_metric = "accuracy"   # default metric of the gate: accuracy, mae or rmse
    shadows = { churn = { challenger = "pa" } }   # challengers fed the same predict traffic
    shadow_window = 1000       # labelled events in a shadow's rolling metric
    freeze_floor = 0.7         # pause learning when rolling accuracy falls below (0: never)
    freeze_min_events = 100    # ... once this many labelled predictions are in the window
    guards = { price = "price.schema.json" }   # a tidal.guards Schema per guarded model ...
    drift_reference = 1000     # ... whose learned rows feed a feature-drift monitor
    drift_window = 1000
    quarantine_max_rows = 100000   # rows kept in <data>/quarantine.sqlite (oldest purged)
    refit = "process"          # batch models refit in a worker process ("ray": a Ray task;
                               # "thread": in this process, the learn waiting for the fit)
    ray = ""                   # a Ray cluster ("auto", "host:port"; "local" starts one)
    key = "store"              # a model per value of this column, over `shards` shards
    shards = 2                 # (Ray actors with `ray`, else in this process)

    [models]
    default = "lr"                                   # a zoo name (see ``tidal.zoo``)
    price = "linreg:l2=0.01"                         # with parameters
    churn = { class = "tidal.linear_model.LogisticRegression", params = { l2 = 0.001 } }
    risk = { class = "tidal.linear_model.LogisticRegression", schema = "risk.schema.json" }

A model table's ``schema`` (a :class:`tidal.guards.Schema` JSON file, relative to the config
file) puts guards in front of its learning, like ``guards`` does (see
:mod:`tidal.service.guarding`).

Every ``[service]`` key ``k`` can be overridden by the environment variable ``TIDAL_K``
(``TIDAL_PORT=9000``) and by ``overrides`` (the command line's flags). ``TIDAL_MODELS`` replaces
the model set: ``name=spec;name=spec``.

``auth`` is on for ``tidal serve`` (it loads with :data:`SERVE_DEFAULTS`); a
:class:`ServiceConfig` built directly, or ``python -m tidal.service``, has it off unless asked.

With no ``[models]`` at all the service starts with :data:`DEFAULT_MODELS`: ``default``, a
standard scaler feeding a logistic regression (binary labels), and ``regression``, a standard
scaler feeding a linear regression.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tidal.base import TidalError

__all__ = [
    "DEFAULT_MODELS",
    "MODEL_NAME_PATTERN",
    "SERVE_DEFAULTS",
    "ConfigError",
    "ServiceConfig",
    "build_model",
    "load_config",
]

#: model names: they become folder names, so no separators, dots first, or anything exotic
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
DEFAULT_MODELS: dict[str, Any] = {"default": "lr", "regression": "linreg"}
#: what ``tidal serve`` starts from, below the config file: bearer tokens required
SERVE_DEFAULTS: dict[str, Any] = {"auth": True}


class ConfigError(TidalError, ValueError):
    """A configuration value that cannot be used; the message names the key and its source.

    >>> load_config(env={"TIDAL_PORT": "http"})
    Traceback (most recent call last):
    ...
    tidal.service.config.ConfigError: environment variable TIDAL_PORT: port must be an int...
    """


@dataclass
class ServiceConfig:
    """Everything ``tidal serve`` needs. See the module docstring for the file format.

    >>> cfg = ServiceConfig(data="/tmp/x", models={"m": "mean"})
    >>> cfg.port, cfg.workers, sorted(cfg.models)
    (8000, 1, ['m'])
    """

    data: Path = Path(".tidal")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    models: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_MODELS))
    snapshot_every: int = 10_000
    snapshot_seconds: float = 60.0
    snapshots_kept: int = 2
    wal_segment_bytes: int = 64 << 20
    max_body_bytes: int = 8 << 20
    max_rows: int = 10_000
    pending_max: int = 100_000
    pending_ttl: float = 3600.0
    learned_ids_max: int = 100_000  # event / prediction ids kept to answer retries ...
    learned_ids_ttl: float = 7 * 86400.0  # ... and for how long (seconds)
    durable_reads: bool = True
    log_level: str = "warning"
    auth: bool = False
    db: str = ""
    gate_metric: str = "accuracy"
    gate_margin: float = 0.0
    gate_min_events: int = 100
    gate_last_n: int = 1000
    #: challengers that shadow a model: {model: {key: spec}} (registry shadows join them)
    shadows: dict[str, dict[str, Any]] = field(default_factory=dict)
    shadow_window: int = 1000  # labelled events in a shadow's rolling metric
    #: freeze an online classifier when its rolling accuracy (last shadow_window labels of
    #: its own predictions, once freeze_min_events are in) falls below this; 0: never. A
    #: freeze is kept in <data>/frozen/ and survives restarts until an unfreeze or an install
    freeze_floor: float = 0.0
    freeze_min_events: int = 100
    #: guarded models: {model: schema JSON path}; a model table's ``schema`` key adds to it
    guards: dict[str, str] = field(default_factory=dict)
    drift_reference: int = 1000  # rows in a guarded model's drift reference window ...
    drift_window: int = 1000  # ... and in its sliding current window
    quarantine_max_rows: int = 100_000
    #: start even though events are lost (``tidal serve --accept-loss``): damaged files move
    #: to <data>/damaged/, the loss goes to the audit log (see tidal.service.recovery)
    accept_loss: bool = False
    #: where batch models refit: "process", "ray" or "thread" (see tidal.service.refit)
    refit: str = "process"
    #: a Ray cluster address ("auto", "host:port", "local"): refits go there as tasks
    ray: str = ""
    #: serve every model keyed: one model per value of this column (tidal.service.keyed)
    key: str = ""
    #: shards of a keyed model (Ray actors when ``ray`` is set), and CPUs Ray gives each
    shards: int = 2
    shard_cpus: float = 1.0

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        self.guards = dict(self.guards)
        for name, spec in self.models.items():
            if isinstance(spec, Mapping) and spec.get("schema"):
                self.guards.setdefault(name, str(spec["schema"]))
        for name in self.guards:
            if name not in self.models:
                raise ConfigError(f"guards: {name!r} is not a served model: {sorted(self.models)}")
        for name in self.models:
            if not re.match(MODEL_NAME_PATTERN, str(name)):
                raise ConfigError(
                    f"model name {name!r} is not allowed: use 1-64 letters, digits, '_' or '-', "
                    "starting with a letter or digit"
                )
        for name in self.shadows:
            if name not in self.models:
                raise ConfigError(f"shadows: {name!r} is not a served model: {sorted(self.models)}")
        if self.refit not in ("process", "ray", "thread"):
            raise ConfigError(f"refit == {self.refit!r}, expected 'process', 'ray' or 'thread'")
        if self.key and self.guards:
            raise ConfigError(f"guards {sorted(self.guards)}: not offered for keyed models (key)")
        if self.snapshots_kept < 2:
            raise ConfigError(
                f"snapshots_kept == {self.snapshots_kept}, must be >= 2: if the newest snapshot "
                "is damaged, the one before it and the log recover the model"
            )
        for key in (
            "port",
            "snapshot_every",
            "max_body_bytes",
            "max_rows",
            "pending_max",
            "shadow_window",
            "quarantine_max_rows",
            "shards",
        ):
            if getattr(self, key) < 1 and key != "port":
                raise ConfigError(f"{key} == {getattr(self, key)}, must be >= 1")


_FIELDS = {f.name: f for f in dataclasses.fields(ServiceConfig)}
_KIND = {int: "an int", float: "a number", str: "a string", bool: "true or false"}


def _coerce(key: str, value: Any, source: str) -> Any:
    if key not in _FIELDS:
        raise ConfigError(f"{source}: unknown setting {key!r}; known: {', '.join(sorted(_FIELDS))}")
    default = _FIELDS[key].default
    if key == "models":
        if isinstance(value, str):
            return _read(value, _pairs, f"{source}: models must look like 'name=spec;name=spec'")
        return dict(value)
    if key == "data":
        return Path(value)
    if key == "guards":
        return _read(
            value,
            lambda v: (
                _pairs(v) if isinstance(v, str) else {str(k): str(p) for k, p in dict(v).items()}
            ),
            f'{source}: guards must be a table {{model = "schema.json"}} or '
            "'name=path;name=path'",
        )
    if key == "shadows":
        return _read(
            value,
            lambda v: {str(k): dict(p) for k, p in dict(v).items()},
            f"{source}: shadows must be a table {{model = {{key = spec}}}} (set it in tidal.toml)",
        )
    if isinstance(default, bool):
        return str(value).lower() in ("1", "true", "yes", "on")
    return _read(value, type(default), f"{source}: {key} must be {_KIND[type(default)]}")


def _read(value: Any, read: Callable[[Any], Any], expected: str) -> Any:
    """``read(value)``; a TypeError or ValueError becomes a ConfigError: ``expected``, got what."""
    try:
        return read(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{expected}, got {value!r}") from None


def _pairs(text: str) -> dict[str, str]:
    """``'name=value;name=value'`` as a dict (ValueError when an entry has no ``=``)."""
    pairs = [p.split("=", 1) for p in text.split(";") if p.strip()]
    return {k.strip(): v.strip() for k, v in pairs}


def load_config(
    path: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> ServiceConfig:
    """The configuration from ``defaults``, then ``path`` (TOML; optional), then ``env``, then
    ``overrides``. ``tidal serve`` passes :data:`SERVE_DEFAULTS` (auth on).

    >>> load_config(env={"TIDAL_PORT": "9001"}, overrides={"data": "/tmp/d"}).port
    9001
    """
    values: dict[str, Any] = dict(defaults or {})
    if path is not None:
        p = Path(path)
        try:
            doc = tomllib.loads(p.read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {p} does not exist") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p}: not valid TOML: {e}") from None
        for k, v in doc.get("service", {}).items():
            values[k] = _coerce(k, v, f"{p} [service]")
        if "models" in doc:
            values["models"] = _coerce("models", doc["models"], f"{p} [models]")
            for name, spec in values["models"].items():  # schema paths: relative to the file
                if isinstance(spec, Mapping) and isinstance(spec.get("schema"), str):
                    values["models"][name] = {**spec, "schema": str(p.parent / spec["schema"])}
        if isinstance(values.get("guards"), dict):
            values["guards"] = {k: str(p.parent / v) for k, v in values["guards"].items()}
        unknown = set(doc) - {"service", "models"}
        if unknown:
            raise ConfigError(
                f"{p}: unknown tables {sorted(unknown)}; expected [service], [models]"
            )
    env = os.environ if env is None else env
    for k, v in env.items():
        if k.startswith("TIDAL_") and k[6:].lower() in _FIELDS:
            values[k[6:].lower()] = _coerce(k[6:].lower(), v, f"environment variable {k}")
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = _coerce(k, v, f"option --{k.replace('_', '-')}")
    return ServiceConfig(**values)


def build_model(name: str, spec: Any) -> Any:
    """A fresh learner from a model spec: a zoo string (``"lr:l2=0.01"``) or a table
    ``{"class": "tidal.linear_model.LogisticRegression", "params": {...}}``.

    >>> type(build_model("m", {"class": "tidal.dummy.RunningMeanRegressor"})).__name__
    'RunningMeanRegressor'
    """
    from tidal.base.state import decode_params

    try:
        if isinstance(spec, str):
            from tidal import zoo

            return zoo.make(spec)
        if isinstance(spec, Mapping) and "class" in spec:
            params = dict(spec.get("params", {}))
            return decode_params({"__class__": spec["class"], "params": params})
    except Exception as e:
        raise ConfigError(f"model {name!r}: cannot build {spec!r}: {e}") from e
    raise ConfigError(
        f"model {name!r}: expected a zoo name like 'lr' or a table with 'class' and 'params', "
        f"got {spec!r}"
    )
