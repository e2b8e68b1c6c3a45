"""The status page's HTML: projects now, the week timeline, recent audit rows, override buttons (pure).

Self-contained: inline CSS and one inline script, no fonts, images or scripts from anywhere. Every value
from a table, a cluster or a person is escaped. The script (see `_SCRIPT`) keeps the API key in
sessionStorage, reloads the content with it, filters the audit table, and calls the override endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from scaling.api.models import ProjectView

UTC = UTC
RESULTS = ("ok", "failed", "busy", "skipped", "dry-run")


@dataclass(frozen=True)
class ProjectStatus:
    """One project's line: the API's view plus since when it is in its state, the next change in its
    local time (instant, new state) and the latest unsettled failures from the audit."""

    view: ProjectView
    since: datetime | None = None
    next_local: tuple[datetime, bool] | None = None
    tick_errors: tuple[str, ...] = ()
    wake_url: str | None = None  # a signed wake link (docs/notifications.md), when links are configured


@dataclass(frozen=True)
class StatusView:
    """Everything on the page. `storage_error` set means nothing could be loaded."""

    now: datetime
    week: date
    zone: str | None = None
    projects: tuple[ProjectStatus, ...] = ()
    row_errors: tuple[str, ...] = ()
    audit: tuple[Any, ...] = ()  # AuditView / AuditRow, newest first
    timeline: str = ""
    storage_error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    received: tuple[Any, ...] | None = None  # local mode: what the webhook receiver got (scaling/notify)
    releases: Any = None  # scaling.page.releases.ReleaseView, when the backend could look


def render_page(view: StatusView, *, nonce: str = "") -> str:
    """The whole document with the content in place."""
    return _document(render_content(view), title="aks-hours status", nonce=nonce)


def login_page(*, nonce: str = "") -> str:
    """The document for a browser without credentials: a key form; the script loads the content."""
    form = (
        '<section class="login" id="login" data-state="login"><h2>API key needed</h2>'
        "<p>This page shows the same data as <code>/api/v1</code> and needs the same key. "
        "It is kept in this tab only (sessionStorage).</p>"
        '<form id="key-form"><label>API key <input type="password" name="key" id="key-input" '
        'autocomplete="off" required></label> <button type="submit">Open</button></form>'
        '<p class="hint">Behind Azure Functions, open the page with <code>?code=&lt;function key&gt;</code>; '
        "with App Service authentication you are signed in already.</p></section>"
    )
    return _document(form, title="aks-hours status: sign in", nonce=nonce)


def render_content(view: StatusView) -> str:
    """The part of the page the script reloads after an override (`/?fragment=1`)."""
    now = view.now.astimezone(UTC)
    parts = [
        f'<div id="page" data-generated="{now.isoformat()}" data-week="{view.week.isoformat()}" '
        f'data-zone="{escape(view.zone or "local")}">'
    ]
    parts.append(_toolbar(view))
    if view.storage_error:
        parts.append(
            f'<p class="banner error" role="alert">Table Storage unavailable: {escape(view.storage_error)}</p>'
        )
        parts.append("</div>")
        return "".join(parts)
    for error in view.row_errors:
        parts.append(f'<p class="banner error" role="alert">{escape(error)}</p>')
    parts.append(_projects(view))
    parts.append(
        f'<section id="timeline"><h2>Week of {view.week.strftime("%d %b %Y")}</h2>'
        f'<div class="svg-wrap">{view.timeline}</div></section>'
    )
    from scaling.page.releases import render as render_releases

    parts.append(render_releases(view.releases))
    parts.append(_audit(view))
    if view.received is not None:
        from scaling.page.received_html import received_section

        parts.append(received_section(view.received))
    parts.append("</div>")
    return "".join(parts)


# -- pieces ---------------------------------------------------------------------------------------------


def _toolbar(view: StatusView) -> str:
    zone = view.zone or "local"
    prev_week, next_week = view.week - timedelta(days=7), view.week + timedelta(days=7)

    def link(week: date | None, label: str) -> str:
        when = f"week={week.isoformat()}&amp;" if week else ""  # no week: the current one
        return f'<a href="?{when}zone={escape(zone)}" data-nav>{label}</a>'

    zones = "".join(
        f'<option value="{escape(z)}"{" selected" if z == zone else ""}>{escape(label)}</option>'
        for z, label in (("local", "each project's local time"), ("UTC", "UTC"))
    ) + ("" if zone in ("local", "UTC") else f'<option value="{escape(zone)}" selected>{escape(zone)}</option>')
    return (
        '<nav class="toolbar">'
        f'<span class="stamp">as of {view.now.astimezone(UTC).strftime("%a %d %b %Y %H:%M:%S")} UTC</span>'
        f"{link(prev_week, '← previous week')} {link(None, 'this week')} {link(next_week, 'next week →')}"
        f'<label>times in <select id="zone-select">{zones}</select></label>'
        '<button type="button" data-action="reload">refresh</button>'
        "</nav>"
    )


def _projects(view: StatusView) -> str:
    if not view.projects:
        return '<section id="projects"><h2>Projects</h2><p>No project is loaded.</p></section>'
    head = (
        "<tr><th>project</th><th>now</th><th>next change (local)</th><th>node pools</th>"
        "<th>workloads</th><th>problems</th><th>override</th></tr>"
    )
    body = "".join(_project_row(status, view.now) for status in view.projects)
    return (
        f'<section id="projects"><h2>Projects</h2><table class="projects"><thead>{head}</thead>'
        f"<tbody>{body}</tbody></table></section>"
    )


def _project_row(status: ProjectStatus, now: datetime) -> str:
    v = status.view
    name = escape(v.name)
    if v.override is not None:
        state, css = f"overriding: {v.override.action}", "override"
    else:
        state, css = v.desired, v.desired
    zone = _zone(v.timezone)
    since = f'<div class="since">since {_when(status.since, now, zone)}</div>' if status.since else ""
    if v.override is not None:
        since += (
            f'<div class="since">until {_when(v.override.until, now, zone)} — {escape(v.override.actor)}: '
            f"{escape(v.override.reason)}</div>"
        )
    tags = (("disabled", not v.enabled), ("dry-run", v.dry_run))
    flags = "".join(f' <span class="tag">{t}</span>' for t, on in tags if on)
    if status.wake_url:
        flags += f' <a class="wake" href="{escape(status.wake_url)}" target="_blank" rel="noopener">wake link</a>'
    if status.next_local:
        at, up = status.next_local
        nxt = (
            f"{escape(at.strftime('%a %d %b %H:%M %Z'))} → <b>{'up' if up else 'down'}</b>"
            f'<div class="since">{_relative(at, now)}</div>'
        )
    else:
        nxt = "never"
    pools = "".join(_pool(p) for p in v.node_pools) or '<span class="muted">none</span>'
    running = sum(1 for w in v.workloads if w.replicas > 0)
    listing = escape(", ".join(f"{w.namespace}/{w.name}={w.replicas}" for w in v.workloads))
    workloads = (
        f'<span title="{listing}">{running} of {len(v.workloads)} running</span>'
        if v.workloads
        else '<span class="muted">none seen</span>'
    )
    problems = "".join(f'<div class="problem">{escape(p)}</div>' for p in (*v.errors, *status.tick_errors)) or "—"
    controls = (
        f'<div class="controls" data-project="{name}">'
        '<input type="text" class="reason" placeholder="reason (required)" maxlength="500" '
        f'aria-label="reason for {name}">'
        f'<input type="text" class="until" maxlength="64" placeholder="until 22:00 or for 2h" '
        f'aria-label="until a time in {escape(v.timezone)} (22:00, tomorrow 09:00) or for a while (2h); '
        'empty: the next schedule change" '
        f'title="22:00, tomorrow 09:00, Fri 18:00 ({escape(v.timezone)} time), or 2h / 90m; '
        'empty: the next schedule change">'
        f'<button type="button" data-action="keep-up" data-project="{name}">keep up until…</button>'
        f'<button type="button" data-action="down-now" data-project="{name}">down now</button>'
        f'<button type="button" data-action="clear" data-project="{name}"'
        f"{'' if v.override else ' disabled'}>clear override</button>"
        '<output class="result" aria-live="polite"></output></div>'
    )
    return (
        f'<tr data-project="{name}" data-state="{escape(css)}"><td><b>{name}</b>{flags}'
        f'<div class="muted">{escape(v.timezone)}</div></td>'
        f'<td><span class="badge {escape(css)}">{escape(state)}</span>{since}</td>'
        f"<td>{nxt}</td><td>{pools}</td><td>{workloads}</td><td>{problems}</td><td>{controls}</td></tr>"
    )


def _pool(pool: Any) -> str:
    """`gpu 0 nodes · Running (was 1)`: count, power state, an operation in progress, the remembered size."""
    text = f"<b>{escape(pool.name)}</b> {pool.count} node{'s' if pool.count != 1 else ''} · {escape(pool.power_state)}"
    if pool.provisioning_state != "Succeeded":
        text += f" · {escape(pool.provisioning_state)}"
    if pool.autoscaling:
        text += " · autoscale"
    if pool.original_count is not None:
        text += f' <span class="muted">(was {pool.original_count})</span>'
    return f'<div class="pool" data-pool="{escape(pool.name)}">{text}</div>'


def _audit(view: StatusView) -> str:
    projects = sorted({row.project for row in view.audit} | {s.view.name for s in view.projects})
    project_options = "".join(f'<option value="{escape(p)}">{escape(p)}</option>' for p in projects)
    result_options = "".join(f'<option value="{r}">{r}</option>' for r in RESULTS)
    head = (
        "<tr><th>time (UTC)</th><th>project</th><th>target</th><th>action</th><th>from → to</th>"
        "<th>trigger / actor</th><th>result</th><th>reason / error</th></tr>"
    )
    rows = []
    for row in view.audit:
        result = getattr(row.result, "value", row.result)
        change = " → ".join(escape(str(x)) for x in (getattr(row, "from_", None), row.to) if x is not None)
        why = escape(row.reason or "") + (f'<div class="problem">{escape(row.error)}</div>' if row.error else "")
        rows.append(
            f'<tr data-project="{escape(row.project)}" data-result="{escape(result)}">'
            f"<td>{row.time.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S')}</td><td>{escape(row.project)}</td>"
            f"<td>{escape(row.target)}</td><td>{escape(row.action)}</td><td>{change}</td>"
            f"<td>{escape(row.trigger)} / {escape(row.actor)}</td>"
            f'<td><span class="result-{escape(result)}">{escape(result)}</span></td><td>{why}</td></tr>'
        )
    table = (
        f'<table class="audit"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
        if rows
        else "<p>No audit rows yet.</p>"
    )
    return (
        '<section id="audit"><h2>Recent audit rows</h2><div class="filters">'
        f'<label>project <select id="audit-project"><option value="">all</option>{project_options}</select></label> '
        f'<label>result <select id="audit-result"><option value="">all</option>{result_options}</select></label> '
        f'<span id="audit-count" class="muted">{len(rows)} rows</span></div>{table}</section>'
    )


def _when(at: datetime, now: datetime, zone: Any = UTC) -> str:
    local = at.astimezone(zone)
    return f'{escape(local.strftime("%a %d %b %H:%M %Z"))} <span class="muted">({_relative(at, now)})</span>'


def _zone(name: str) -> Any:
    try:
        return ZoneInfo(name)
    except Exception:  # a view always carries a checked zone; stay readable if not
        return UTC


def _relative(at: datetime, now: datetime) -> str:
    seconds = int((at - now).total_seconds())
    if abs(seconds) < 60:  # an audit row a moment after the page's clock: not "in 0 min"
        return "just now"
    ahead = seconds >= 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = f"{days} d {hours} h" if days else f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f"in {text}" if ahead else f"{text} ago"


def _document(body: str, *, title: str, nonce: str) -> str:
    nonce_attr = f' nonce="{escape(nonce)}"' if nonce else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        '<header><h1>aks-hours</h1><span class="muted">business hours for shared AKS clusters</span>'
        '<div id="flash" role="status" aria-live="polite"></div></header>'
        f'<main id="content">{body}</main><script{nonce_attr}>{_SCRIPT}</script></body></html>'
    )


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fff;font-size:14px}
header{display:flex;gap:1em;align-items:baseline;padding:.6em 1.2em;background:#263238;color:#fff}
header h1{font-size:1.3em;margin:0} header .muted{color:#b0bec5}
#flash{margin-left:auto;font-weight:600} #flash.error{color:#ffab91} #flash.ok{color:#a5d6a7}
main{padding:0 1.2em 2em} h2{font-size:1.1em;margin:1.2em 0 .5em}
.toolbar{display:flex;gap:1em;align-items:center;flex-wrap:wrap;margin-top:.8em}
.stamp{font-weight:600} a{color:#1565c0}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:.35em .5em;border-bottom:1px solid #e0e0e0}
th{background:#f5f5f5;font-weight:600}
.badge{display:inline-block;padding:.1em .6em;border-radius:1em;font-weight:600;color:#fff;background:#757575}
.badge.up{background:#2e7d32} .badge.down{background:#546e7a} .badge.override{background:#1565c0}
.since,.muted,.hint{color:#757575;font-size:.92em}
.tag{background:#fff3e0;color:#e65100;padding:0 .4em;border-radius:.3em;font-size:.85em}
.problem{color:#b3261e} .pool{white-space:nowrap}
.controls{display:flex;flex-wrap:wrap;gap:.3em;max-width:26em} .controls .reason{flex:1 1 100%}
.controls output{flex-basis:100%;font-size:.9em} .controls output.error{color:#b3261e}
button{cursor:pointer;padding:.25em .6em} button:disabled{cursor:default;opacity:.5}
.banner{padding:.5em .8em;border-radius:.3em} .banner.error{background:#ffebee;color:#b71c1c}
.svg-wrap{overflow-x:auto;border:1px solid #eee;padding:.3em}
.filters{display:flex;gap:1em;align-items:center;margin-bottom:.4em}
.result-failed{color:#b3261e;font-weight:600} .result-busy{color:#e65100}
.result-ok{color:#2e7d32} .result-dry-run{color:#6a1b9a}
.login{max-width:32em;margin:3em auto} .login input{width:18em}
"""

