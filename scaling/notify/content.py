"""What a message says, independent of its format (pure): headline, facts, and the signed action links."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from scaling.notify.headsup import Due, MessageKind, Summary
from scaling.notify.links import Link, LinkAction, LinkKeys, make_link

KEEP_UNTIL_LOCAL = time(22, 0)  # "Keep up until 22:00" in the project's zone
WAKE_HOURS = 16  # a wake link from a heads-up works through the night, at most this long


@dataclass(frozen=True)
class Button:
    label: str
    url: str
    action: str  # the link action, or "wake"


@dataclass(frozen=True)
class Message:
    """One message about one project's down transition, ready for any format."""

    project: str
    kind: MessageKind
    transition: datetime  # UTC
    title: str
    text: str
    facts: tuple[tuple[str, str], ...]
    buttons: tuple[Button, ...] = ()
    wake_url: str | None = None

    @property
    def fallback(self) -> str:
        """The whole message as one line of plain text (notification previews, clients without cards)."""
        facts = "; ".join(f"{name}: {value}" for name, value in self.facts)
        return f"{self.title}. {self.text} {facts}".strip()


@dataclass(frozen=True)
class LinkSettings:
    base_url: str
    keys: LinkKeys
    grace: timedelta
    max_override_hours: int = 72


def build_message(due: Due, summary: Summary, *, channel: str, links: LinkSettings | None, currency: str) -> Message:
    """The heads-up (or after-note) for `due`, with links signed for `channel` when links are configured."""
    project = due.project
    zone = project.schedule.zone
    local = due.transition.astimezone(zone)
    when = f"{local:%a %d %b %H:%M} {project.spec.timezone}"
    facts = [("When", when)] + _what(summary) + [("Saves", _money(summary.saves_per_hour, currency) + " per hour")]
    buttons: list[Button] = []
    wake = None
    if links is not None:
        wake_link = _wake_link(due, channel, links)
        wake = wake_link.url(links.base_url, links.keys)
        if due.kind is MessageKind.HEADS_UP:
            buttons = [
                Button(_label(link, zone), link.url(links.base_url, links.keys), link.action.value)
                for link in action_links(due, channel, links)
            ]
        buttons.append(Button("Wake it up tonight", wake, LinkAction.WAKE.value))
    if due.kind is MessageKind.HEADS_UP:
        title = f"{project.name} goes down at {local:%H:%M}"
        text = "Scheduled shutdown. Keep it up if you are still working, or let it go now."
    else:
        title = f"{project.name} went down at {local:%H:%M}"
        back = project.schedule.next_change(due.transition)
        hours = (back - due.transition).total_seconds() / 3600 if back else 12.0
        tonight = _money(summary.saves_per_hour * hours, currency)
        text = f"It saves about {tonight} until it comes back" + (
            f" at {back.astimezone(zone):%a %H:%M}." if back else "."
        )
    return Message(
        project=project.name,
        kind=due.kind,
        transition=due.transition,
        title=title,
        text=text,
        facts=tuple(facts),
        buttons=tuple(buttons),
        wake_url=wake,
    )


def action_links(due: Due, channel: str, links: LinkSettings) -> list[Link]:
    """Keep up 1 h, 2 h, until 22:00 local (when that is later than 2 h), and let it go now."""
    at, expires = due.transition, due.transition + links.grace
    name = due.project.name
    out = [
        make_link(name, LinkAction.KEEP_1H, until=at + timedelta(hours=1), expires=expires, channel=channel),
        make_link(name, LinkAction.KEEP_2H, until=at + timedelta(hours=2), expires=expires, channel=channel),
    ]
    zone = due.project.schedule.zone
    evening = datetime.combine(at.astimezone(zone).date(), KEEP_UNTIL_LOCAL, tzinfo=zone)
    if evening > at + timedelta(hours=2) and evening <= at + timedelta(hours=links.max_override_hours):
        out.append(make_link(name, LinkAction.KEEP_UNTIL, until=evening, expires=expires, channel=channel))
    back = due.project.schedule.next_change(at)
    cap = at + timedelta(hours=links.max_override_hours)
    out.append(
        make_link(name, LinkAction.DOWN_NOW, until=min(back, cap) if back else cap, expires=expires, channel=channel)
    )
    return out


def _wake_link(due: Due, channel: str, links: LinkSettings) -> Link:
    back = due.project.schedule.next_change(due.transition)
    limit = due.transition + timedelta(hours=WAKE_HOURS)
    expires = min(back, limit) if back else limit
    return make_link(
        due.project.name, LinkAction.WAKE, expires=max(expires, due.transition + links.grace), channel=channel
    )


def _label(link: Link, zone) -> str:
    if link.action is LinkAction.KEEP_UNTIL and link.until is not None:
        return f"Keep up until {link.until.astimezone(zone):%H:%M}"
    return link.action.label


def _what(summary: Summary) -> list[tuple[str, str]]:
    if not summary.observed:
        return [("What", "the project's workloads and pools (the cluster could not be looked at just now)")]
    facts = [("Workloads", str(summary.workloads))]
    if summary.pools:
        pools = ", ".join(f"{p.name} ({p.nodes} × {p.vm_size or '?'}{', GPU' if p.gpu else ''})" for p in summary.pools)
        facts.append(("Node pools", pools))
    if summary.gpu_pools:
        facts.append(("GPU pools", ", ".join(summary.gpu_pools)))
    return facts


def _money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"
