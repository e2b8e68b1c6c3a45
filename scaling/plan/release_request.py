"""A person's release as one ordered plan (pure): what `python -m scaling release` and the API give back."""

from __future__ import annotations

from scaling.plan.actions import Action, Trigger, Why
from scaling.plan.autoscalers import plan_autoscalers
from scaling.plan.decide import Desire, plan_scalable, sort_key
from scaling.plan.observed import ObservedCluster
from scaling.plan.release import Rows, plan_explicit


def plan_release_request(
    seen: ObservedCluster, rows: Rows, *, project: str | None, orphaned: bool, actor: str, reason: str
) -> list[Action]:
    """Every restore the request asks for in `seen`, in morning order (pools, autoscalers, workloads)."""
    why = Why(project or "", Trigger.MANUAL, actor, f"released: {reason}")
    released = plan_explicit(
        seen,
        rows,
        project=project,
        orphaned=orphaned,
        why=why,
        restore=lambda cluster, workload, w: plan_scalable(cluster, workload, Desire(True, w)),
    )
    actions = released.actions + plan_autoscalers(seen.cluster, seen, released.targets)
    return sorted(actions, key=sort_key)
