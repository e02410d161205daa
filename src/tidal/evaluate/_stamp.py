"""What a result is stamped with: versions, data fingerprint, settings, learners' parameters."""

from __future__ import annotations

import datetime as _dt
from typing import Any

__all__ = ["stamp"]

_SEED_PARAMS = ("seed", "random_state")


def _seeds(learner: Any) -> dict[str, Any]:
    try:
        params = learner.get_params(deep=True)
    except (AttributeError, TypeError):
        return {}
    return {k: v for k, v in params.items() if k.split("__")[-1] in _SEED_PARAMS}


def _learner_meta(learner: Any) -> dict[str, Any]:
    from tidal.base.state import _class_path, encode_params

    try:
        params = encode_params(learner.get_params(deep=False))
    except (AttributeError, TypeError):
        params = {}
    out = {"class": _class_path(learner), "params": params, "seeds": _seeds(learner)}
    first = _first_fit(learner)
    if first != "n/a":
        out["first_fit_row"] = first
    return out


def _first_fit(learner: Any) -> int | None | str:
    """The row a batch learner (or a composite's batch part) first served a model from; None
    if it never did, "n/a" for learners without a batch part."""
    from tidal.evaluate._costs import nested_batch

    rows = [vars(b).get("first_live_row_", "n/a") for b in nested_batch(learner)]
    if not rows or "n/a" in rows:
        return "n/a" if not rows else None
    live = [r for r in rows if r is not None]
    return min(live) if live else None


def _fingerprint(source: Any, fingerprint: bool | str) -> str | None:
    """A digest already computed (str), computed now (True), or none."""
    if isinstance(fingerprint, str):
        return fingerprint
    return source.fingerprint() if fingerprint and source is not None else None


def stamp(
    source: Any,
    task: str,
    rows: int,
    fingerprint: bool | str,
    settings: dict[str, Any],
    learners: dict[str, Any],
    wall_s: float,
) -> dict[str, Any]:
    """The ``meta`` of :class:`~tidal.evaluate.Results`.

    >>> from tidal.dummy import MajorityClassifier
    >>> meta = stamp(None, "binary", 0, False, {}, {"m": MajorityClassifier()}, 0.0)
    >>> meta["learners"]["m"]["class"]
    'tidal.dummy.MajorityClassifier'
    """
    from tidal import __version__

    return {
        "tidal_version": __version__,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "data": {
            "name": getattr(source, "name", None),
            "target": getattr(source, "target", None),
            "features": list(getattr(source, "feature_names", ())),
            "task": task,
            "rows": rows,
            "fingerprint": _fingerprint(source, fingerprint),
        },
        "settings": settings,
        "learners": {name: _learner_meta(m) for name, m in learners.items()},
        "wall_s": wall_s,
    }
