"""Planning for AKS node pools (pure): the PUT that takes a pool down or restores it, and its bookkeeping tags.

A pool going down keeps its original settings in tags written by the same PUT (ARM tag names cannot
contain '/', hence `aks-hours-original-*`); going up restores exactly those and drops the tags. The
tag format lives here, encoder and decoder together, so the observer (scaling/clusters/nodepools.py) and the
planner cannot drift apart:

    aks-hours-original-count        "3"
    aks-hours-original-autoscaling  "true" | "false"
    aks-hours-original-min          "1"      (absent when the pool had no minCount)
    aks-hours-original-max          "5"      (absent when the pool had no maxCount)
    aks-hours-original-power        "Running" | "Stopped"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from scaling.annotations import (
    POOL_TAGS,
    TAG_ORIGINAL_AUTOSCALING,
    TAG_ORIGINAL_COUNT,
    TAG_ORIGINAL_MAX,
    TAG_ORIGINAL_MIN,
    TAG_ORIGINAL_POWER,
    TAG_OWNER,
)
from scaling.model import NodePoolAction
from scaling.names import ClusterId
from scaling.plan.actions import Direction, Notice, PoolChange, Result, Why
from scaling.plan.observed import ObservedPool, PoolSize

RUNNING = "Running"
STOPPED = "Stopped"


def encode_original(size: PoolSize) -> dict[str, str]:
    """The tags that remember `size`."""
    tags = {
        TAG_ORIGINAL_COUNT: str(size.count),
        TAG_ORIGINAL_AUTOSCALING: "true" if size.enable_auto_scaling else "false",
        TAG_ORIGINAL_POWER: size.power_state,
    }
    if size.min_count is not None:
        tags[TAG_ORIGINAL_MIN] = str(size.min_count)
    if size.max_count is not None:
        tags[TAG_ORIGINAL_MAX] = str(size.max_count)
    return tags


def decode_original(tags: Mapping[str, str]) -> tuple[PoolSize | None, tuple[str, ...]]:
    """The remembered size in `tags` (None when there is none) and what is wrong with the tags, if anything.

    Tags are user-editable in the portal, so every value is checked; any error means "do not restore"."""
    if not any(name in tags for name in POOL_TAGS):
        return None, ()
    errors: list[str] = []

    def count(name: str, *, required: bool) -> int | None:
        raw = tags.get(name)
        if raw is None:
            if required:
                errors.append(f"tag {name} is missing")
            return None
        if not (raw.strip().isascii() and raw.strip().isdigit()):  # str.isdigit() also takes '²', int() does not
            errors.append(f"tag {name}={raw!r} is not a non-negative integer")
            return None
        return int(raw)

    number = count(TAG_ORIGINAL_COUNT, required=True)
    low = count(TAG_ORIGINAL_MIN, required=False)
    high = count(TAG_ORIGINAL_MAX, required=False)
    autoscaling_raw = tags.get(TAG_ORIGINAL_AUTOSCALING)
    if autoscaling_raw not in ("true", "false"):
        errors.append(f"tag {TAG_ORIGINAL_AUTOSCALING}={autoscaling_raw!r} is not 'true' or 'false'")
    power = tags.get(TAG_ORIGINAL_POWER, RUNNING)
    if power not in (RUNNING, STOPPED):
        errors.append(f"tag {TAG_ORIGINAL_POWER}={power!r} is not {RUNNING!r} or {STOPPED!r}")
    if autoscaling_raw == "true" and (low is None or high is None) and not errors:
        # ARM refuses to turn the cluster autoscaler on without both bounds: the restore would fail daily.
        errors.append(
            f"tags {TAG_ORIGINAL_MIN} and {TAG_ORIGINAL_MAX} are both needed when {TAG_ORIGINAL_AUTOSCALING}=true"
        )
    if low is not None and high is not None and low > high:
        errors.append(f"tag {TAG_ORIGINAL_MIN}={low} is above {TAG_ORIGINAL_MAX}={high}")
    if errors or number is None:
        return None, tuple(errors)
    if autoscaling_raw == "true":
        # ARM also refuses a count outside [min, max] (the bounds may have been edited since the
        # scale-down); the autoscaler owns the count from there anyway.
        assert low is not None and high is not None  # checked above: autoscaling needs both bounds
        number = min(max(number, low), high)
    return PoolSize(number, autoscaling_raw == "true", low, high, power), ()


def without_bookkeeping(tags: Mapping[str, str]) -> dict[str, str]:
    return {name: value for name, value in tags.items() if name not in POOL_TAGS and name != TAG_OWNER}


def describe(size: PoolSize) -> str:
    """A short audit value: `3`, `3 (autoscale 1-5)`, `stopped (3)`."""
    text = str(size.count)
    if size.enable_auto_scaling:
        text += f" (autoscale {size.min_count}-{size.max_count})"
    if size.power_state == STOPPED:
        text = f"stopped ({text})"
    return text


def down_size(size: PoolSize, action: NodePoolAction) -> PoolSize:
    """The size a pool has while its project is down."""
    if action is NodePoolAction.STOP:
        return replace(size, power_state=STOPPED)
    # Scaling to 0 needs the cluster autoscaler off (`az aks nodepool scale --node-count 0`).
    return PoolSize(0, False, None, None, power_state=size.power_state)


def is_down(size: PoolSize, action: NodePoolAction) -> bool:
    if size.power_state == STOPPED:
        return True  # a stopped pool runs no node, whichever way it was taken down
    return action is NodePoolAction.ZERO and size.count == 0 and not size.enable_auto_scaling


def plan_pool(
    cluster: ClusterId, pool: ObservedPool, *, action: NodePoolAction, up: bool, why: Why
) -> PoolChange | Notice | None:
    """The one PUT (or the reason for none) that brings `pool` to the state its project wants.

    None: nothing to do. A Notice: something is wrong or in the way (a System pool, unreadable tags,
    a pool busy with an operation while a change is due, a pool found down without remembered size)."""
    target = f"nodepool/{pool.name}"
    if action is NodePoolAction.NONE:
        if pool.original is None or pool.tag_errors or pool.busy:
            return None
        # Switched to `none` while the app held the pool down: its remembered size is given back once.
        why = replace(why, reason=f"NodePoolAction none: the remembered size is given back ({why.reason})")
        return _change(cluster, pool, action=action, up=True, why=why)
    if pool.mode.lower() == "system":
        return Notice(cluster, target, "System-mode pool listed in NodePools: never scaled or stopped", why)
    if pool.tag_errors:
        return Notice(
            cluster,
            target,
            "bookkeeping tags unreadable, pool left alone: " + "; ".join(pool.tag_errors),
            why,
            Result.FAILED,
        )
    change = _change(cluster, pool, action=action, up=up, why=why)
    if change is None and pool.provisioning_state.lower() == "failed":
        # ARM shows the requested size even when the operation behind it failed (no capacity, quota):
        # the nodes may not be there, or still be running and billed.
        return Notice(
            cluster,
            target,
            "the pool's last operation failed (provisioningState Failed): its nodes may not match "
            f"{describe(pool.size)}; see the pool's activity log",
            why,
            Result.FAILED,
        )
    if isinstance(change, PoolChange) and pool.busy:
        # A PUT now would be a 409; the next tick sees the finished operation and decides again.
        return Notice(
            cluster,
            target,
            f"{change.direction.value} due but the pool is {pool.provisioning_state}: next tick",
            why,
            Result.BUSY,
        )
    return change


def _change(
    cluster: ClusterId, pool: ObservedPool, *, action: NodePoolAction, up: bool, why: Why
) -> PoolChange | Notice | None:
    size, original = pool.size, pool.original
    if up:
        if original is not None:
            # Restore exactly; also when the size already matches, to drop the bookkeeping tags.
            return PoolChange(cluster, pool.name, size, original, without_bookkeeping(pool.tags), Direction.UP, why)
        if is_down(size, action):
            return Notice(
                cluster,
                f"nodepool/{pool.name}",
                f"pool is {describe(size)} during business hours with no remembered size: left alone",
                why,
            )
        return None
    if is_down(size, action):
        return None
    if original is not None:
        # Brought up by hand while its project is down: down again, keeping the size remembered at the
        # first scale-down (the manual size is not what business hours should restore).
        return PoolChange(cluster, pool.name, size, down_size(size, action), dict(pool.tags), Direction.DOWN, why)
    tags = {**without_bookkeeping(pool.tags), **encode_original(size), TAG_OWNER: why.project}
    return PoolChange(cluster, pool.name, size, down_size(size, action), tags, Direction.DOWN, why)
