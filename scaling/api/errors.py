"""Errors of the HTTP API in the reference shape, and the ASGI pieces that guard every request.

Every error body is `{"status": "error", "message", "error", "timestamp"}`. Bad input is always a 4xx
that says what was wrong and where; a 5xx only ever means a dependency (Kubernetes, ARM, Table Storage)
failed, never the caller.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from scaling.api.auth import AuthError, authenticate
from scaling.api.models import rfc3339

log = logging.getLogger("scaling.page.app")

MAX_BODY_BYTES = 64 * 1024  # bodies are a reason and a few fields; anything bigger is not ours


class ApiError(Exception):
    """An error answered in the reference shape: HTTP status, a one-line message, and the detail."""

    def __init__(self, status: int, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail or message


def error_body(message: str, detail: str, *, now: datetime | None = None) -> dict[str, str]:
    return {
        "status": "error",
        "message": message,
        "error": detail,
        "timestamp": rfc3339(now or datetime.now(UTC)),
    }


def error_response(status: int, message: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, detail), status_code=status, headers=headers)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:] or ["body"]
        return "body field " + ".".join(parts) if parts != ["body"] else "body"
    if len(parts) >= 2 and parts[0] in ("path", "query", "header"):
        return f"{parts[0]} parameter {'.'.join(parts[1:])}"
    return ".".join(parts) or "request"


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else "value"


# The reference answers every body it cannot bind with this message (handlers/deployment.go).
REFERENCE_BAD_BODY = "Invalid request body"


def describe_validation(exc: RequestValidationError, content_type: str | None = None) -> tuple[str, str]:
    """(message, detail) for a validation failure: what was wrong and where, every problem listed."""
    problems: list[str] = []
    for err in exc.errors():
        kind = err.get("type", "")
        loc = tuple(err.get("loc", ()))
        where = _where(loc)
        if kind == "json_invalid":
            return (
                "Invalid JSON",
                f"the request body is not valid JSON: {err.get('ctx', {}).get('error', 'parse error')}",
            )
        if loc == ("body",) and kind in ("model_attributes_type", "dict_type", "model_type"):
            if not _is_json(content_type):
                got = f"'{content_type}'" if content_type else "none"
                return "Invalid JSON", f"send the body as JSON with Content-Type: application/json (got {got})"
            # The reference's Go decoder says "cannot unmarshal <type> into ..."; its callers test for it.
            kind_name = _json_type(err.get("input"))
            return "Invalid JSON", f"cannot unmarshal {kind_name} into the request object: send a JSON object"
        msg = str(err.get("msg", "invalid"))
        if kind == "missing":
            problems.append(f"{where} is required")
        elif kind == "extra_forbidden":
            problems.append(f"{where} is not a known field")
        else:
            problems.append(f"{where}: {msg.removeprefix('Value error, ')}")
    detail = "; ".join(problems) or "the request is not valid"
    return "Invalid request", detail


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.detail)

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, exc: AuthError) -> JSONResponse:
        return error_response(401, exc.message, exc.detail, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI reads the body before it runs the auth dependency; the reference checks the key first,
        # so a caller without it learns nothing about the body.
        if request.url.path.startswith("/api/v1/"):
            try:
                authenticate(request.app.state.auth, request.headers)
            except AuthError as auth:
                return error_response(401, auth.message, auth.detail, headers={"WWW-Authenticate": "Bearer"})
        # The reference answers failed validation with 400, not FastAPI's 422.
        message, detail = describe_validation(exc, request.headers.get("content-type"))
        body_problem = any(tuple(e.get("loc", ()))[:1] == ("body",) for e in exc.errors())
        if body_problem and request.url.path.startswith("/api/v1/deployments/"):
            message = REFERENCE_BAD_BODY
        return error_response(400, message, detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
        detail = str(exc.detail)
        if exc.status_code == 404:
            detail = f"no endpoint at {request.url.path}"
        return error_response(exc.status_code, message, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "Internal error", f"{type(exc).__name__}; see the app's logs")


ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]


async def _send_error(send: Callable[[dict], Awaitable[None]], status: int, message: str, detail: str) -> None:
    body = json.dumps(error_body(message, detail), separators=(",", ":")).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, before anything parses them."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await _send_error(send, 400, "Invalid Content-Length", "Content-Length is not a number")
                return
            if length > self.limit:
                await _send_error(send, 413, "Request body too large", f"at most {self.limit} bytes are accepted")
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _send_error(send, 413, "Request body too large", f"at most {self.limit} bytes are accepted")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class AccessLog:
    """One log line per request with method, path, status, latency and user agent as fields.

    The query string is never logged: a Functions key may travel in `?code=`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            headers = dict(scope.get("headers") or [])
            fields = {
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 1),
                "user_agent": headers.get(b"user-agent", b"").decode("latin-1")[:200],
                "request_id": (scope.get("state") or {}).get("request_id"),
            }
            level = logging.ERROR if status >= 500 else (logging.WARNING if status >= 400 else logging.INFO)
            # scaling/logs.py's JSON formatter turns `extra` into fields of the one line.
            log.log(level, "%s %s %s", fields["method"], fields["path"], status, extra=fields)
