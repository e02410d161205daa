"""``Registry``: model versions, their stages, the promotion gate, approvals, rollback, audit."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tidal.base import StateError, learner_from_state
from tidal.registry._db import make_engine, migrate
from tidal.registry._records import (
    KINDS,
    STAGES,
    TRANSITIONS,
    AuditEntry,
    ModelVersion,
    PromotionRefused,
    RegistryError,
    StageError,
    VersionNotFound,
    _finite,
    _now,
    _state_bytes,
    _state_from_bytes,
    _utc,
    non_finite,
)
from tidal.registry._schema import audit_log, model_versions
from tidal.registry.gate import Evidence, GateDecision, GatePolicy, promotion_gate

__all__ = ["Registry"]


class Registry:
    """Versions of models, their lifecycle and an audit log, in SQLite or PostgreSQL.

    ``url``: ``sqlite:///path``, ``postgresql://user@host/db`` or a plain file path. The schema
    is migrated to the newest revision on open. States are ``state_dict`` arrays + JSON in an
    ``.npz`` (no pickle) stored with their SHA-256, checked on load.

    >>> import tempfile
    >>> from tidal.dummy import RunningMeanRegressor
    >>> reg = Registry(tempfile.mkdtemp() + "/registry.sqlite")
    >>> v1 = reg.register("price", RunningMeanRegressor().learn_one({"x": 1.0}, 3.0), by="ann")
    >>> v1.version, v1.stage
    (1, 'candidate')
    >>> reg.promote("price", 1, by="ann", why="first model", evidence=Evidence(0.5, None, 200),
    ...             policy=GatePolicy(metric="mae")).stage
    'production'
    >>> reg.load("price", 1).predict_one({"x": 0.0})
    3.0
    >>> [e.action for e in reg.audit("price")]
    ['register', 'promote']
    >>> reg.close()
    """

    def __init__(
        self,
        url: str | Path,
        *,
        policy: GatePolicy | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.engine: Engine = make_engine(url)
        self.policy = policy or GatePolicy()
        self._clock = clock
        migrate(self.engine)
        self._tokens: Any = None

    @classmethod
    def for_data(cls, data: str | Path, **kwargs: Any) -> Registry:
        """The default registry of a data folder: ``<data>/registry.sqlite``."""
        return cls(f"sqlite:///{Path(data).resolve() / 'registry.sqlite'}", **kwargs)

    @property
    def tokens(self) -> Any:
        """The API tokens kept in this database (:class:`tidal.registry.TokenStore`)."""
        if self._tokens is None:
            from tidal.registry.tokens import TokenStore

            self._tokens = TokenStore(self)
        return self._tokens

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ reads
    def names(self) -> list[str]:
        with self.engine.connect() as c:
            q = select(model_versions.c.name).distinct().order_by(model_versions.c.name)
            return list(c.scalars(q))

    def versions(self, name: str) -> list[ModelVersion]:
        """Every version of ``name``, oldest first (empty for an unknown name)."""
        cols = [c for c in model_versions.c if c.name != "state"]
        q = select(*cols).where(model_versions.c.name == name).order_by(model_versions.c.version)
        with self.engine.connect() as c:
            return [ModelVersion._from_row(r) for r in c.execute(q)]

    def get(self, name: str, version: int) -> ModelVersion:
        for v in self.versions(name):
            if v.version == version:
                return v
        known = [v.version for v in self.versions(name)]
        raise VersionNotFound(
            f"model {name!r} has no version {version}; "
            + (f"known versions: {known}" if known else "it has no versions at all")
        )

    def production(self, name: str) -> ModelVersion | None:
        """The version of ``name`` in production, if any."""
        prod = [v for v in self.versions(name) if v.stage == "production"]
        return prod[0] if prod else None

    def state(self, name: str, version: int) -> dict[str, Any]:
        """The stored ``state_dict`` of a version (its SHA-256 checked)."""
        self.get(name, version)
        q = select(model_versions.c.state, model_versions.c.state_sha256).where(
            model_versions.c.name == name, model_versions.c.version == version
        )
        with self.engine.connect() as c:
            data, digest = c.execute(q).one()
        data = bytes(data)
        if hashlib.sha256(data).hexdigest() != digest:
            raise StateError(
                f"model {name!r} version {version}: stored state does not match its SHA-256 "
                f"{digest}; the database row was altered"
            )
        return _state_from_bytes(data)

    def load(self, name: str, version: int) -> Any:
        """A learner rebuilt from a version's state."""
        return learner_from_state(self.state(name, version))

    def audit(self, name: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The audit log, oldest first (the last ``limit`` entries; of ``name`` if given)."""
        q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if name is not None:
            q = q.where(audit_log.c.name == name)
        with self.engine.connect() as c:
            rows = list(c.execute(q))[::-1]
        return [AuditEntry(**(dict(r._mapping) | {"at": _utc(r.at)})) for r in rows]

    # ------------------------------------------------------------------ writes
    def note(
        self,
        actor: str,
        action: str,
        reason: str,
        *,
        name: str | None = None,
        version: int | None = None,
        details: dict[str, Any] | None = None,
        conn: Any = None,
    ) -> None:
        """Add one entry to the audit log (in ``conn``'s transaction if given, else its own):
        the one call every module that records something uses.

        >>> reg = Registry("sqlite://")
        >>> reg.note("admin", "unfreeze", "labels fixed", name="m", details={"was": "x"})
        >>> [(e.actor, e.action, e.details) for e in reg.audit("m")]
        [('admin', 'unfreeze', {'was': 'x'})]
        """
        kw = {"name": name, "version": version, "details": details or {}}
        if conn is not None:
            self._audit(conn, actor, action, reason, **kw)
            return
        with self.engine.begin() as c:
            self._audit(c, actor, action, reason, **kw)

    def _audit(self, c: Any, actor: str, action: str, reason: str, **kw: Any) -> None:
        kw.setdefault("details", {})
        c.execute(
            insert(audit_log).values(
                at=self._clock(), actor=actor, action=action, reason=reason, **kw
            )
        )

    def register(
        self,
        name: str,
        model: Any,
        *,
        by: str,
        why: str = "",
        kind: str = "online",
        params: dict[str, Any] | None = None,
        data_range: Any = None,
        metrics: dict[str, Any] | None = None,
        parent_version: int | None = None,
    ) -> ModelVersion:
        """Store a new candidate version of ``name`` from a learner or its ``state_dict``."""
        if kind not in KINDS:
            raise RegistryError(f"kind == {kind!r}, must be one of {list(KINDS)}")
        bad = non_finite(metrics or {}, "metrics")
        if bad is not None:
            raise RegistryError(f"{bad} is not a finite number: metrics must be finite")
        state = model if isinstance(model, dict) else model.state_dict()
        if not isinstance(state, dict) or state.get("format") != "tidal.state":
            raise RegistryError(
                f"expected a tidal learner or its state_dict(), got {type(model).__name__}"
            )
        if parent_version is not None:
            self.get(name, parent_version)
        data = _state_bytes(state)
        row = {
            "name": name,
            "kind": kind,
            "stage": "candidate",
            "params": params if params is not None else state.get("params", {}),
            "data_range": data_range,
            "metrics": metrics or {},
            "parent_version": parent_version,
            "created_at": self._clock(),
            "created_by": by,
            "state": data,
            "state_sha256": hashlib.sha256(data).hexdigest(),
        }
        for _attempt in range(5):
            try:
                with self.engine.begin() as c:
                    q = select(func.max(model_versions.c.version)).where(
                        model_versions.c.name == name
                    )
                    version = (c.scalar(q) or 0) + 1
                    c.execute(insert(model_versions).values(version=version, **row))
                    self._audit(
                        c,
                        by,
                        "register",
                        why,
                        name=name,
                        version=version,
                        to_stage="candidate",
                        details={"kind": kind},
                    )
                return self.get(name, version)
            except IntegrityError:  # another writer took the number: take the next one
                continue
        raise RegistryError(f"could not number a new version of {name!r}: too many writers")

    def _move(
        self,
        c: Any,
        v: ModelVersion,
        stage: str,
        by: str,
        why: str,
        action: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {"stage": stage}
        if stage == "production":
            values["promoted_at"] = self._clock()
        c.execute(
            update(model_versions)
            .where(model_versions.c.name == v.name, model_versions.c.version == v.version)
            .values(**values)
        )
        self._audit(
            c,
            by,
            action,
            why,
            name=v.name,
            version=v.version,
            from_stage=v.stage,
            to_stage=stage,
            details=details or {},
        )

    def _check(self, v: ModelVersion, stage: str) -> None:
        if stage not in STAGES:
            raise StageError(f"stage == {stage!r}, must be one of {list(STAGES)}")
        if stage not in TRANSITIONS[v.stage]:
            raise StageError(
                f"model {v.name!r} version {v.version} is {v.stage}: it can move to "
                f"{list(TRANSITIONS[v.stage])}, not {stage}"
                + (
                    " (use rollback to bring an archived version back)"
                    if stage == "production"
                    else ""
                )
            )

    def set_stage(
        self, name: str, version: int, stage: str, *, by: str, why: str = ""
    ) -> ModelVersion:
        """Move a version to shadow, candidate or archived (production: :meth:`promote`)."""
        v = self.get(name, version)
        self._check(v, stage)
        if stage == "production":
            raise StageError("use promote() to move a version to production: it runs the gate")
        with self.engine.begin() as c:
            self._move(
                c,
                v,
                stage,
                by,
                why,
                {"shadow": "shadow", "archived": "archive"}.get(stage, "set_stage"),
            )
        return self.get(name, version)

    def shadow(self, name: str, version: int, *, by: str, why: str = "") -> ModelVersion:
        """Put a version in shadow: it sees the traffic, its answers are scored, not returned."""
        return self.set_stage(name, version, "shadow", by=by, why=why)

    def approve(self, name: str, version: int, *, by: str, why: str) -> ModelVersion:
        """Record a human approval of a version (needed before production for some kinds)."""
        v = self.get(name, version)
        if not why.strip():
            raise RegistryError("an approval needs a reason (why)")
        with self.engine.begin() as c:
            c.execute(
                update(model_versions)
                .where(model_versions.c.name == name, model_versions.c.version == version)
                .values(approved_by=by, approved_at=self._clock(), approval_reason=why)
            )
            self._audit(
                c,
                by,
                "approve",
                why,
                name=name,
                version=version,
                from_stage=v.stage,
                to_stage=v.stage,
            )
        return self.get(name, version)

    def promote(
        self,
        name: str,
        version: int,
        *,
        by: str,
        why: str = "",
        evidence: Evidence | None = None,
        policy: GatePolicy | None = None,
    ) -> ModelVersion:
        """Move a candidate or shadow version to production if the gate lets it; the champion
        is archived. Raises :class:`PromotionRefused` with the reason otherwise (the refusal
        is audited too)."""
        policy = policy or self.policy
        v = self.get(name, version)
        self._check(v, "production")
        champion = self.production(name)
        if v.kind in policy.require_approval and v.approved_by is None:
            decision = GateDecision(
                False,
                f"model {name!r} version {version} is a {v.kind} model: it needs a human "
                "approval (approve) before production",
            )
        else:
            decision = promotion_gate(evidence, policy)
        details = {
            "gate": decision.reason,
            "champion": champion.version if champion else None,
            "evidence": _finite(asdict(evidence)) if evidence else None,
            "policy": asdict(policy),
        }
        with self.engine.begin() as c:
            if not decision.passed:
                self._audit(
                    c,
                    by,
                    "promote_refused",
                    why,
                    name=name,
                    version=version,
                    from_stage=v.stage,
                    to_stage="production",
                    details=details,
                )
            else:
                if champion is not None:
                    self._move(
                        c, champion, "archived", by, f"replaced by version {version}", "archive"
                    )
                self._move(c, v, "production", by, why, "promote", details)
        if not decision.passed:
            raise PromotionRefused(decision.reason)
        return self.get(name, version)

    def rollback(
        self,
        name: str,
        to_version: int | None = None,
        *,
        by: str,
        why: str = "",
        force: bool = False,
    ) -> ModelVersion:
        """Put an earlier version back in production at once (no gate: it is the way back).

        Without ``to_version``, the version that was in production before the current one.
        A version that never passed the promotion gate is no way back: it needs ``force`` and
        a reason (``why``), both kept in the audit log.
        """
        versions = self.versions(name)
        if not versions:
            raise VersionNotFound(f"model {name!r} has no versions")
        current = self.production(name)
        if to_version is None:
            earlier = [
                v
                for v in versions
                if v.promoted_at is not None and v is not current and v != current
            ]
            if not earlier:
                raise StageError(
                    f"model {name!r} has no earlier production version to roll "
                    "back to; name one with to_version"
                )
            target = max(earlier, key=lambda v: v.promoted_at)
        else:
            target = self.get(name, to_version)
        if current is not None and target.version == current.version:
            raise StageError(f"model {name!r} version {target.version} is already in production")
        passed = self._passed_gate(name, target.version)
        if not passed and not (force and why.strip()):
            raise StageError(
                f"model {name!r} version {target.version} never passed the promotion gate: "
                "rolling back to it needs force and a reason (why)"
            )
        with self.engine.begin() as c:
            if current is not None:
                self._move(
                    c,
                    current,
                    "archived",
                    by,
                    f"rolled back to version {target.version}",
                    "archive",
                )
            self._move(
                c,
                target,
                "production",
                by,
                why,
                "rollback",
                {"from_version": current.version if current else None}
                | ({} if passed else {"forced": True, "gate_passed": False}),
            )
        return self.get(name, target.version)

    def _passed_gate(self, name: str, version: int) -> bool:
        """True if ``version`` was ever promoted through the gate (audit action "promote")."""
        q = select(audit_log.c.id).where(
            audit_log.c.name == name,
            audit_log.c.version == version,
            audit_log.c.action == "promote",
        )
        with self.engine.connect() as c:
            return c.execute(q.limit(1)).first() is not None
