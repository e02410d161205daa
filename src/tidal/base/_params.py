"""Storing a constructor's parameters: scikit-learn's rule in one function.

scikit-learn's ``get_params``, ``clone`` and ``repr`` read each parameter back from the attribute
of the same name, so a constructor stores its arguments unchanged and does nothing else with them
(checks and conversions belong in ``fit`` / ``_check_params``, where ``set_params`` is honoured
too). A constructor that only stores its parameters calls :func:`store_params` first:

>>> class Scaled:
...     def __init__(self, factor: float = 2.0, offset: float = 0.0) -> None:
...         store_params(self, locals())
>>> vars(Scaled(offset=1.0))
{'factor': 2.0, 'offset': 1.0}
"""

from __future__ import annotations

from typing import Any

__all__ = ["store_params"]


def store_params(model: Any, values: dict[str, Any]) -> None:
    """Store a constructor's arguments, its ``locals()``, unchanged under their own names.

    Call it as the constructor's first statement, before any other local name is bound (every
    name in ``values`` but ``self`` and ``__class__``, which ``super()`` adds, becomes an
    attribute).
    """
    for name, value in values.items():
        if name not in ("self", "__class__"):
            setattr(model, name, value)
