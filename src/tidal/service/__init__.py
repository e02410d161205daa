"""The production service: online models that predict and learn in place over HTTP, durably.

Pieces, each usable on its own:

* :class:`WriteAheadLog` -- group-committed, CRC-checked, segmented log of learn events;
* :class:`SnapshotStore` -- atomic ``state_dict`` snapshots at a log sequence number;
* :class:`ModelHost` -- one learner with its log and snapshots: consistent predictions,
  durable learns, delayed labels by prediction id, recovery = snapshot + replay;
* :class:`Service` -- the models of one data folder (locked by one process), metrics,
  background snapshots; :func:`create_app` serves it with FastAPI, :func:`run` with uvicorn.

>>> import tempfile
>>> from tidal.service import ServiceConfig, Service
>>> svc = Service(ServiceConfig(data=tempfile.mkdtemp(), models={"m": "mean"}))
>>> sorted(svc.hosts)
['m']
>>> svc.close()
"""

from tidal.service.app import ServiceError, create_app, run
from tidal.service.config import (
    DEFAULT_MODELS,
    SERVE_DEFAULTS,
    ConfigError,
    ServiceConfig,
    build_model,
    load_config,
)
from tidal.service.host import ModelHost
from tidal.service.items import LearnResult, PredictResult, UnknownPredictionError
from tidal.service.lock import DataFolderLock, DataFolderLockedError
from tidal.service.runtime import Metrics, Service
from tidal.service.snapshots import Snapshot, SnapshotStore
from tidal.service.wal import WalError, WriteAheadLog

__all__ = [
    "DEFAULT_MODELS",
    "SERVE_DEFAULTS",
    "ConfigError",
    "DataFolderLock",
    "DataFolderLockedError",
    "LearnResult",
    "Metrics",
    "ModelHost",
    "PredictResult",
    "Service",
    "ServiceConfig",
    "ServiceError",
    "Snapshot",
    "SnapshotStore",
    "UnknownPredictionError",
    "WalError",
    "WriteAheadLog",
    "build_model",
    "create_app",
    "load_config",
    "run",
]
