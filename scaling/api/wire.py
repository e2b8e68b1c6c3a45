"""What the reference Scale API's callers send and expect on the wire: an X-Request-ID on every response,
and a JSON body read as JSON whatever its Content-Type says (`curl -d` sends form-urlencoded).

Both are ASGI wrappers so they cover every response, the 401s, 404s and 413s included.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

HEADER = "x-request-id"
MAX_ID = 200  # the id is echoed in a header and written into a log line: bounded, printable ASCII only
_ALPHABET = string.ascii_letters + string.digits
# The reference's deployment endpoints bind the body with Gin's ShouldBindJSON, which reads JSON whatever
# the Content-Type; only those routes get that leniency (ours keep FastAPI's strict reading).
_LENIENT = ("/api/v1/deployments/",)


def new_request_id(now: datetime | None = None) -> str:
    """The reference's form: UTC `YYYYMMDDhhmmss-` and 8 random letters or digits."""
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return stamp + "-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def request_id_of(headers: Mapping[str, str]) -> str:
    """The caller's X-Request-ID when it is usable (1-200 printable ASCII characters), else a new one."""
    given = (headers.get(HEADER) or "").strip()
    if given and len(given) <= MAX_ID and all(" " <= ch <= "~" for ch in given):
        return given
    return new_request_id()


Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]
ASGIApp = Callable[[dict, Receive, Send], Awaitable[None]]


def _decoded(scope: dict) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}


class RequestId:
    """Echo the caller's X-Request-ID, or make one, on every response; kept in `scope["state"]` for the
    access log line (scaling.api.errors.AccessLog)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(_decoded(scope))
        scope.setdefault("state", {})["request_id"] = request_id

        async def with_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER.encode()]
                message = {**message, "headers": [*headers, (HEADER.encode(), request_id.encode("ascii"))]}
            await send(message)

        await self.app(scope, receive, with_id)


class JsonBody:
    """On the reference's deployment routes, a POST body is JSON whatever its Content-Type (as Gin's
    ShouldBindJSON reads it): a missing or non-JSON Content-Type is replaced by application/json."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") == "POST" and scope.get("path", "").startswith(_LENIENT):
            headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != b"content-type"]
            scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)
