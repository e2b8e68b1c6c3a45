"""The HTTP API as one ASGI app: `create_app(context_factory, settings)`, served by Functions or uvicorn.

`context_factory` builds what the endpoints act through (Table Storage, clusters); it is called once, on
the first request that needs it, so importing and building the app needs no Azure setting at all.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from scaling.api.auth import AuthConfig, caller
from scaling.api.errors import AccessLog, ApiError, BodyLimit, install_error_handlers
from scaling.api.models import ErrorBody, HealthBody, NotReadyBody, ReadyBody
from scaling.api.wire import JsonBody, RequestId
from scaling.settings import Settings

Clock = Callable[[], datetime]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "Bad JSON or failed validation"),
        (401, "Missing or wrong API key"),
        (403, "A project lists the namespace, but its Workloads / Exclude leave the deployment out"),
        (404, "Unknown project, deployment or namespace"),
        (413, "Body too large"),
    )
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class LazyContext:
    """Builds the context on first use, once, even under concurrent requests."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: Any = None

    def get(self) -> Any:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
        return self._value


def as_service(value: Any, settings: Settings) -> Any:
    """The ApiService for what the context factory gave: a service, a bare Backend, or the engine's context."""
    from scaling.api.service import ApiService

    if isinstance(value, ApiService):
        return value
    if hasattr(value, "load_projects") and hasattr(value, "reconcile"):
        return ApiService(value, dry_run=settings.dry_run)
    from scaling.api.backend import ContextBackend

    return ApiService(ContextBackend(value, settings), dry_run=settings.dry_run)


def create_app(
    context_factory: Callable[[], Any],
    settings: Settings,
    *,
    behind_functions_host: bool = False,
    clock: Clock = utcnow,
    auth: AuthConfig | None = None,
) -> FastAPI:
    """The API. `behind_functions_host`: the Functions host has already checked the function key."""
    from scaling.api import notify as api_notify
    from scaling.api import projects as api_projects
    from scaling.api import reference as api_reference
    from scaling.api import release as api_release
    from scaling.api.docs import install_docs
    from scaling.page import link_routes
    from scaling.page import routes as status_page

    app = FastAPI(
        title="aks-hours",
        version="1",
        summary="Scheduled scale-to-zero for shared AKS clusters: overrides, status, plan and audit.",
        description=(
            "Reference-compatible Scale API (`/api/v1/deployments/...`) plus projects, overrides, plans and "
            "audit. `/api/v1/*` needs the API key (`Authorization: Bearer <key>` or `X-API-Key`) when one is "
            "configured; in Azure the Functions key is checked by the host first. See docs/api.md."
        ),
        responses={413: ERRORS[413]},
        docs_url=None,  # served by api_docs from bundled assets: FastAPI's default loads them from a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.context = LazyContext(lambda: as_service(context_factory(), settings))
    app.state.auth = auth or AuthConfig.from_env(api_key=settings.api_key, behind_functions_host=behind_functions_host)
    install_error_handlers(app)
    # Added innermost first. Outermost: the request id (on every response, and in the log line), then the
    # log line, then the body cap before anything parses it, then the reference routes' JSON leniency.
    app.add_middleware(JsonBody)
    app.add_middleware(BodyLimit)
    app.add_middleware(AccessLog)
    app.add_middleware(RequestId)

    @app.get("/health", response_model=HealthBody, tags=["health"])
    def health() -> HealthBody:
        """Liveness: answers without touching any dependency. No key needed."""
        return HealthBody(time=clock())

    @app.get("/ready", response_model=ReadyBody, tags=["health"], responses={503: {"model": NotReadyBody}})
    def ready(request: Request) -> Any:
        """Readiness: Table Storage and every configured cluster answer. No key needed."""
        from scaling.api.service import service_of

        try:
            checks = service_of(request).readiness()
        except ApiError as error:  # the context could not be built: Table Storage did not answer
            checks = {"table-storage": f"unreachable: {error.detail}"}
        failed = {name: state for name, state in checks.items() if state != "ok"}
        if failed:
            # The reference's fixed text when a cluster does not answer; which one and why is in `checks`.
            storage_down = any(not name.startswith("cluster ") for name in failed)
            text = "unable to connect to Table Storage" if storage_down else "unable to connect to Kubernetes API"
            body = NotReadyBody(error=text, time=clock(), checks=checks)
            return JSONResponse(body.model_dump(mode="json"), status_code=503)
        return ReadyBody(time=clock())  # the reference's three fields, nothing else

    protected = [Depends(caller)]
    app.include_router(api_reference.router, dependencies=protected)
    app.include_router(api_projects.router, dependencies=protected)
    app.include_router(api_notify.router, dependencies=protected)
    app.include_router(api_release.router, dependencies=protected)
    app.include_router(status_page.router)  # GET / (the status page checks the same auth itself), /api/v1/report
    app.include_router(link_routes.router)  # /link/*: the signed query is the credential
    install_docs(app)
    return app
