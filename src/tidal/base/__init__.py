"""The learner protocol, tags, state (de)serialisation and exceptions.

See :mod:`tidal.base.learner` for the hooks a learner implements and
:mod:`tidal.base.exceptions` for the exception hierarchy.
"""

from tidal.base._input import (
    CategoryEncoder,
    Columns,
    Rows,
    as_array,
    check_finite,
    read_columns,
    to_float,
)
from tidal.base._params import parameters, store_params
from tidal.base.exceptions import (
    InputError,
    NotFittedError,
    ParameterError,
    SchemaMismatchError,
    StateError,
    TidalError,
)
from tidal.base.learner import Classifier, Learner, Regressor, Transformer
from tidal.base.state import learner_from_state, read_state, save_state
from tidal.base.tags import Tags

__all__ = [
    "CategoryEncoder",
    "Columns",
    "Classifier",
    "InputError",
    "Learner",
    "NotFittedError",
    "ParameterError",
    "Regressor",
    "Rows",
    "SchemaMismatchError",
    "StateError",
    "Tags",
    "TidalError",
    "Transformer",
    "as_array",
    "check_finite",
    "learner_from_state",
    "read_columns",
    "read_state",
    "save_state",
    "parameters",
    "store_params",
    "to_float",
]
