"""The operator's status page (`GET /`) and the savings report route (`GET /api/v1/report`).

`GET /` needs the same credentials as `/api/v1/*` (API key header, trusted principal, or the Functions
host's key check). A browser cannot send a header on navigation, so without credentials the answer is a
401 page holding only a key form: the page's script keeps the key in `sessionStorage` (never a cookie,
never the URL it sends) and fetches `/?fragment=1` with `X-API-Key`; the override buttons call the API
with the same header. Behind the Functions host a `?code=` in the page URL is passed on to every call.
`python -m scaling serve` prints `http://127.0.0.1:7071/#key=...`: the fragment never leaves the browser.

Gathering is one read per table (projects, overrides, one audit page) and one observation per cluster;
rendering is pure (scaling/page/html.py).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from scaling.api.auth import AuthError, authenticate, caller
from scaling.api.errors import ApiError, error_response
from scaling.api.models import ErrorBody, UtcTime
from scaling.api.views import check_year, project_view
from scaling.clusters.per_cluster import observe_clusters
from scaling.logs import redact, said  # dependency errors are shown to the caller: no secrets
from scaling.model import Project
from scaling.page.html import ProjectStatus, StatusView, login_page, render_content, render_page
from scaling.page.savings import PriceTable, SavingsError, compute_savings, month_range, read_audit, vm_sizes_of
from scaling.page.timeline_svg import OverrideSpan, TimelineRow, week_svg

UTC = UTC
AUDIT_ROWS = 100
PRICES_SETTING = "SCALING_PRICES"

router = APIRouter()


@dataclass(frozen=True)
class PageOptions:
    """What the viewer chose: the week shown (its Monday) and the display zone (None: local per project)."""

    week: date
    zone: str | None


def options_from(now: datetime, week: str | None, zone: str | None) -> PageOptions:
    """The Monday of `week` (any ISO date in it; default: this week in UTC) and a checked display zone."""
    if week:
        try:
            day = date.fromisoformat(week)
        except ValueError:
            raise ApiError(
                400, "Invalid request", f"query parameter week {week!r}: expected a date YYYY-MM-DD"
            ) from None
        check_year(day, "query parameter week")  # the week's days around year 1 or 9999 overflow
    else:
        day = now.astimezone(UTC).date()
    if zone not in (None, "", "local"):
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(zone)
        except Exception:
            raise ApiError(400, "Invalid request", f"query parameter zone {zone!r}: not an IANA time zone") from None
    return PageOptions(week=day - timedelta(days=day.weekday()), zone=None if zone in (None, "", "local") else zone)


def gather(backend: Any, now: datetime, options: PageOptions) -> StatusView:
    """Everything the page shows, read through the API's `Backend`; a failing read becomes a message."""
    try:
        projects, row_errors = backend.load_projects()
    except Exception as error:
        return StatusView(
            now=now, week=options.week, zone=options.zone, storage_error=f"loading projects failed: {said(error)}"
        )
    problems: list[str] = []
    try:
        overrides = list(backend.overrides())
    except Exception as error:
        overrides, problems = [], [f"loading overrides failed: {said(error)}"]
    try:
        audit, _ = backend.audit(project=None, since=None, until=None, limit=AUDIT_ROWS, continuation=None)
    except Exception as error:
        audit, problems = [], problems + [f"reading audit rows failed: {said(error)}"]
    seen = observe_clusters(backend, projects)
    ordered = sorted(projects, key=lambda p: p.name)
    statuses = tuple(
        ProjectStatus(
            view=project_view(p, seen.get(p.cluster), overrides, now),
            since=state_since(p, overrides, now),
            next_local=_next_local(p, now),
            tick_errors=tuple(tick_errors(audit, p.name)),
        )
        for p in ordered
    )
    spans = [
        OverrideSpan(o.project, o.created, o.until, up=o.wants_up, label=f"{o.actor}: {o.reason}")
        for o in overrides
        if o.target is None and o.until > now - timedelta(days=7)
    ]
    rows = [
        TimelineRow(p.name, p.schedule, note="; ".join(s.view.errors)[:300])
        for p, s in zip(ordered, statuses, strict=True)
    ]
    svg = week_svg(rows, overrides=spans, start=options.week, now=now, display_zone=options.zone)
    return StatusView(
        now=now,
        week=options.week,
        zone=options.zone,
        projects=statuses,
        row_errors=tuple(str(e) for e in row_errors) + tuple(problems),
        audit=tuple(audit),
        timeline=svg,
        releases=_releases(backend, now, audit),
    )


