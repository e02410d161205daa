"""Bearer-token authentication for the service: roles read < predict < learn < admin.

Every route needs a role (:func:`required_role`): ``/healthz``, ``/readyz`` and the API docs
are open; predict needs ``predict``, learn and registering a version ``learn``; stage changes
(promote, approve, rollback, shadow) and the audit log ``admin``; every other read (models,
states, versions, ``/metrics``) ``read``. A request without a token answers 401, one with a
token of a lower role 403. Tokens live hashed in the registry database
(:class:`tidal.registry.TokenStore`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tidal.registry.tokens import ROLES, TokenInfo, TokenStore, role_allows

__all__ = ["OPEN_PATHS", "ROUTE_ROLES", "announce_first_token", "auth_dependency", "required_role"]

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


def auth_dependency(tokens: Callable[[], TokenStore], error: Callable[..., Exception]) -> Any:
    """A FastAPI dependency that checks the request's bearer token against the route's role
    and leaves the token's :class:`~tidal.registry.TokenInfo` in ``request.state.principal``.

    ``error(status, msg, loc, kind, headers=...)`` builds the exception to raise.
    """

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
        info = tokens().verify(cred.credentials)
        if info is None:
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


def announce_first_token(tokens: TokenStore, out: Any = None) -> str | None:
    """At first start create the first admin token and print it once; returns it (or None).

    >>> import io, tempfile
    >>> from tidal.registry import Registry
    >>> reg = Registry(tempfile.mkdtemp() + "/r.sqlite")
    >>> buf = io.StringIO()
    >>> token = announce_first_token(reg.tokens, buf)
    >>> token in buf.getvalue(), announce_first_token(reg.tokens, buf)
    (True, None)
    """
    token = tokens.bootstrap_admin()
    if token is not None:
        print(
            "tidal: first start, created the admin token (shown once, store it now):\n"
            f"  {token}\n"
            "  use it as 'Authorization: Bearer <token>'; more with `tidal token create`",
            file=out or sys.stderr,
            flush=True,
        )
    return token
