"""Exceptions raised by tidal.

Hierarchy (every exception tidal defines is a ``TidalError``; the builtin in brackets is kept too,
so ``except ValueError`` / ``except OSError`` written for scikit-learn or the standard library
still catches it)::

    TidalError
     ├── InputError (ValueError)             bad data: names the column, the row, what was expected
     │    └── SchemaMismatchError            a missing or extra feature, or a changed feature set
     ├── NotFittedError (ValueError, AttributeError)
     ├── StateError (ValueError)             a snapshot that cannot be restored
     ├── ParameterError (ValueError)         a hyper-parameter out of its domain
     ├── guards.SchemaError (ValueError)     a schema file or column spec that cannot be used
     ├── guards.QuarantineError (OSError)    the quarantine store cannot keep or give back rows
     ├── registry.RegistryError              the model registry refused an operation
     │    ├── registry.VersionNotFound (LookupError)
     │    ├── registry.StageError            a stage change the lifecycle does not allow
     │    ├── registry.PromotionRefused      the promotion gate said no (the evidence is attached)
     │    └── registry.TokenError            unknown token name, bad role, name taken
     ├── distributed errors (tidal.distributed, which the library never imports)
     │    ├── NotOwnerError                  rows sent to a shard for a virtual shard it lost
     │    ├── ShardUnavailableError (TimeoutError)  a shard stayed down past the retry timeout
     │    └── ShardDown (ConnectionError)    a shard's process died mid-call (retrying is safe)
     └── service errors (tidal.service, which the library never imports)
          ├── ServiceError                   an HTTP error with status and FastAPI-shaped details
          ├── ConfigError (ValueError)       a configuration value, named with its source
          ├── DecodeError (ValueError)       a stream entry that cannot become a learn event
          ├── UnknownPredictionError (LookupError)
          ├── FrozenError (RuntimeError)     learning paused by the quality floor
          ├── DataFolderLockedError (RuntimeError)
          ├── WalError (OSError)             the write-ahead log cannot be written or read
          └── DataLossError (OSError)        start-up refused: acknowledged events are gone

Every subclass of ``ValueError`` can be caught as such, so code written for scikit-learn keeps
working.
"""

from __future__ import annotations


class TidalError(Exception):
    """Base class of every error raised by tidal."""


class InputError(TidalError, ValueError):
    """Bad input data: the message names the column, the row and what was expected.

    >>> err = InputError("bad", column="x", row=3)
    >>> (err.column, err.row)
    ('x', 3)
    """

    def __init__(self, message: str, *, column: str | None = None, row: int | None = None):
        super().__init__(message)
        self.column = column
        self.row = row


class SchemaMismatchError(InputError):
    """The features of a row do not match the feature set fixed by the first learn call."""


class NotFittedError(TidalError, ValueError, AttributeError):
    """The learner was asked to predict before it learned anything it needs."""


class StateError(TidalError, ValueError):
    """A state dict (snapshot) that cannot be restored: wrong class, format or version."""


class ParameterError(TidalError, ValueError):
    """A hyper-parameter outside its domain, e.g. ``"l2 == -1.0, must be >= 0"``."""
