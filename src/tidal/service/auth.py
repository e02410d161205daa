"""Bearer-token authentication for the service: roles read < predict < learn < admin.

Every route needs a role (:func:`required_role`): ``/healthz``, ``/readyz`` and the API docs
are open; predict needs ``predict``, learn and registering a version ``learn``; stage changes
(promote, approve, rollback, shadow) and the audit log ``admin``; every other read (models,
states, versions, ``/metrics``) ``read``. A request without a token answers 401, one with a
token of a lower role 403. Tokens live hashed in the registry database
(:class:`tidal.registry.TokenStore`).
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tidal.registry.tokens import ROLES, TokenInfo, TokenStore, role_allows

__all__ = [
    "OPEN_PATHS",
    "ROUTE_ROLES",
    "FailedAttempts",
    "announce_first_token",
    "auth_dependency",
    "required_role",
]

OPEN_PATHS = frozenset(
    {"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
)
#: (method, route path) -> role; unlisted routes: GET needs read, anything else admin
ROUTE_ROLES: dict[tuple[str, str], str] = {
    ("POST", "/v1/models/{name}/predict"): "predict",
    ("POST", "/v1/models/{name}/learn"): "learn",
    ("POST", "/v1/models/{name}/versions"): "learn",
    ("GET", "/v1/audit"): "admin",
}

bearer = HTTPBearer(
    auto_error=False,
    description="an API token: `tidal token create --role read|predict|learn|admin`",
)


def required_role(method: str, path: str) -> str | None:
    """The role a route needs (None: open to all).

    >>> required_role("POST", "/v1/models/{name}/learn"), required_role("GET", "/healthz")
    ('learn', None)
    >>> required_role("GET", "/v1/models"), required_role("POST", "/v1/models/{name}/rollback")
    ('read', 'admin')
    """
    if path in OPEN_PATHS:
        return None
    role = ROUTE_ROLES.get((method.upper(), path))
    if role is not None:
        return role
    return "read" if method.upper() in ("GET", "HEAD") else "admin"


class FailedAttempts:
    """Failed token checks per client address: more than ``limit`` within ``window`` seconds
    and the client is refused (429) without a check until the oldest failure ages out.
    Bounded: the ``max_clients`` most recent addresses are remembered.

    >>> f = FailedAttempts(limit=2, window=60.0)
    >>> f.fail("10.0.0.1", now=0.0); f.fail("10.0.0.1", now=1.0)
    >>> f.retry_after("10.0.0.1", now=2.0), f.retry_after("10.0.0.2", now=2.0)
    (58, None)
    """

    def __init__(self, limit: int = 20, window: float = 60.0, max_clients: int = 10_000) -> None:
        self.limit, self.window, self.max_clients = int(limit), float(window), int(max_clients)
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def fail(self, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._fails.pop(client, None) or deque(maxlen=self.limit)
            q.append(now)
            self._fails[client] = q
            while len(self._fails) > self.max_clients:
                self._fails.popitem(last=False)

    def retry_after(self, client: str, now: float | None = None) -> int | None:
        """Seconds to wait if ``client`` is over the limit, else None."""
        now = time.monotonic() if now is None else now
        with self._lock:
            q = self._fails.get(client)
            if q is None or len(q) < self.limit or now - q[0] >= self.window:
                return None
            return max(1, int(q[0] + self.window - now))


def auth_dependency(
    tokens: Callable[[], TokenStore],
    error: Callable[..., Exception],
    failures: FailedAttempts | None = None,
) -> Any:
    """A FastAPI dependency that checks the request's bearer token against the route's role
    and leaves the token's :class:`~tidal.registry.TokenInfo` in ``request.state.principal``.

    ``error(status, msg, loc, kind, headers=...)`` builds the exception to raise. A client
    (address) with too many failed checks (``failures``) gets 429 without a check.
    """
    failures = failures if failures is not None else FailedAttempts()

    # a plain def: FastAPI runs it in the thread pool, so scrypt does not block the event loop
    def authenticate(
        request: Request, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
    ) -> TokenInfo | None:
        route = request.scope.get("route")
        path = getattr(route, "path", request.url.path)
        need = required_role(request.method, path)
        if need is None:
            return None
        challenge = {"WWW-Authenticate": "Bearer"}
        loc = ["header", "Authorization"]
        if cred is None:
            raise error(
                401,
                f"{request.method} {path} needs a token with role {need} or "
                "higher: send 'Authorization: Bearer <token>'",
                loc,
                "unauthorized",
                headers=challenge,
            )
        client = request.client.host if request.client else "?"
        wait = failures.retry_after(client)
        if wait is not None:
            msg = f"too many failed token checks from {client}: retry in {wait} s"
            raise error(429, msg, loc, "rate_limited", headers={"Retry-After": str(wait)})
        info = tokens().verify(cred.credentials)
        if info is None:
            failures.fail(client)
            raise error(
                401, "unknown, rotated or revoked token", loc, "unauthorized", headers=challenge
            )
        if not role_allows(info.role, need):
            raise error(
                403,
                f"token {info.name!r} has role {info.role}; {request.method} "
                f"{path} needs {need} or higher (roles: {' < '.join(ROLES)})",
                loc,
                "forbidden",
            )
        request.state.principal = info
        return info

    return authenticate


#: where the first admin token is written, in the data folder (mode 0600)
TOKEN_FILE = "admin-token"


def announce_first_token(tokens: TokenStore, data: str | Path, out: Any = None) -> str | None:
    """At first start create the first admin token and write it to ``<data>/admin-token``
    (mode 0600; the token itself is never printed or logged: logs are copied to places a
    secret must not go); print where it is. Returns the token (or None after the first start).

    >>> import io, os, tempfile
    >>> from tidal.registry import Registry
    >>> data = tempfile.mkdtemp()
    >>> reg = Registry(data + "/r.sqlite")
    >>> buf = io.StringIO()
    >>> token = announce_first_token(reg.tokens, data, buf)
    >>> token in buf.getvalue(), "admin-token" in buf.getvalue()
    (False, True)
    >>> open(os.path.join(data, "admin-token")).read().strip() == token
    True
    >>> oct(os.stat(os.path.join(data, "admin-token")).st_mode & 0o777)
    '0o600'
    >>> announce_first_token(reg.tokens, data, buf) is None
    True
    """
    token = tokens.bootstrap_admin()
    if token is not None:
        path = Path(data) / TOKEN_FILE
        path.unlink(missing_ok=True)  # a leftover of an earlier first start: that token is void
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        print(
            f"tidal: first start, created the admin token: it is in {path} (mode 0600); read "
            "it, store it, delete the file. Use it as 'Authorization: Bearer <token>'; more "
            "with `tidal token create`",
            file=out or sys.stderr,
            flush=True,
        )
    return token