def _releases(backend: Any, now: datetime, audit: Sequence[Any]) -> Any:
    """The Releases section, when the backend can look (scaling.api.backend.ContextBackend.holdings)."""
    from scaling.page.releases import ReleaseView, view_of

    look = getattr(backend, "holdings", None)
    if look is None:
        return None
    try:
        preview, warning = look(now)
    except Exception as error:
        return ReleaseView(problems=(f"looking for holds failed: {said(error)}",))
    return view_of(preview, audit, warning)


def state_since(project: Project, overrides: Sequence[Any], now: datetime) -> datetime | None:
    """Since when the project is in its current desired state: the active override's creation, else the
    schedule's last change (None when it has not changed in the last 8 days)."""
    active = [o for o in overrides if o.project == project.name and o.target is None and o.active(now)]
    if active:
        return max(o.created for o in active)
    changes = project.schedule.transitions(now - timedelta(days=8), now)
    return changes[-1][0] if changes else None


def tick_errors(audit: Sequence[Any], project: str, limit: int = 3) -> list[str]:
    """The project's latest failed / busy rows whose target has not succeeded since (audit is newest first)."""
    settled: set[str] = set()
    out: list[str] = []
    for row in audit:
        if row.project != project:
            continue
        result = getattr(row.result, "value", row.result)
        if result in ("ok", "dry-run"):
            settled.add(row.target)
        elif result in ("failed", "busy") and row.target not in settled:
            settled.add(row.target)
            when = row.time.astimezone(UTC).strftime("%d %b %H:%MZ")
            out.append(f"{when} {row.target}: {result}" + (f" ({row.error})" if row.error else ""))
            if len(out) == limit:
                break
    return out


def _next_local(project: Project, now: datetime) -> tuple[datetime, bool] | None:
    change = project.schedule.next_change(now)
    return (change.astimezone(project.schedule.zone), project.schedule.is_up(change)) if change else None


@router.get("/", include_in_schema=False, response_class=HTMLResponse)
def status_page(
    request: Request,
    week: Annotated[str | None, Query(max_length=10)] = None,
    zone: Annotated[str | None, Query(max_length=64)] = None,
    fragment: bool = False,
) -> Response:
    """The status page; without credentials, the key form (401)."""
    now = request.app.state.clock()
    nonce = secrets.token_urlsafe(16)
    try:
        authenticate(request.app.state.auth, request.headers)
    except AuthError as error:
        if fragment:
            return error_response(401, error.message, error.detail, headers={"WWW-Authenticate": "Bearer"})
        return HTMLResponse(login_page(nonce=nonce), status_code=401, headers=_no_store(nonce))
    options = options_from(now, week, zone)
    from scaling.api.service import service_of

    view = gather(service_of(request).backend, now, options)
    view = with_notify_parts(view, request.app.state, now)
    html = render_content(view) if fragment else render_page(view, nonce=nonce)
    return HTMLResponse(html, headers=_no_store(nonce))


class PoolSavingsView(BaseModel):
    project: str
    cluster: str
    pool: str
    vm_size: str | None
    hours_down: float
    node_hours: float
    intervals: int
    price_per_hour: float | None = Field(description="null: the VM size is not in the price table")
    cost: float | None
    still_down: bool = Field(description="still scaled down at the end of the period")
    estimated: bool = Field(description="includes time estimated from the schedule (missing audit rows)")


class ProjectSavingsView(BaseModel):
    project: str
    node_hours: float
    cost: float
    unpriced_pools: list[str]


