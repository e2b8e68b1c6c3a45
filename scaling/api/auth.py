"""Who is calling: the reference API key, the Functions host's key check, and App Service identities.

Layers, outermost first:
- In Azure the Functions host checks the function key (`AuthLevel.FUNCTION`) before the app sees a
  request; the app cannot see or re-check that key, so `behind_functions_host=True` says it happened.
- When `SCALING_API_KEY` is set, every `/api/v1/*` call must also carry it, as `Authorization: Bearer <key>`
  (the reference API's way) or `X-API-Key: <key>`; compared in constant time. Actor: `api-key`.
- `X-MS-CLIENT-PRINCIPAL-NAME` is recorded as the actor only when it can be trusted: App Service
  authentication is on (`WEBSITE_AUTH_ENABLED=true`; the platform then sets that header itself and drops
  copies sent by callers) or `SCALING_TRUST_PRINCIPAL_HEADER=true` (a proxy you run does the same). A
  trusted principal is an authenticated caller, so it needs no API key.
- Fail closed: outside the Functions host with no API key, `/api/v1/*` is refused (`serve` always sets one).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

PRINCIPAL_HEADER = "x-ms-client-principal-name"
MAX_ACTOR = 200


class AuthError(Exception):
    """401: the caller is not authenticated; the message says what to send, `detail` (the body's `error`)
    is the reference API's text word for word."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class AuthConfig:
    """How this app instance authenticates callers."""

    api_key: str | None
    behind_functions_host: bool
    trust_principal_header: bool

    @classmethod
    def from_env(
        cls, *, api_key: str | None, behind_functions_host: bool, env: Mapping[str, str] | None = None
    ) -> AuthConfig:
        env = os.environ if env is None else env
        return cls(
            api_key=api_key or None,
            behind_functions_host=behind_functions_host,
            trust_principal_header=_truthy(env.get("WEBSITE_AUTH_ENABLED"))
            or _truthy(env.get("SCALING_TRUST_PRINCIPAL_HEADER")),
        )


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: `actor` goes into overrides and audit rows, `via` says how it got in."""

    actor: str
    via: str  # api-key | principal | function-key


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


# The reference API's 401 texts, word for word (its middleware/auth.go); its callers' scripts compare them.
HEADER_REQUIRED = "Authorization header required"
BAD_FORMAT = "Invalid authorization format. Use: Bearer <api-key>"
WRONG_KEY = "Invalid API key"


def _presented_key(headers: Mapping[str, str]) -> str | None:
    """The key sent as `X-API-Key`, else as `Authorization: Bearer <key>`; AuthError for a malformed
    Authorization header (the reference's "Invalid authorization format")."""
    key = headers.get("x-api-key", "").strip()
    if key:
        return key
    authorization = headers.get("authorization", "")
    if not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise AuthError(f"{BAD_FORMAT} (or send the key as X-API-Key: <api-key>)", BAD_FORMAT)
    return token.strip()


def _principal(headers: Mapping[str, str]) -> str | None:
    name = headers.get(PRINCIPAL_HEADER, "").strip()
    if not name:
        return None
    # Printable text only, bounded: it is written into audit rows and log lines.
    cleaned = "".join(ch for ch in name if ch.isprintable())[:MAX_ACTOR]
    return cleaned or None


def authenticate(config: AuthConfig, headers: Mapping[str, str]) -> Caller:
    """The caller of one `/api/v1/*` request, or AuthError (401)."""
    principal = _principal(headers) if config.trust_principal_header else None
    if config.api_key:
        try:
            presented = _presented_key(headers)
        except AuthError:
            if principal:  # App Service authentication let it in; its header may carry anything
                return Caller(actor=principal, via="principal")
            raise
        if presented is not None:
            if hmac.compare_digest(presented.encode("utf-8"), config.api_key.encode("utf-8")):
                return Caller(actor=principal or "api-key", via="api-key")
            raise AuthError(f"{WRONG_KEY}: the key sent does not match SCALING_API_KEY", WRONG_KEY)
        if principal:
            return Caller(actor=principal, via="principal")
        raise AuthError(
            f"{HEADER_REQUIRED}: send 'Authorization: Bearer <api-key>' or 'X-API-Key: <api-key>'", HEADER_REQUIRED
        )
    if principal:
        return Caller(actor=principal, via="principal")
    if config.behind_functions_host:
        return Caller(actor="function-key", via="function-key")
    raise AuthError(
        "API key required",
        "no API key is configured (SCALING_API_KEY) and the app is not behind the Functions host; "
        "refusing every /api/v1 call",
    )


# Declared so the OpenAPI document (and /docs' "Authorize" button) shows both ways to send the key;
# the check itself is `authenticate`, which also knows about the Functions host and App Service principals.
_bearer = HTTPBearer(auto_error=False, description="The API key (SCALING_API_KEY) as a bearer token.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key (SCALING_API_KEY).")


def caller(
    request: Request,
    _bearer_key: HTTPAuthorizationCredentials | None = Security(_bearer),
    _header_key: str | None = Security(_api_key),
) -> Caller:
    """FastAPI dependency: the authenticated caller of this request."""
    return authenticate(request.app.state.auth, request.headers)
