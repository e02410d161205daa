"""API tokens with roles, kept hashed (a keyed hash, a key per token) in the registry database.

A token reads ``tidal_<id>_<secret>``: the id finds the row, the secret (256 random bits) is
checked against its HMAC-SHA256, keyed with the token's own random salt, in constant time.
A random 256-bit secret needs no slow hash (nothing to guess from a dictionary), and a fast
one keeps a wrong secret cheap for the server: microseconds, not the ~90 ms of scrypt, so
failed attempts cannot burn its CPU (the service also rate-limits them per client). Tokens
made before 2026-12-07 carry a 16-byte salt and a scrypt hash, still checked that way.
Plaintext is returned once, at creation or rotation, and never stored. Verified tokens are
cached in memory for ``cache_seconds``, so a revocation made by another process takes effect
within that time; one made through the same store at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from tidal.registry._records import RegistryError, _utc
from tidal.registry._schema import api_tokens

__all__ = ["ROLES", "TokenError", "TokenInfo", "TokenStore", "role_allows"]

#: in increasing power: each role may do everything the roles before it may
ROLES = ("read", "predict", "learn", "admin")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class AuditedDatabase(Protocol):
    """What a token store uses of its :class:`tidal.registry.Registry`: the database, the clock
    and the audit log (the registry builds its token store; this module does not import it)."""

    engine: Engine

    def _clock(self) -> datetime: ...

    def note(self, actor: str, action: str, reason: str, **kw: Any) -> None: ...


class TokenError(RegistryError):
    """A token operation that cannot be done (unknown name, bad role, name taken).

    >>> issubclass(TokenError, RegistryError)
    True
    """


def role_allows(role: str, needed: str) -> bool:
    """Whether a token of ``role`` may do what needs ``needed``.

    >>> role_allows("learn", "predict"), role_allows("predict", "learn")
    (True, False)
    """
    return ROLES.index(role) >= ROLES.index(needed)


_HMAC = b"\x01"  # the first byte of a salt whose hash is HMAC-SHA256 (older salts: scrypt)


def _hash(secret: str, salt: bytes) -> bytes:
    """The stored hash of ``secret``.

    >>> len(_hash("s3cret", _HMAC + bytes(16))), len(_hash("s3cret", bytes(16)))
    (32, 32)
    """
    if len(salt) == 17 and salt[:1] == _HMAC:
        return hmac.new(salt[1:], secret.encode(), hashlib.sha256).digest()
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


@dataclass(frozen=True)
class TokenInfo:
    """What is known about a token (never its secret).

    >>> TokenInfo("ab12", "ci", "learn", None, "admin", None, None).active
    True
    """

    id: str
    name: str
    role: str
    created_at: datetime | None
    created_by: str
    rotated_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class TokenStore:
    """Create, list, rotate, revoke and verify API tokens; every change is audited.

    >>> import tempfile
    >>> from tidal.registry import Registry
    >>> store = TokenStore(Registry(tempfile.mkdtemp() + "/r.sqlite"))
    >>> first = store.bootstrap_admin()
    >>> store.verify(first).role, store.bootstrap_admin() is None
    ('admin', True)
    >>> ci = store.create("learn", "ci", by="admin")
    >>> new = store.rotate("ci", by="admin")
    >>> store.verify(ci) is None, store.verify(new).name
    (True, 'ci')
    >>> store.revoke("ci", by="admin").active, store.verify(new)
    (False, None)
    """

    def __init__(self, registry: AuditedDatabase, cache_seconds: float = 5.0) -> None:
        self.registry = registry
        self.engine = registry.engine
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[TokenInfo, float]] = {}
        self._cache_lock = threading.Lock()

    def _new_secret(self) -> tuple[str, str, bytes, bytes]:
        tid, secret = secrets.token_hex(6), secrets.token_urlsafe(32)  # 256 random bits
        salt = _HMAC + secrets.token_bytes(16)
        return tid, f"tidal_{tid}_{secret}", salt, _hash(secret, salt)

    def create(self, role: str, name: str, *, by: str = "cli", why: str = "") -> str:
        """A new token; returns its plaintext, which is not stored and cannot be shown again."""
        if role not in ROLES:
            raise TokenError(f"role == {role!r}, must be one of {list(ROLES)}")
        if not name or len(name) > 64:
            raise TokenError(f"token name {name!r}: must be 1-64 characters")
        tid, token, salt, digest = self._new_secret()
        try:
            with self.engine.begin() as c:
                c.execute(
                    insert(api_tokens).values(
                        id=tid,
                        name=name,
                        role=role,
                        salt=salt,
                        hash=digest,
                        created_at=self.registry._clock(),
                        created_by=by,
                    )
                )
                self.registry.note(
                    by, "token_create", why, details={"token": name, "role": role}, conn=c
                )
        except IntegrityError:
            raise TokenError(
                f"a token named {name!r} exists (names stay taken after a revocation); "
                "choose another name or rotate it"
            ) from None
        return token

    def list(self) -> list[TokenInfo]:
        """Every token, revoked ones included, oldest first."""
        cols = [c for c in api_tokens.c if c.name not in ("salt", "hash")]
        with self.engine.connect() as c:
            rows = c.execute(select(*cols).order_by(api_tokens.c.created_at, api_tokens.c.name))
            return [self._info(r._mapping) for r in rows]

    @staticmethod
    def _info(m: Any) -> TokenInfo:
        return TokenInfo(
            m["id"],
            m["name"],
            m["role"],
            _utc(m["created_at"]),
            m["created_by"],
            _utc(m["rotated_at"]),
            _utc(m["revoked_at"]),
        )

    def _get(self, name: str) -> TokenInfo:
        for t in self.list():
            if t.name == name:
                return t
        raise TokenError(f"no token named {name!r}; known: {[t.name for t in self.list()]}")

    def rotate(self, name: str, *, by: str = "cli", why: str = "") -> str:
        """A new secret for token ``name`` (same role); the old one stops working now."""
        t = self._get(name)
        if not t.active:
            raise TokenError(f"token {name!r} is revoked; create a new one instead")
        tid, token, salt, digest = self._new_secret()
        with self.engine.begin() as c:
            c.execute(
                update(api_tokens)
                .where(api_tokens.c.name == name)
                .values(id=tid, salt=salt, hash=digest, rotated_at=self.registry._clock())
            )
            self.registry.note(by, "token_rotate", why, details={"token": name}, conn=c)
        self._forget()
        return token

    def revoke(self, name: str, *, by: str = "cli", why: str = "") -> TokenInfo:
        """Revoke token ``name`` for good."""
        t = self._get(name)
        if t.active:
            with self.engine.begin() as c:
                c.execute(
                    update(api_tokens)
                    .where(api_tokens.c.name == name)
                    .values(revoked_at=self.registry._clock())
                )
                self.registry.note(by, "token_revoke", why, details={"token": name}, conn=c)
        self._forget()
        return self._get(name)

    def bootstrap_admin(self) -> str | None:
        """At first start (no token ever made) create an admin token and return its plaintext
        (to print once); later, None."""
        with self.engine.connect() as c:
            if c.scalar(select(func.count()).select_from(api_tokens)):
                return None
        try:
            return self.create(
                "admin",
                "admin",
                by="first-start",
                why="first admin token, written to <data>/admin-token (0600) at first start",
            )
        except TokenError:  # another process bootstrapped at the same moment
            return None

    def _forget(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def verify(self, token: str) -> TokenInfo | None:
        """The active token's info, or None if it is unknown, malformed, rotated or revoked."""
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[1] < self.cache_seconds:
                return hit[0]
        parts = token.split("_")
        if len(parts) < 3 or parts[0] != "tidal":
            return None
        tid, secret = parts[1], "_".join(parts[2:])
        with self.engine.connect() as c:
            row = c.execute(select(api_tokens).where(api_tokens.c.id == tid)).first()
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(_hash(secret, bytes(row.salt)), bytes(row.hash)):
            return None
        info = self._info(row._mapping)
        with self._cache_lock:
            self._cache[key] = (info, now)  # when it was checked
        return info