class SavingsView(BaseModel):
    month: str
    zone: str
    start: str
    end: str = Field(description="exclusive; now, when the month is not over")
    currency: str
    prices_as_of: str
    total_node_hours: float
    total_cost: float
    projects: list[ProjectSavingsView]
    pools: list[PoolSavingsView]
    notes: list[str]


class ReportResponse(BaseModel):
    status: Literal["success"] = "success"
    report: SavingsView
    timestamp: UtcTime


REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The report (JSON, or CSV with format=csv)",
    },
    400: {"model": ErrorBody, "description": "Bad month, zone or price table"},
    401: {"model": ErrorBody, "description": "Missing or wrong API key"},
    503: {"model": ErrorBody, "description": "Table Storage unavailable"},
}


@router.get(
    "/api/v1/report",
    tags=["report"],
    dependencies=[Depends(caller)],
    response_model=ReportResponse,
    responses=REPORT_RESPONSES,
)
def savings_report(
    request: Request,
    month: Annotated[str, Query(max_length=7, description="Calendar month YYYY-MM.")],
    zone: Annotated[str, Query(max_length=64, description="Time zone the month is counted in.")] = "UTC",
    format: Annotated[Literal["json", "csv"], Query(description="json (default) or csv")] = "json",
) -> Any:
    """Node-hours and estimated cost avoided in `month`, per project and node pool, from the audit trail."""
    try:
        month_range(month, zone)
        prices = PriceTable.load(_prices_path())
    except SavingsError as error:
        raise ApiError(400, "Invalid request", str(error)) from None
    from scaling.api.service import service_of

    backend = service_of(request).backend
    now = request.app.state.clock()
    try:
        rows = read_audit(backend.audit, month=month, zone=zone)
        projects, _ = backend.load_projects()
    except Exception as error:
        raise ApiError(503, "Table Storage unavailable", f"reading the audit trail failed: {said(error)}") from error
    looks = observe_clusters(backend, projects)
    seen = [look for look in looks.values() if look.pools]  # pools listed even where the workloads were not
    notes = [
        f"cluster {look.cluster.name}: node pools not listed ({redact(look.error)}); their cost is not counted"
        for look in looks.values()
        if look.error and not look.pools
    ]
    report = compute_savings(
        rows,
        month=month,
        zone=zone,
        now=now,
        prices=prices,
        vm_sizes=vm_sizes_of(seen),
        schedules={p.name: (p.schedule, p.warmup_minutes) for p in projects},
    )
    if format == "csv":
        from scaling.page.savings import to_csv

        return Response(
            to_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="aks-hours-savings-{month}.csv"'},
        )
    data = report.as_dict()
    data["notes"] = notes + data["notes"]
    return ReportResponse(report=SavingsView.model_validate(data), timestamp=now)


def with_notify_parts(view: StatusView, state: Any, now: datetime) -> StatusView:
    """Each project's signed wake link (when links are configured) and, in local mode, the receiver's messages."""
    from dataclasses import replace

    from scaling.notify.links import LinkAction, LinkKeys, make_link

    settings = state.settings
    keys = LinkKeys.from_settings(settings.link_key, settings.link_key_previous)
    if keys is not None and settings.public_url:
        expires = now + timedelta(hours=12)
        statuses = tuple(
            replace(
                s,
                wake_url=make_link(s.view.name, LinkAction.WAKE, expires=expires, channel="page").url(
                    settings.public_url, keys
                ),
            )
            for s in view.projects
        )
        view = replace(view, projects=statuses)
    receiver = getattr(state, "local_receiver", None)
    if receiver is not None:
        view = replace(view, received=tuple(receiver.messages()))
    return view


def _prices_path() -> str | None:
    return os.environ.get(PRICES_SETTING) or None


def _no_store(nonce: str) -> dict[str, str]:
    # Live state behind a key: never cached. The policy lets only the page's own script run and talk to
    # this origin: nothing is loaded from anywhere else.
    policy = (
        f"default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; connect-src 'self'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Content-Security-Policy": policy,
    }