# The page's behaviour. Event delegation on `document`, so content replaced by a reload needs no rebinding.
_SCRIPT = r"""
(function () {
  "use strict";
  var KEY = "aks-hours-key";
  if (location.hash.indexOf("#key=") === 0) {
    sessionStorage.setItem(KEY, decodeURIComponent(location.hash.slice(5)));
    history.replaceState(null, "", location.pathname + location.search);
  }
  var query = new URLSearchParams(location.search);
  function withCode(path) {
    var code = query.get("code");
    return code ? path + (path.indexOf("?") < 0 ? "?" : "&") + "code=" + encodeURIComponent(code) : path;
  }
  function headers(json) {
    var h = {"Accept": json ? "application/json" : "text/html"};
    if (json) h["Content-Type"] = "application/json";
    var key = sessionStorage.getItem(KEY);
    if (key) h["X-API-Key"] = key;
    return h;
  }
  function flash(text, ok) {
    var el = document.getElementById("flash");
    el.textContent = text; el.className = ok ? "ok" : "error";
  }
  function content() { return document.getElementById("content"); }
  function view() {
    var page = document.getElementById("page");
    var week = page ? page.getAttribute("data-week") : query.get("week");
    var zone = page ? page.getAttribute("data-zone") : query.get("zone");
    var params = new URLSearchParams({fragment: "1"});
    if (week) params.set("week", week);
    if (zone) params.set("zone", zone);
    return params;
  }
  function reload(params) {
    var init = {headers: headers(false), credentials: "same-origin"};
    return fetch(withCode("/?" + (params || view()).toString()), init)
      .then(function (r) {
        if (r.status === 401) {
          sessionStorage.removeItem(KEY);
          return r.json().then(function (b) { flash(b.message + ": " + b.error, false); throw new Error("401"); });
        }
        if (!r.ok) throw new Error("the page answered " + r.status);
        return r.text();
      })
      .then(function (html) {
        content().innerHTML = html; applyFilters(); document.body.setAttribute("data-loaded", "1");
      });
  }
  function applyFilters() {
    var p = document.getElementById("audit-project"), res = document.getElementById("audit-result");
    if (!p || !res) return;
    var shown = 0, rows = document.querySelectorAll("table.audit tbody tr");
    rows.forEach(function (tr) {
      var ok = (!p.value || tr.getAttribute("data-project") === p.value) &&
               (!res.value || tr.getAttribute("data-result") === res.value);
      tr.hidden = !ok; if (ok) shown++;
    });
    var count = document.getElementById("audit-count");
    if (count) count.textContent = shown + " of " + rows.length + " rows";
  }
  function callOverride(button) {
    var box = button.closest(".controls"), project = button.getAttribute("data-project");
    var out = box.querySelector("output"), action = button.getAttribute("data-action");
    var reason = box.querySelector(".reason").value.trim(), until = box.querySelector(".until").value;
    var path = "/api/v1/projects/" + encodeURIComponent(project) + "/override", init;
    if (action === "clear") {
      init = {method: "DELETE", headers: headers(true)};
    } else {
      if (!reason) { out.textContent = "a reason is required"; out.className = "result error"; return; }
      var body = {action: action === "keep-up" ? "up" : "down", reason: reason};
      // typed as people type it; the API reads a time in the project's zone and echoes it back
      if (until) { if (/^\s*(\d+(\.\d+)?\s*[a-z]+\s*)+$/i.test(until) || /^P/i.test(until)) body["for"] = until;
                   else body.until = until; }
      init = {method: "POST", headers: headers(true), body: JSON.stringify(body)};
    }
    init.credentials = "same-origin";
    out.textContent = "…"; out.className = "result";
    fetch(withCode(path), init).then(function (r) {
      return r.json().then(function (b) { return {status: r.status, body: b}; });
    }).then(function (answer) {
      if (answer.status >= 400) {
        out.textContent = answer.body.message + (answer.body.error ? ": " + answer.body.error : "");
        out.className = "result error";
        return;
      }
      flash(project + ": " + answer.body.message, true);
      return reload();
    }).catch(function (e) { out.textContent = "request failed: " + e.message; out.className = "result error"; });
  }
  document.addEventListener("submit", function (e) {
    if (e.target.id !== "key-form") return;
    e.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("key-input").value.trim());
    reload().catch(function () {});
  });
  document.addEventListener("click", function (e) {
    var nav = e.target.closest("a[data-nav]");
    if (nav) {
      e.preventDefault();
      var params = new URLSearchParams(nav.getAttribute("href").slice(1)); params.set("fragment", "1");
      reload(params).catch(function () {});
      return;
    }
    var button = e.target.closest("button[data-action]");
    if (!button) return;
    if (button.getAttribute("data-action") === "reload") { reload().catch(function () {}); return; }
    callOverride(button);
  });
  document.addEventListener("change", function (e) {
    if (e.target.id === "audit-project" || e.target.id === "audit-result") applyFilters();
    if (e.target.id === "zone-select") {
      var p = view(); p.set("zone", e.target.value); reload(p).catch(function () {});
    }
  });
  if (document.getElementById("login") && sessionStorage.getItem(KEY)) {
    reload().catch(function () {});
  } else if (document.getElementById("page")) {
    applyFilters(); document.body.setAttribute("data-loaded", "1");
  }
})();
"""
