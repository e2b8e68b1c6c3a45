"""Before a schedules change is applied: what the next tick would release because of it (GPU pools at night).

Only a change that claims less (a row disabled, deleted, or naming fewer namespaces, pools or workloads)
can release anything, so only then are the clusters looked at (one look per cluster, nothing written).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from scaling.model import Project
from scaling.plan.release import gpu_warning


def claims_less(old: Project, new: Project | None) -> bool:
    """True when `new` (None: deleted) may leave something of `old` that the app holds unclaimed."""
    if new is None:
        return True
    if old.enabled and not new.enabled:
        return True
    if new.cluster != old.cluster:
        return True
    if set(old.namespaces) - set(new.namespaces) or set(old.node_pools) - set(new.node_pools):
        return True
    if set(new.exclude) - set(old.exclude):
        return True
    narrowed = bool(new.workloads) and (not old.workloads or bool(set(old.workloads) - set(new.workloads)))
    return narrowed


def release_warnings(
    ctx,
    current: Sequence[Project],
    after: Sequence[Project],
    *,
    unreadable: Iterable[str] = (),
    now: datetime | None = None,
) -> list[str]:
    """Lines to print before applying: the GPU pools (and other things) the table `after` would release now,
    and the clusters that could not be checked. Empty when nothing can be released."""
    by_name = {p.name: p for p in after}
    if not any(claims_less(old, by_name.get(old.name)) for old in current):
        return []
    from scaling.page.savings import PriceTable, SavingsError
    from scaling.reconcile import Context, preview_releases

    try:
        context = Context.from_settings(ctx.settings(), table_names=ctx.table_names)
    except ValueError as exc:
        return [f"could not check what this releases: {exc}"]
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    preview = preview_releases(after, moment, context=context, unreadable=frozenset(unreadable))
    try:
        prices: PriceTable | None = PriceTable.load()
    except SavingsError:
        prices = None

    def hourly(vm_size: str) -> float | None:
        return prices.hourly(vm_size) if prices is not None else None

    currency = prices.currency if prices is not None else "?"
    lines = []
    warning = gpu_warning(
        ((p.pool, p.change.after) for p in preview.pools), hourly=hourly, currency=currency, when="now"
    )
    if warning:
        lines.append(warning)
    if preview.outcomes:
        targets = ", ".join(sorted({o.action.target for o in preview.outcomes}))
        lines.append(f"applying this releases {len(preview.outcomes)} object(s) at the next tick: {targets}")
    lines += [f"could not check what this releases on {problem}" for problem in preview.problems]
    return lines
