"""AKS agent pools through ARM: one list per cluster to observe, one PUT per change that is started, not awaited.

The PUT body is the pool exactly as observed with only count / enableAutoScaling / minCount / maxCount /
powerState / tags changed (the CLI's own GET-modify-PUT). The SDK model drops read-only fields
(provisioningState, eTag, currentOrchestratorVersion, ...) when it serializes, and the observed eTag
goes into If-Match so a pool changed since the tick looked at it is a 412, not an overwrite.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, HttpResponseError, ResourceExistsError
from azure.mgmt.containerservice.models import AgentPool

from scaling.annotations import TAG_OWNER
from scaling.clusters.clients import Clients, StartOnly, arm_message
from scaling.clusters.objects import owner_name
from scaling.names import ClusterId, InvalidName, agent_pool_name
from scaling.plan.actions import Outcome, PoolChange, Result
from scaling.plan.observed import ObservedPool, PoolSize
from scaling.plan.pools import decode_original

log = logging.getLogger(__name__)

SYSTEM = "system"
_OPERATION_ID = re.compile(r"/operations/([^/?]+)")


class PoolObserveError(RuntimeError):
    """The agent pools of a cluster could not be listed; the message says which cluster and why."""


def observed_pool(pool: AgentPool | Mapping[str, Any]) -> ObservedPool:
    """One agent pool as ARM returns it (model or JSON) into an ObservedPool; bad tags land in tag_errors."""
    raw = pool if isinstance(pool, AgentPool) else AgentPool(copy.deepcopy(dict(pool)))
    name = agent_pool_name(raw.name or "")
    power = _text(raw.power_state.code if raw.power_state is not None else None) or "Running"
    tags = dict(raw.tags or {})
    original, errors = decode_original(tags)
    return ObservedPool(
        name=name,
        mode=_text(raw.mode) or "User",
        vm_size=_text(raw.vm_size),
        size=PoolSize(
            count=int(raw.count or 0),
            enable_auto_scaling=bool(raw.enable_auto_scaling),
            min_count=raw.min_count,
            max_count=raw.max_count,
            power_state=power,
        ),
        provisioning_state=_text(raw.provisioning_state) or "Succeeded",
        tags=tags,
        original=original,
        tag_errors=errors,
        owner=owner_name(tags.get(TAG_OWNER)) if original is not None else None,
    )


def pool_body(observed: AgentPool, change: PoolChange) -> AgentPool:
    """The PUT body: `observed` (untouched) copied, with the size and tags of `change`.

    AKS rejects minCount/maxCount on a pool without the autoscaler, so they are dropped when
    `change.after` turns it off (None removes the key from the body)."""
    if _text(observed.mode).lower() == SYSTEM:
        raise ValueError(f"pool {observed.name} is a System pool: aks-hours never changes it")
    after = change.after
    body = AgentPool(copy.deepcopy(dict(observed)))
    body.count = after.count
    body.enable_auto_scaling = after.enable_auto_scaling
    body.min_count = after.min_count if after.enable_auto_scaling else None
    body.max_count = after.max_count if after.enable_auto_scaling else None
    body.power_state = {"code": after.power_state}
    body.tags = dict(change.tags)
    return body


class NodePoolBackend:
    """Observe and change the agent pools of clusters. The pools seen by `observe` are kept (per
    cluster, replaced at each observe) so `apply` PUTs back what was seen without another GET."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._lock = threading.Lock()
        self._seen: dict[tuple[ClusterId, str], AgentPool] = {}

    def observe(self, cluster: ClusterId) -> tuple[ObservedPool, ...]:
        """Every agent pool of `cluster`: one `agent_pools.list` (more pages only past ARM's page size)."""
        try:
            pools = list(self._clients.arm(cluster.subscription).agent_pools.list(cluster.resource_group, cluster.name))
        except AzureError as error:
            raise PoolObserveError(f"cannot list the node pools of {cluster.name}: {arm_message(error)}") from error
        observed: list[ObservedPool] = []
        with self._lock:
            for key in [key for key in self._seen if key[0] == cluster]:
                del self._seen[key]
            for pool in pools:
                try:
                    seen = observed_pool(pool)
                except InvalidName as error:
                    log.warning("%s: skipping agent pool: %s", cluster.name, error)
                    continue
                self._seen[(cluster, seen.name)] = pool
                observed.append(seen)
        return tuple(sorted(observed, key=lambda p: p.name))

    def apply(self, change: PoolChange) -> Outcome:
        """Start the PUT for `change` and return at once; the next observe sees how it went."""
        started = time.monotonic()

        def outcome(result: Result, error: str | None = None, detail: Mapping[str, str] | None = None) -> Outcome:
            elapsed = int((time.monotonic() - started) * 1000)
            return Outcome(change, result, error, elapsed, dict(detail or {}))

        cluster = change.cluster
        try:
            name = agent_pool_name(change.pool)
        except InvalidName as error:
            return outcome(Result.FAILED, str(error))
        operations = self._clients.arm(cluster.subscription).agent_pools
        try:
            with self._lock:
                observed = self._seen.get((cluster, name))
            if observed is None:
                # Not seen by this process (a change planned elsewhere): one GET instead of a blind PUT.
                observed = operations.get(cluster.resource_group, cluster.name, name)
            try:
                body = pool_body(observed, change)
            except ValueError as error:
                return outcome(Result.FAILED, str(error))
            conditions: dict[str, Any] = {}
            if observed.e_tag:
                conditions = {"etag": observed.e_tag, "match_condition": MatchConditions.IfNotModified}
            start = StartOnly()
            operations.begin_create_or_update(
                cluster.resource_group, cluster.name, name, body, polling=start, **conditions
            )
        except ResourceExistsError as error:
            return outcome(Result.BUSY, f"pool busy, next tick: {arm_message(error)}")
        except HttpResponseError as error:
            if error.status_code == 412:
                return outcome(Result.BUSY, "pool changed since it was observed (eTag), next tick")
            if error.status_code == 429:
                return outcome(Result.BUSY, f"throttled by ARM, next tick: {arm_message(error)}")
            return outcome(Result.FAILED, f"PUT agent pool {name} failed: {arm_message(error)}")
        except AzureError as error:
            return outcome(Result.FAILED, f"PUT agent pool {name} failed: {arm_message(error)}")
        with self._lock:
            self._seen.pop((cluster, name), None)  # stale now: the next observe reads it again
        return outcome(Result.OK, detail=_operation(start))


def _text(value: Any) -> str:
    """An SDK enum (AgentPoolMode.USER, Code.STOPPED) or plain string as its wire value."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _operation(start: StartOnly) -> dict[str, str]:
    """What to record of a started PUT: the async operation id and the state the pool entered."""
    detail: dict[str, str] = {"status": str(start.status_code)}
    url = start.header("Azure-AsyncOperation") or start.header("Location") or ""
    match = _OPERATION_ID.search(url)
    if match:
        detail["operation"] = match.group(1)
    elif url:
        detail["operation"] = url.split("?")[0]
    try:
        pool = start.resource()
    except (ValueError, AzureError):  # an unreadable body does not undo a started operation
        pool = None
    if pool is not None and pool.provisioning_state:
        detail["provisioning_state"] = _text(pool.provisioning_state)
    return detail
