"""The service's HTTP errors: FastAPI-shaped ``detail`` lists naming the field at fault."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

from tidal.base import InputError, TidalError

__all__ = ["ErrorJSON", "ServiceError", "input_error"]


class ServiceError(TidalError):
    """An HTTP error with a status and FastAPI-shaped details.

    >>> ServiceError(404, "unknown model 'x'", ["path", "name"], "not_found").detail[0]["loc"]
    ['path', 'name']
    """

    def __init__(
        self,
        status: int,
        msg: str,
        loc: list[Any] | None = None,
        kind: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(msg)
        self.status = status
        self.headers = headers
        self.detail = [{"loc": loc or [], "msg": msg, "type": kind or "error"}]


class ErrorJSON(JSONResponse):
    """Error bodies as ASCII JSON: a message may quote the client's text, and text with a lone
    surrogate (valid JSON, ``"\\ud800"``) cannot be encoded as UTF-8 (a 500 otherwise)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), default=str).encode("ascii")


def input_error(e: InputError, where: str, learn: bool) -> ServiceError:
    """A 422 whose ``loc`` names the item (or row) and the feature or label at fault.

    ``where`` is the body field holding the rows: "items"/"rows" (a list) or ""/"row" (one).
    """
    loc: list[Any] = ["body"] + ([where] if where else [])
    if where in ("items", "rows") and e.row is not None:
        loc.append(e.row)
    if "label row" in str(e):
        loc.append("label")
    elif e.column is not None:
        loc += ["features", e.column] if learn else [e.column]
    return ServiceError(422, str(e), loc, "input_error")
