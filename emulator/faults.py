"""Fault injection rules and per-endpoint call counters, shared by the ARM and Kubernetes servers.

Endpoints are named by route templates (e.g. ``managedClusters/{cluster}/agentPools/{pool}`` for ARM,
``/apis/apps/v1/namespaces/{namespace}/deployments/{name}`` for Kubernetes) so that counts can be
totalled without knowing concrete names; rules and queries match them with shell-style globs.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

# What each fault kind does to a matching request.
HTTP_KINDS = {
    "latency",  # wait `seconds`, then answer normally
    "status",  # answer `status` (429 with Retry-After, 500, 503...) instead of handling the request
    "drop",  # close the connection without an answer
    "timeout",  # hold the connection for `seconds`, then close it without an answer
}
COMMAND_KINDS = {
    "exit",  # the run-command "runs" and exits `exit_code` with `logs` (the command is not run)
    "garbage",  # the command runs; its logs are replaced by `logs`
    "truncate",  # the command runs; its logs are cut after `limit` bytes
    "failed",  # the run-command itself fails: provisioningState Failed with `reason`
}
OPERATION_KINDS = {
    "failed",  # the agent pool operation ends Failed with error `code` / `message` (route = pool name)
}
KINDS = {
    "arm": HTTP_KINDS,
    "kube": HTTP_KINDS,
    "*": HTTP_KINDS,
    "runcommand": COMMAND_KINDS,
    "pool-operation": OPERATION_KINDS,
}
SERVICES = set(KINDS)


class FaultError(ValueError):
    """A fault rule that makes no sense; the message says which field."""


@dataclass
class Fault:
    """One rule. `times=None` applies forever; otherwise it applies to the next `times` matching calls."""

    kind: str
    service: str = "*"
    method: str = "*"
    route: str = "*"
    cluster: str = "*"
    status: int = 500
    retry_after: float | None = None
    seconds: float = 0.0
    times: int | None = None
    exit_code: int = 1
    logs: str | None = None
    limit: int = 100
    reason: str = "KubernetesPerformanceError"
    code: str | None = None  # error code in the body; a sensible one per status when None
    message: str | None = None  # error message of a failed pool operation
    applied: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.service not in SERVICES:
            raise FaultError(f"fault service {self.service!r} must be one of {sorted(SERVICES)}")
        allowed = KINDS[self.service]
        if self.kind not in allowed:
            raise FaultError(
                f"fault kind {self.kind!r} is not valid for service {self.service!r} (valid: {sorted(allowed)})"
            )
        if self.kind == "status" and not 400 <= self.status <= 599:
            raise FaultError(f"fault status {self.status} must be an HTTP error status (400-599)")
        if self.times is not None and self.times < 1:
            raise FaultError("fault times must be at least 1 (or None for always)")
        if self.seconds < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise FaultError("fault seconds / retry_after cannot be negative")

    def matches(self, service: str, method: str, route: str, cluster: str) -> bool:
        return (
            fnmatchcase(service, self.service)
            and fnmatchcase(method.upper(), self.method.upper())
            and fnmatchcase(route, self.route)
            and fnmatchcase(cluster, self.cluster)
        )


class Faults:
    """The active rules; thread-safe. Latency rules add up; the first other matching rule wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._rules.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    @property
    def rules(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def take(self, service: str, method: str, route: str, cluster: str) -> tuple[float, Fault | None]:
        """The added latency and the fault (if any) for one call, consuming `times`."""
        delay, chosen = 0.0, None
        with self._lock:
            for rule in list(self._rules):
                if rule.kind not in KINDS[service] or (rule.service != service and service not in ("arm", "kube")):
                    continue  # an HTTP rule never fires on a command or operation, nor the other way
                if not rule.matches(service, method, route, cluster):
                    continue
                if rule.kind == "latency":
                    delay += rule.seconds
                elif chosen is None:
                    chosen = rule
                else:
                    continue
                self._consume(rule)
        return delay, chosen

    def _consume(self, rule: Fault) -> None:
        rule.applied += 1
        if rule.times is not None:
            rule.times -= 1
            if rule.times == 0:
                self._rules.remove(rule)


@dataclass(frozen=True)
class Call:
    """One request as the emulator saw it."""

    service: str  # arm | kube
    cluster: str  # "" for ARM calls not about one cluster
    method: str
    route: str  # the route template, e.g. "managedClusters/{cluster}/agentPools/{pool}"
    path: str  # the concrete path, without the query
    status: int  # 0 when the connection was dropped
    at: float  # time.monotonic() when it arrived


class Calls:
    """Every request received since the last reset; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log: list[Call] = []

    def record(self, call: Call) -> None:
        with self._lock:
            self._log.append(call)

    def clear(self) -> None:
        with self._lock:
            self._log.clear()

    def log(self) -> list[Call]:
        with self._lock:
            return list(self._log)

    def select(
        self,
        service: str | None = None,
        method: str | None = None,
        route: str | None = None,
        cluster: str | None = None,
        status: int | None = None,
    ) -> list[Call]:
        return [
            c
            for c in self.log()
            if (service is None or c.service == service)
            and (method is None or c.method == method.upper())
            and (route is None or fnmatchcase(c.route, route) or fnmatchcase(c.path, route))
            and (cluster is None or c.cluster == cluster)
            and (status is None or c.status == status)
        ]

    def counter(self, calls: Iterable[Call] | None = None) -> Counter:
        """Calls per (service, method, route template)."""
        return Counter((c.service, c.method, c.route) for c in (self.log() if calls is None else calls))
