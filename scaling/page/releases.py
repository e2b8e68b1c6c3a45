"""The status page's "Releases" section: what was given back lately, what is about to be, and the orphans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any


@dataclass(frozen=True)
class ReleaseView:
    """Lines for the section (already worded): released lately, due at the next tick, waiting, orphans."""

    released: tuple[str, ...] = ()
    due: tuple[str, ...] = ()
    waiting: tuple[str, ...] = ()
    orphans: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def released_lately(audit: Sequence[Any]) -> tuple[str, ...]:
    """Audit rows (newest first) of releases, one line each."""
    return tuple(
        f"{row.time:%Y-%m-%d %H:%M}Z {row.project} {row.target}: {row.from_} -> {row.to} ({row.reason}, {row.result})"
        for row in audit
        if (row.reason or "").startswith("released: ") and str(getattr(row.result, "value", row.result)) == "ok"
    )


def view_of(preview: Any, audit: Sequence[Any], warning: str | None) -> ReleaseView:
    """From a scaling.reconcile.Preview and the page's audit rows."""
    due = tuple(f"{o.action.why.project} {o.action.target}: {o.action.why.reason}" for o in preview.outcomes)
    waiting = tuple(f"{n.why.project} {n.target}: {n.message}" for n in preview.waiting)
    orphans = tuple(f"{cluster.name} {target}" for cluster, target in preview.orphans)
    return ReleaseView(
        released_lately(audit), due, waiting, orphans, (warning,) if warning else (), tuple(preview.problems)
    )


def render(view: ReleaseView | None) -> str:
    if view is None:
        return ""
    parts = ['<section id="releases"><h2>Releases</h2>']
    parts += [f'<p class="banner error" role="alert">Warning: {escape(w)}</p>' for w in view.warnings]
    for title, lines, empty in (
        ("About to be released (next tick)", view.due, "Nothing."),
        ("Waiting to be released", view.waiting, "Nothing."),
        ("Orphans (the app's annotations or tags no row names)", view.orphans, "None."),
        ("Released lately", view.released, "Nothing."),
    ):
        items = "".join(f"<li>{escape(line)}</li>" for line in lines)
        parts.append(f"<h3>{escape(title)}</h3>" + (f"<ul>{items}</ul>" if items else f"<p>{empty}</p>"))
    parts += [f"<p>Not checked: {escape(p)}</p>" for p in view.problems]
    parts.append("</section>")
    return "".join(parts)
