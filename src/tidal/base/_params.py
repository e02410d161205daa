"""Storing a constructor's parameters: scikit-learn's rule in one place.

scikit-learn's ``get_params``, ``clone`` and ``repr`` read each parameter back from the attribute
of the same name, so a constructor stores its arguments unchanged and does nothing else with them
(checks and conversions belong in ``fit`` / ``_check_params``, where ``set_params`` is honoured
too). A constructor that only stores its parameters calls :func:`store_params` first:

>>> class Scaled:
...     def __init__(self, factor: float = 2.0, offset: float = 0.0) -> None:
...         store_params(self, locals())
>>> vars(Scaled(offset=1.0))
{'factor': 2.0, 'offset': 1.0}

Classes of a family that share parameters declare them once instead, as annotated class
attributes of a group decorated with :func:`parameters`, and the constructor is generated
(keyword-only, storing each argument unchanged). A class takes the fields of its bases in reverse
order of its MRO, then its own; a field declared again keeps its place and takes the new default,
so a group that only changes defaults is listed before the group it changes:

>>> @parameters
... class Window:
...     size: int = 100
...     decay: float = 0.9
>>> @parameters
... class Smoothed(Window):
...     decay: float = 0.5
...     alpha: float = 0.1
>>> import inspect
>>> print(inspect.signature(Smoothed))
(*, size: 'int' = 100, decay: 'float' = 0.5, alpha: 'float' = 0.1) -> None
>>> vars(Smoothed(alpha=0.2))
{'size': 100, 'decay': 0.5, 'alpha': 0.2}
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

__all__ = ["parameters", "store_params"]

_Class = TypeVar("_Class", bound=type)


def store_params(model: Any, values: dict[str, Any]) -> None:
    """Store a constructor's arguments, its ``locals()``, unchanged under their own names.

    Call it as the constructor's first statement, before any other local name is bound (every
    name in ``values`` but ``self`` and ``__class__``, which ``super()`` adds, becomes an
    attribute).
    """
    for name, value in values.items():
        if name not in ("self", "__class__"):
            setattr(model, name, value)


def parameters(cls: _Class) -> _Class:
    """Generate ``cls.__init__`` from its parameter fields (its annotated class attributes, with
    those of its decorated bases): keyword-only, each argument stored unchanged under its name,
    nothing else done. ``repr``, equality and hashing stay the class's own (scikit-learn's)."""
    return dataclasses.dataclass(init=True, repr=False, eq=False, kw_only=True)(cls)
