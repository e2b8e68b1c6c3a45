"""Routes behind signed links (scaling/notify/links.py): `/link/<project>?<signed query>`.

    GET  /link/<project>            the confirmation page (or the wake page's duration choice); changes nothing,
                                    because chat clients and mail scanners fetch links to preview them
    POST /link/<project>            applies the action as an override by `link:<channel>`, audited like any
    GET  /link/<project>/wake       the wake-up's progress page (a signed wake link)
    GET  /link/<project>/progress   its JSON: stage, pools, workloads, ETA (read-only)

The signed query is the credential: it names the project, action, until, expiry and channel, and any change
to it is refused. A refused link gets a page saying why, and nothing changes.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from scaling.api.auth import Caller
from scaling.api.errors import ApiError
from scaling.api.views import to_override
from scaling.model import Project
from scaling.names import is_dns1123_label
from scaling.notify.headsup import GPU_SIZE, project_override, summarise
from scaling.notify.links import Link, LinkAction, LinkError, LinkKeys, verify
from scaling.notify.progress import eta, progress
from scaling.notifying import Prices
from scaling.override import OverrideAction
from scaling.page.link_html import (
    WAKE_CHOICES,
    confirm_page,
    done_page,
    refused_page,
    wake_choice_page,
    wake_page,
    when,
)

router = APIRouter(include_in_schema=False)
_prices: Prices | None = None
_NO_POOL = type("NoPool", (), {"vm_size": None})()


def _price_table() -> Prices:
    global _prices
    if _prices is None:
        _prices = Prices()
    return _prices


class Refused(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def _keys(request: Request) -> LinkKeys:
    settings = request.app.state.settings
    keys = LinkKeys.from_settings(settings.link_key, settings.link_key_previous)
    if keys is None:
        raise Refused(404, "malformed", "signed links are not configured here (SCALING_LINK_KEY is not set)")
    return keys


def _link(request: Request, project: str, *, want: LinkAction | None = None) -> Link:
    if not is_dns1123_label(project):
        raise Refused(404, "malformed", "the link names no project")
    query = {k: v for k, v in request.query_params.items()}
    try:
        link = verify(project, query, _keys(request), request.app.state.clock())
    except LinkError as error:
        raise Refused(410 if error.reason == "expired" else 403, error.reason, str(error)) from None
    if want is not None and link.action is not want:
        raise Refused(403, "malformed", f"this is a {link.action.value} link, not a {want.value} link")
    return link


def _service_and_project(request: Request, name: str) -> tuple[Any, Project]:
    from scaling.api.service import service_of

    service = service_of(request)
    try:
        return service, service.project(name)
    except ApiError as error:
        raise Refused(error.status, "unknown", f"{error.message}: {error.detail}") from None


def _page(html: str, status: int = 200, nonce: str | None = None) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=_headers(nonce))


def _refusal(refused: Refused) -> HTMLResponse:
    return _page(refused_page(reason=refused.reason, message=refused.message), refused.status)


def _hourly(service: Any, project: Project) -> float:
    try:
        seen = service.backend.observe(project.cluster, [project], for_view=True)
    except Exception:  # noqa: BLE001 - the page still works; the cost is then unknown (0)
        return 0.0
    return summarise(project, seen, _price_table()).saves_per_hour


def _money(amount: float) -> str:
    return f"about {amount:,.2f} {_price_table().currency}"


@router.get("/link/{project}", response_class=HTMLResponse)
def link_page(project: str, request: Request) -> Response:
    """The confirmation page: what will happen, until when, and what it costs. Never changes anything."""
    try:
        link = _link(request, project)
        service, loaded = _service_and_project(request, project)
    except Refused as refused:
        return _refusal(refused)
    now = request.app.state.clock()
    hourly = _hourly(service, loaded)
    action_url = f"{request.url.path}?{request.url.query}"
    if link.action is LinkAction.WAKE:
        return _page(
            wake_choice_page(project=project, action_url=action_url, cost_per_hour=_money(hourly), channel=link.channel)
        )
    assert link.until is not None
    zone = loaded.schedule.zone
    if link.action is LinkAction.DOWN_NOW:
        what, cost = f"Let {project} go down now", f"saves {_money(hourly)} per hour"
    else:
        hours = max(0.0, (link.until - now).total_seconds() / 3600)
        what, cost = f"Keep {project} up until {link.until.astimezone(zone):%H:%M}", _money(hourly * hours)
    until = when(link.until, zone, loaded.spec.timezone)
    return _page(
        confirm_page(project=project, what=what, until=until, cost=cost, action_url=action_url, channel=link.channel)
    )


@router.post("/link/{project}", response_class=HTMLResponse)
async def link_apply(project: str, request: Request) -> Response:
    """Apply the link's action as an override by `link:<channel>`."""
    form = parse_qs((await request.body()).decode("utf-8", "replace")[:1000])
    return await run_in_threadpool(_apply, project, request, form)


