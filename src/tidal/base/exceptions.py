"""Exceptions raised by tidal.

Hierarchy::

    TidalError
     ├── InputError (ValueError)          bad data: names the column, the row and what was expected
     │    └── SchemaMismatchError         a missing or extra feature, or a changed feature set
     ├── NotFittedError (ValueError, AttributeError)
     ├── StateError (ValueError)          a snapshot that cannot be restored
     └── ParameterError (ValueError)      a hyper-parameter out of its domain

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
