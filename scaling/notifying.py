"""The engine's notify step, run after a tick's scaling writes: heads-ups and after-notes that are due,
sent once per channel (scaling/notify/store.py), each delivery audited.

    notify_tick(context, now)
      load projects + overrides               one query each
      due messages                            scaling/notify/headsup.py, pure
      look at the clusters of due projects    one look per cluster, in parallel
      per message: claim its channels         one conditional write per message
        build each channel's payload          scaling/notify/formats.py (validated)
        POST with timeouts and retries        scaling/notify/deliver.py, `notify_concurrency` at a time
        record the results                    one conditional write per message
      audit one row per channel               one batch

It runs after the tick's writes (scaling/triggers.py), never inside them: a slow or dead webhook costs
this step its bounded retries, never a scaling write. Webhook URLs come from app settings named in the
row (`NOTIFY_<NAME>`, Key Vault references in Azure) and never reach a log line, an audit row or a page.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scaling import reconcile
from scaling.model import ChannelKind, NotifyChannel, Project
from scaling.names import ClusterId
from scaling.notify.content import LinkSettings, Message, build_message
from scaling.notify.deliver import Delivery, Policy, post, session
from scaling.notify.formats import FormatError, Payload, slack_payload, teams_payload, webhook_payload
from scaling.notify.headsup import (
    Due,
    MessageKind,
    clusters_of,
    due_messages,
    next_down,
    project_override,
    summarise,
)
from scaling.notify.links import LinkKeys
from scaling.plan.actions import Result
from scaling.plan.observed import ObservedCluster
from scaling.storage.audit import AuditRow

log = logging.getLogger("scaling.notifying")
PRICES = Path(__file__).parent / "page" / "prices.json"  # the same table as the savings report


@dataclass(frozen=True)
class Sent:
    project: str
    key: str
    channel: str
    delivery: Delivery


@dataclass(frozen=True)
class NotifyReport:
    due: int = 0
    sent: tuple[Sent, ...] = ()
    skipped: int = 0  # channels already sent or claimed elsewhere
    duration_ms: int = 0

    @property
    def failures(self) -> int:
        return sum(1 for s in self.sent if not s.delivery.ok)


class Prices:
    """VM size -> hourly list price, read once from the savings report's table (SCALING_PRICES overrides it)."""

    def __init__(self, path: str | Path | None = None) -> None:
        where = Path(path or os.environ.get("SCALING_PRICES") or PRICES)
        try:
            raw = json.loads(where.read_text(encoding="utf-8"))
            self.currency = str(raw.get("currency", "USD"))
            self._prices = {str(k).lower(): float(v) for k, v in raw.get("prices", {}).items()}
        except (OSError, ValueError, AttributeError) as error:
            log.warning("price table %s not read (%s); heads-ups show no saving", where, error)
            self.currency, self._prices = "USD", {}

    def __call__(self, vm_size: str | None) -> float | None:
        return self._prices.get(vm_size.lower()) if vm_size else None