def _apply(project: str, request: Request, form: dict[str, list[str]]) -> Response:
    try:
        link = _link(request, project)
        service, loaded = _service_and_project(request, project)
        now = request.app.state.clock()
        action, until, label = _intent(link, form, now)
        actor = f"link:{link.channel}"
        override = to_override(
            loaded,
            action,
            reason=f"{label} (signed link)",
            actor=actor,
            now=now,
            until=until,
            settings=request.app.state.settings,
        )
        applied = service.apply_override(loaded, override, now, Caller(actor=actor, via="link"))
    except Refused as refused:
        return _refusal(refused)
    except ApiError as error:
        return _page(refused_page(reason="failed", message=f"{error.message}: {error.detail}"), error.status)
    if link.action is LinkAction.WAKE:
        return RedirectResponse(f"/link/{project}/wake?{request.url.query}", status_code=303, headers=_headers(None))
    message = applied.message(
        f"{label}: {project} held {action.value} until {when(until, loaded.schedule.zone, loaded.spec.timezone)}"
    )
    return _page(done_page(project=project, message=message))


def _intent(link: Link, form: dict[str, list[str]], now: datetime) -> tuple[OverrideAction, datetime, str]:
    if link.action is LinkAction.WAKE:
        hours = (form.get("hours") or [""])[0]
        if hours not in {value for value, _ in WAKE_CHOICES}:
            raise Refused(400, "malformed", f"hours {hours[:10]!r} is not one of the offered durations")
        return OverrideAction.UP, now + timedelta(hours=int(hours)), f"Wake up for {hours} h"
    assert link.until is not None
    if link.until <= now:
        raise Refused(410, "expired", f"the time this link keeps it until ({link.until:%H:%M} UTC) has passed")
    if link.action is LinkAction.DOWN_NOW:
        return OverrideAction.DOWN, link.until, link.action.label
    return OverrideAction.UP, link.until, link.action.label


@router.get("/link/{project}/wake", response_class=HTMLResponse)
def wake_status(project: str, request: Request) -> Response:
    try:
        _link(request, project, want=LinkAction.WAKE)
    except Refused as refused:
        return _refusal(refused)
    nonce = secrets.token_urlsafe(16)
    return _page(
        wake_page(project=project, progress_url=f"/link/{project}/progress?{request.url.query}", nonce=nonce),
        nonce=nonce,
    )


@router.get("/link/{project}/progress")
def wake_progress(project: str, request: Request) -> Response:
    """Stage, pools, workloads and ETA of the project's wake-up; records its duration once all is Ready."""
    try:
        _link(request, project, want=LinkAction.WAKE)
        service, loaded = _service_and_project(request, project)
    except Refused as refused:
        return JSONResponse({"error": refused.reason, "detail": refused.message}, status_code=refused.status)
    now = request.app.state.clock()
    try:
        seen = service.backend.observe(loaded.cluster, [loaded])
    except Exception as error:  # noqa: BLE001
        from scaling.logs import said

        return JSONResponse({"stage": "pools starting", "detail": said(error), "eta": None}, headers=_headers(None))
    state = progress(loaded, seen)
    override = project_override(loaded, service.backend.overrides(), now)
    started = override.created if override is not None else now
    store = getattr(getattr(service.backend, "context", None), "notifications", None)
    if state.done and override is not None and store is not None:
        store.record_wake(project, started, (now - started).total_seconds())
    measured = store.wake_seconds(project) if store is not None else []
    gpu = any(GPU_SIZE.match((seen.pool(p.name) or _NO_POOL).vm_size or "") for p in state.pools)
    at, from_measures = eta(measured, started, now, gpu=gpu)
    pools = ", ".join(f"{p.name}: {p.nodes} node(s), {p.state}" for p in state.pools) or "no node pools"
    detail = f"{pools}; workloads ready {state.workloads_ready} of {state.workloads}" + (
        f"; {state.error}" if state.error else ""
    )
    body = {
        "stage": state.stage,
        "pools": [{"name": p.name, "nodes": p.nodes, "state": p.state, "ready": p.ready} for p in state.pools],
        "workloads_ready": state.workloads_ready,
        "workloads": state.workloads,
        "eta": at.isoformat(),
        "eta_measured": from_measures,
        "detail": detail,
    }
    return JSONResponse(body, headers=_headers(None))


def _headers(nonce: str | None) -> dict[str, str]:
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",  # the link's signature is in the URL
        "X-Robots-Tag": "noindex, nofollow",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'unsafe-inline'; script-src {script}; connect-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
    }
