"""One way to reach Ray for every command (`compare --ray`, `serve --ray`, `consume --ray`)
and for refits: the same address words mean the same cluster everywhere.

Ray is imported here, and only when a cluster is asked for.
"""

from __future__ import annotations

import os
from typing import Any

from tidal.base.exceptions import ParameterError

__all__ = ["connect_ray", "import_ray"]


def import_ray() -> Any:
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
    except ImportError:  # pragma: no cover (the extra is installed in tests)
        raise ParameterError("this needs Ray (the ray extra): pip install 'tidal[ray]'") from None
    return ray


def connect_ray(address: str | None = "local", num_cpus: int | None = None) -> tuple[Any, bool]:
    """``(ray, started)``: the ``ray`` module connected to ``address``, and whether this call
    connected it (so the caller knows to shut it down). A process already connected keeps its
    connection.

    ``"local"`` or None start a new Ray on this machine (``num_cpus`` CPUs, default all, no
    dashboard); ``"auto"`` joins the cluster ``RAY_ADDRESS`` or ``ray start`` made;
    ``host:port`` and ``ray://...`` join that cluster.
    """
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    # a cluster on a private network; Ray >= 2.50 otherwise asks every client for a token
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
    if address in (None, "local"):
        kwargs.update(address="local", num_cpus=num_cpus, include_dashboard=False)
    else:
        kwargs["address"] = address
    ray.init(**kwargs)
    return ray, True