class Notifier:
    """What the notify step keeps for the process: the HTTP session, prices, and where secrets are read."""

    def __init__(
        self,
        store: Any,
        *,
        secrets: Mapping[str, str] | None = None,
        policy: Policy | None = None,
        prices: Prices | None = None,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self.secrets = os.environ if secrets is None else secrets
        self.policy = policy or Policy()
        self.prices = prices or Prices()
        self.http = session()
        self.owner = owner or f"{os.uname().nodename}-{os.getpid()}"


_notifiers: dict[int, Notifier] = {}
_notifiers_lock = threading.Lock()


def notifier_of(context: Any) -> Notifier | None:
    """The process's Notifier over `context`'s Notifications table (None: the context has none)."""
    store = getattr(context, "notifications", None)
    if store is None:
        return None
    with _notifiers_lock:
        notifier = _notifiers.get(id(context))
        if notifier is None or notifier.store is not store:
            notifier = _notifiers[id(context)] = Notifier(store)
        return notifier


def configure(context: Any, **options: Any) -> Notifier | None:
    """Set the process's Notifier over `context` (secrets, policy, prices, owner): `serve` points the samples
    at its local receiver this way, tests their receivers."""
    store = getattr(context, "notifications", None)
    if store is None:
        return None
    with _notifiers_lock:
        notifier = _notifiers[id(context)] = Notifier(store, **options)
        return notifier


def link_settings(settings: Any) -> LinkSettings | None:
    keys = LinkKeys.from_settings(settings.link_key, settings.link_key_previous)
    if keys is None or not settings.public_url:
        return None
    return LinkSettings(
        base_url=settings.public_url,
        keys=keys,
        grace=timedelta(minutes=settings.link_grace_minutes),
        max_override_hours=settings.max_override_hours,
    )


def notify_tick(
    context: Any,
    now: datetime,
    *,
    tick_id: str | None = None,
    observe: Callable[[ClusterId, Sequence[Project]], ObservedCluster] | None = None,
) -> NotifyReport:
    """Send every message due at `now`; never raises (a failure is logged and audited)."""
    notifier = notifier_of(context)
    if notifier is None:
        return NotifyReport()
    started = time.monotonic()
    try:
        projects = [p for p in context.projects.load().projects if p.enabled and p.notify]
        if not projects:
            return NotifyReport()
        overrides = context.overrides.load(now, cleanup=False).active
        due = due_messages(projects, overrides, now)
        if not due:
            return NotifyReport()
        looks = _look(due, context, observe)
        links = link_settings(context.settings)
        workers = max(1, min(context.settings.notify_concurrency, len(due)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify") as pool:
            results = list(
                pool.map(
                    lambda d: contextvars.copy_context().run(
                        _send, d, looks.get(d.project.cluster), notifier, links, now
                    ),
                    due,
                )
            )
    except Exception:  # noqa: BLE001 - notifying must never fail the tick it follows
        log.exception("notify step failed")
        return NotifyReport(duration_ms=int((time.monotonic() - started) * 1000))
    sent = tuple(s for batch, _ in results for s in batch)
    skipped = sum(n for _, n in results)
    _audit(sent, due, now, context, tick_id)
    report = NotifyReport(len(due), sent, skipped, int((time.monotonic() - started) * 1000))
    if sent:
        log.info(
            "notify: %d messages due, %d sent, %d failed, %d already sent",
            len(due),
            len(sent) - report.failures,
            report.failures,
            skipped,
        )
    return report


def send_test(context: Any, project: Project, now: datetime, *, tick_id: str | None = None) -> list[Sent]:
    """A heads-up for `project`'s next down transition (or one `NotifyMinutes` from now) to every channel at
    once, outside the exactly-once bookkeeping: to check a channel's setup. Audited as `notify-test`."""
    notifier = notifier_of(context)
    if notifier is None:
        raise RuntimeError("this app has no Notifications table")
    overrides = context.overrides.load(now, cleanup=False).active
    down = next_down(project, project_override(project, overrides, now), now)
    due = Due(project, MessageKind.HEADS_UP, down or now + timedelta(minutes=project.notify_minutes))
    looks = _look([due], context, None)
    summary = summarise(project, looks.get(project.cluster), notifier.prices)
    links = link_settings(context.settings)
    sent = []
    for channel in project.notify:
        message = build_message(due, summary, channel=str(channel), links=links, currency=notifier.prices.currency)
        delivery = deliver(channel, message, notifier, delivery=f"{project.name}/test-{now:%Y%m%dT%H%M%SZ}/{channel}")
        sent.append(Sent(project.name, "test", str(channel), delivery))
    _audit(sent, [due], now, context, tick_id, action="notify-test")
    return sent


def _look(
    due: Sequence[Due], context: Any, observe: Callable[[ClusterId, Sequence[Project]], ObservedCluster] | None
) -> dict[ClusterId, ObservedCluster]:
    by_cluster = clusters_of(due)
    look = observe or (lambda cluster, members: reconcile.observe(cluster, members, context))

    def one(item: tuple[ClusterId, list[Project]]) -> tuple[ClusterId, ObservedCluster]:
        cluster, members = item
        try:
            return cluster, look(cluster, members)
        except Exception as error:  # noqa: BLE001 - the message goes out without counts
            return cluster, ObservedCluster(cluster=cluster, error=type(error).__name__)

    workers = max(1, min(context.settings.cluster_concurrency, len(by_cluster)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notify-look") as pool:
        return dict(pool.map(lambda i: contextvars.copy_context().run(one, i), by_cluster.items()))


def _send(
    due: Due, seen: ObservedCluster | None, notifier: Notifier, links: LinkSettings | None, now: datetime
) -> tuple[list[Sent], int]:
    project = due.project
    channels = [str(c) for c in project.notify]
    mine = notifier.store.claim(project.name, due.key, channels, owner=notifier.owner, now=now)
    if not mine:
        return [], len(channels)
    summary = summarise(project, seen, notifier.prices)
    results: dict[str, Delivery] = {}
    for channel in project.notify:
        if str(channel) in mine:
            message = build_message(due, summary, channel=str(channel), links=links, currency=notifier.prices.currency)
            results[str(channel)] = deliver(channel, message, notifier, delivery=f"{project.name}/{due.key}/{channel}")
    notifier.store.finish(project.name, due.key, results, owner=notifier.owner, now=now)
    return [Sent(project.name, due.key, c, d) for c, d in results.items()], len(channels) - len(mine)


def deliver(channel: NotifyChannel, message: Message, notifier: Notifier, *, delivery: str) -> Delivery:
    """Build and POST one message to one channel; a missing setting or a refused format is a failed delivery."""
    url = notifier.secrets.get(channel.setting)
    if not url:
        return Delivery(False, None, 0, f"app setting {channel.setting} is not set (it holds the webhook URL)")
    try:
        payload = _payload(channel, message, notifier, delivery)
    except (FormatError, KeyError) as error:
        return Delivery(False, None, 0, str(error))
    return post(notifier.http, url, payload, policy=notifier.policy)


def _payload(channel: NotifyChannel, message: Message, notifier: Notifier, delivery: str) -> Payload:
    if channel.kind is ChannelKind.TEAMS:
        return teams_payload(message)
    if channel.kind is ChannelKind.SLACK:
        return slack_payload(message)
    key = notifier.secrets.get(f"{channel.setting}_KEY")
    if not key:
        raise KeyError(f"app setting {channel.setting}_KEY is not set (it signs the webhook's messages)")
    return webhook_payload(message, key=key.encode(), delivery=delivery, timestamp=int(time.time()))


def _audit(
    sent: Sequence[Sent],
    due: Sequence[Due],
    now: datetime,
    context: Any,
    tick_id: str | None,
    *,
    action: str | None = None,
) -> None:
    if not sent:
        return
    kinds = {(d.project.name, d.key): d for d in due} | {(d.project.name, "test"): d for d in due}
    rows = [
        AuditRow(
            time=now.astimezone(UTC),
            project=s.project,
            target=f"notify/{s.channel}",
            action=action or f"notify-{kinds[(s.project, s.key)].kind.value}",
            result=Result.OK if s.delivery.ok else Result.FAILED,
            trigger="schedule",
            actor="notify",
            to=f"down at {kinds[(s.project, s.key)].transition:%Y-%m-%dT%H:%MZ}",
            reason=f"{s.delivery.attempts} attempt(s)" + (f", HTTP {s.delivery.status}" if s.delivery.status else ""),
            error=s.delivery.error,
            tick=tick_id,
            sequence=n,
            scope="notify",
        )
        for n, s in enumerate(sent)
    ]
    try:
        context.audit.write(rows)
    except Exception as error:  # noqa: BLE001 - the messages went out; their rows are lost, not the tick
        log.error("audit rows of %d notifications not written: %s", len(rows), type(error).__name__)
