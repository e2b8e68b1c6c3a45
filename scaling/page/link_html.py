"""The pages a signed link opens (pure): confirm an action, the result, a refused link, and the wake page
with its progress. A GET shows one of these and changes nothing; only the form's POST acts."""

from __future__ import annotations

import json
from datetime import datetime
from html import escape

WAKE_CHOICES = (("1", "1 hour"), ("2", "2 hours"), ("4", "4 hours"), ("8", "8 hours"))

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa;font-size:15px}
header{padding:.7em 1.2em;background:#263238;color:#fff} header h1{font-size:1.2em;margin:0}
main{max-width:36em;margin:1.5em auto;padding:1.2em 1.5em;background:#fff;border:1px solid #e0e0e0;border-radius:.4em}
h2{font-size:1.15em;margin-top:0} dt{font-weight:600;margin-top:.5em} dd{margin:0}
button{font-size:1em;padding:.45em 1em;cursor:pointer;background:#1565c0;color:#fff;border:0;border-radius:.3em}
.refused{color:#b3261e} .done{color:#2e7d32} .muted{color:#757575;font-size:.92em}
ol.stages li{margin:.3em 0;color:#757575} ol.stages li.now{color:#1565c0;font-weight:600}
ol.stages li.past{color:#2e7d32}
"""


def confirm_page(*, project: str, what: str, until: str, cost: str, action_url: str, channel: str) -> str:
    body = (
        f'<h2>{escape(what)}</h2><dl class="facts" data-project="{escape(project)}">'
        f"<dt>Project</dt><dd>{escape(project)}</dd>"
        f"<dt>Until</dt><dd>{escape(until)}</dd>"
        f"<dt>What it costs</dt><dd>{escape(cost)}</dd></dl>"
        f'<form method="post" action="{escape(action_url)}" id="confirm"><p><button type="submit">Confirm</button></p>'
        f'<p class="muted">Opening this page changed nothing. Confirming sets an override on {escape(project)} '
        f"as <code>link:{escape(channel)}</code>; it is audited and shown on the status page.</p></form>"
    )
    return _document(body, title=f"{what} · aks-hours")


def wake_choice_page(*, project: str, action_url: str, cost_per_hour: str, channel: str) -> str:
    options = "".join(
        f'<label><input type="radio" name="hours" value="{value}"{" checked" if n == 1 else ""}> {label}</label><br>'
        for n, (value, label) in enumerate(WAKE_CHOICES)
    )
    body = (
        f"<h2>Wake {escape(project)} up</h2>"
        f'<form method="post" action="{escape(action_url)}" id="confirm" data-project="{escape(project)}">'
        f"<p>For how long?</p><p>{options}</p>"
        f"<p>It costs about {escape(cost_per_hour)} per hour while it is up.</p>"
        '<p><button type="submit">Wake it up</button></p>'
        f'<p class="muted">Opening this page changed nothing. Waking sets an override as '
        f"<code>link:{escape(channel)}</code>; it is audited and shown on the status page.</p></form>"
    )
    return _document(body, title=f"Wake {project} · aks-hours")


def done_page(*, project: str, message: str, status_url: str | None = None) -> str:
    more = f'<p><a href="{escape(status_url)}">Follow the wake-up</a></p>' if status_url else ""
    body = f'<h2 class="done" id="done" data-project="{escape(project)}">Done</h2><p>{escape(message)}</p>{more}'
    return _document(body, title="Done · aks-hours")


def refused_page(*, reason: str, message: str) -> str:
    titles = {
        "expired": "This link has expired",
        "tampered": "This link is not valid",
        "other-project": "This link is for another project",
        "malformed": "This link is not valid",
    }
    body = (
        f'<h2 class="refused" id="refused" data-reason="{escape(reason)}">{escape(titles.get(reason, "Refused"))}</h2>'
        f"<p>{escape(message)}.</p><p>Nothing was changed. Ask for a new link, or use the status page.</p>"
    )
    return _document(body, title="Link refused · aks-hours")


def wake_page(*, project: str, progress_url: str, nonce: str) -> str:
    stages = "".join(
        f'<li data-stage="{s}">{label}</li>'
        for s, label in (
            ("pools starting", "Node pools starting"),
            ("nodes ready", "Nodes Ready"),
            ("workloads ready", "Workloads Ready"),
            ("ready", "Everything is up"),
        )
    )
    body = (
        f'<h2>Waking {escape(project)}</h2><ol class="stages" id="stages">{stages}</ol>'
        '<p id="eta" class="muted">looking…</p><p id="detail" class="muted"></p>'
        f'<script nonce="{escape(nonce)}">{_progress_script(progress_url)}</script>'
    )
    return _document(body, title=f"Waking {project} · aks-hours")


def when(at: datetime, zone: object, zone_name: str) -> str:
    return f"{at.astimezone(zone):%a %d %b %H:%M} ({zone_name})"  # type: ignore[arg-type]


def _progress_script(url: str) -> str:
    # Polls the signed progress URL (read-only) until everything is Ready; marks past and current stages.
    return (
        "const order=['pools starting','nodes ready','workloads ready','ready'];"
        f"const url={_js_string(url)};"
        "async function poll(){let d;try{const r=await fetch(url,{cache:'no-store'});d=await r.json();}"
        "catch(e){document.getElementById('detail').textContent='cannot reach the app; retrying';"
        "setTimeout(poll,5000);return;}"
        "const at=order.indexOf(d.stage);"
        "document.querySelectorAll('#stages li').forEach((li,i)=>{li.className=i<at?'past':(i===at?'now':'');});"
        "document.body.dataset.stage=d.stage;"
        "document.getElementById('eta').textContent=d.stage==='ready'?'Everything is Ready.':"
        "('ETA '+new Date(d.eta).toLocaleTimeString()+(d.eta_measured?' (from past wake-ups)':' (a first guess)'));"
        "document.getElementById('detail').textContent=d.detail;"
        "if(d.stage!=='ready'){setTimeout(poll,3000);}}"
        "poll();"
    )


def _js_string(text: str) -> str:
    return json.dumps(text).replace("<", "\\u003c")


def _document(body: str, *, title: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{escape(title)}</title><style>{_CSS}</style></head>'
        f"<body><header><h1>aks-hours</h1></header><main>{body}</main></body></html>"
    )
