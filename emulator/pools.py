"""AKS agent pools: the properties ARM shows, ARM's validation of a PUT, and the operation it starts.

Assumptions where the real service could not be checked are marked ASSUMED.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.config import PoolConfig

ORCHESTRATOR_VERSION = "1.32.4"


class ArmError(Exception):
    """An ARM error answer. `flat` bodies are AKS's own `{code, message, subcode}` shape; else `{"error": {...}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        flat: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target
        self.flat, self.headers = flat, headers or {}

    def body(self) -> dict:
        inner: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            inner["target"] = self.target
        if self.flat:
            return {**inner, "details": None, "subcode": ""}
        return {"error": inner}


def _invalid(message: str, target: str) -> ArmError:
    return ArmError(400, "InvalidParameter", message, target=target)


@dataclass
class PendingOp:
    """An agent pool operation in flight: ARM shows `state` until `deadline` (emulator clock)."""

    id: str
    state: str  # Creating | Updating | Stopping | Starting
    deadline: float
    start_wall: str
    error: tuple[str, str] | None = None  # (code, message) when the operation is to end Failed


@dataclass
class Pool:
    """One agent pool. `props` holds the writable ARM properties as last PUT; `nodes` is what really runs."""

    name: str
    props: dict[str, Any]
    provisioning_state: str = "Succeeded"
    nodes: int = 0
    nodes_since: float | None = None  # clock time the current nodes became usable; None while there are none
    pending: PendingOp | None = None
    etag: str = field(default_factory=lambda: str(uuid.uuid4()))

    @classmethod
    def from_config(cls, cfg: PoolConfig) -> Pool:
        props: dict[str, Any] = {
            "count": cfg.count,
            "vmSize": cfg.vm_size,
            "osDiskSizeGB": 128,
            "osType": "Linux",
            "osSKU": "Ubuntu",
            "maxPods": 110,
            "type": "VirtualMachineScaleSets",
            "mode": cfg.mode,
            "orchestratorVersion": ORCHESTRATOR_VERSION,
            "enableAutoScaling": cfg.autoscaler is not None,
            "powerState": {"code": cfg.power_state},
            "tags": dict(cfg.tags),
            "nodeLabels": dict(cfg.node_labels),
            "nodeTaints": list(cfg.node_taints),
            "scaleDownMode": "Delete",
        }
        if cfg.autoscaler is not None:
            props["minCount"], props["maxCount"] = cfg.autoscaler
        if cfg.spot:
            props.update(scaleSetPriority="Spot", scaleSetEvictionPolicy="Delete", spotMaxPrice=-1)
        running = cfg.power_state == "Running" and cfg.count > 0
        return cls(name=cfg.name, props=props, nodes=cfg.count if running else 0, nodes_since=0.0 if running else None)

    # -- what ARM shows --------------------------------------------------------------------------
    @property
    def count(self) -> int:
        return int(self.props.get("count") or 0)

    @property
    def power_state(self) -> str:
        return (self.props.get("powerState") or {}).get("code", "Running")

    @property
    def mode(self) -> str:
        return self.props.get("mode", "User")

    def properties(self) -> dict[str, Any]:
        props = copy.deepcopy(self.props)
        props.update(
            provisioningState=self.provisioning_state,
            eTag=self.etag,
            currentOrchestratorVersion=props.get("orchestratorVersion", ORCHESTRATOR_VERSION),
            nodeImageVersion="AKSUbuntu-2204gen2containerd-202601.01.0",
        )
        return props

    def resource(self, cluster_id: str) -> dict[str, Any]:
        return {
            "id": f"{cluster_id}/agentPools/{self.name}",
            "name": self.name,
            "type": "Microsoft.ContainerService/managedClusters/agentPools",
            "properties": self.properties(),
        }

    # -- life cycle ------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """An operation is in progress (or a test set a transitional provisioningState by hand)."""
        return self.pending is not None or self.provisioning_state not in ("Succeeded", "Failed", "Canceled")

    def settle(self, now: float) -> None:
        """Finish the pending operation when its time has come: nodes follow count and power state,
        unless it fails, when the nodes stay as they were (ASSUMED: ARM still shows the requested count)."""
        if self.pending is None or now < self.pending.deadline:
            return
        if self.pending.error is not None:
            self.pending, self.provisioning_state = None, "Failed"
            return
        nodes = self.count if self.power_state == "Running" else 0
        if nodes == 0:
            self.nodes_since = None
        elif self.nodes == 0 or self.nodes_since is None:
            self.nodes_since = self.pending.deadline
        self.nodes, self.pending, self.provisioning_state = nodes, None, "Succeeded"

    def start(
        self,
        props: dict[str, Any],
        *,
        now: float,
        delay: float,
        wall: str,
        created: bool,
        error: tuple[str, str] | None = None,
    ) -> PendingOp:
        """Accept validated properties and begin the operation that applies them."""
        old_power = self.power_state
        self.props = props
        if created:
            state = "Creating"
        elif old_power != self.power_state:
            state = "Stopping" if self.power_state == "Stopped" else "Starting"
        else:
            state = "Updating"  # ASSUMED: real AKS may show "Scaling" for a count-only change
        self.pending = PendingOp(id=uuid.uuid4().hex, state=state, deadline=now + delay, start_wall=wall, error=error)
        self.provisioning_state = state
        self.etag = str(uuid.uuid4())
        if error is not None:
            return self.pending  # nothing will change on the nodes
        if self.power_state == "Stopped":
            self.nodes, self.nodes_since = 0, None  # stopping drains at once: pods lose their nodes
        elif self.count < self.nodes:
            self.nodes = self.count  # scale-down removes nodes as it starts
            if self.nodes == 0:
                self.nodes_since = None
        return self.pending


def busy(pool: Pool) -> ArmError:
    return ArmError(
        409,
        "OperationNotAllowed",
        f"Operation is not allowed: Another agentpool operation ({pool.name} - {pool.provisioning_state}) "
        "is in progress, please wait for it to finish before starting a new operation. "
        "See https://aka.ms/aks-pending-operation for more details",
    )


def validate(current: Pool | None, body: Any, *, name: str, other_system_pools: int) -> dict[str, Any]:
    """The pool's new writable properties after a PUT of `body`, or ArmError(400) as ARM would answer.

    ASSUMED: properties left out of the body keep their current values (the SDK always sends the full
    object it read, so this only matters to hand-written clients).
    """
    if not isinstance(body, dict) or not isinstance(body.get("properties", {}), dict):
        raise ArmError(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: "
            "expected an object with an object 'properties'.",
            flat=False,
        )
    sent = body.get("properties") or {}
    props: dict[str, Any] = (
        copy.deepcopy(current.props)
        if current
        else {
            "vmSize": None,
            "mode": "User",
            "count": None,
            "powerState": {"code": "Running"},
            "enableAutoScaling": False,
            "type": "VirtualMachineScaleSets",
            "osType": "Linux",
            "orchestratorVersion": ORCHESTRATOR_VERSION,
        }
    )
    for key, value in sent.items():
        if key in ("provisioningState", "eTag", "currentOrchestratorVersion", "nodeImageVersion"):
            continue  # read-only: ARM ignores them
        if value is None:
            props.pop(key, None)
        else:
            props[key] = copy.deepcopy(value)
    if current is not None and sent.get("vmSize") not in (None, current.props.get("vmSize")):
        raise ArmError(400, "PropertyChangeNotAllowed", "Changing property 'vmSize' is not allowed.", target="vmSize")
    if not props.get("vmSize"):
        raise _invalid("Required parameter properties.vmSize is missing (null).", "properties.vmSize")
    mode = props.get("mode")
    if mode not in ("System", "User"):
        raise _invalid(
            f"The value of parameter agentPoolProfile.mode is invalid: {mode!r} (System or User).", "properties.mode"
        )
    if mode == "User" and current is not None and current.mode == "System" and other_system_pools == 0:
        raise _invalid(
            "A cluster must have at least one system agent pool; "
            f"agent pool '{name}' is the last one and cannot become a User pool.",
            "properties.mode",
        )
    power = props.get("powerState") or {"code": "Running"}
    if not isinstance(power, dict) or power.get("code") not in ("Running", "Stopped"):
        raise _invalid(
            f"The value of parameter powerState.code is invalid: {power!r} (Running or Stopped).",
            "properties.powerState.code",
        )
    props["powerState"] = {"code": power["code"]}
    if power["code"] == "Stopped" and mode == "System":
        # ASSUMED code: the docs say only User pools can be stopped; the exact error was not seen.
        raise ArmError(
            400,
            "OperationNotAllowed",
            f"Agent pool '{name}' is a System mode pool: only User mode agent pools can be stopped.",
            target="properties.powerState.code",
        )
    autoscale = props.get("enableAutoScaling", False)
    if not isinstance(autoscale, bool):
        raise _invalid(
            f"The value of parameter enableAutoScaling is invalid: {autoscale!r}.", "properties.enableAutoScaling"
        )
    count = props.get("count")
    if count is None:
        if autoscale or current is None:
            raise _invalid("Required parameter properties.count is missing (null).", "properties.count")
        count = props["count"] = current.count
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1000:
        raise _invalid(
            f"The value of parameter agentPoolProfile.count is invalid: {count!r} (0-1000).", "properties.count"
        )
    if mode == "System" and count == 0:
        raise _invalid(
            "The value of parameter agentPoolProfile.count is invalid. Please see "
            "https://aka.ms/aks-naming-rules for more details.",
            "properties.count",
        )
    if autoscale:
        low, high = props.get("minCount"), props.get("maxCount")
        for value, field_name in ((low, "minCount"), (high, "maxCount")):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
                raise _invalid(
                    f"The value of parameter agentPoolProfile.{field_name} is invalid: {value!r}; "
                    "it is required when enableAutoScaling is true.",
                    f"properties.{field_name}",
                )
        if mode == "System" and low == 0:
            raise _invalid(
                "The value of parameter agentPoolProfile.minCount is invalid. Please see "
                "https://aka.ms/aks-naming-rules for more details.",
                "properties.minCount",
            )
        assert isinstance(low, int) and isinstance(high, int)  # checked just above
        if low > high:
            raise _invalid(
                f"The value of parameter agentPoolProfile.minCount ({low}) must be less than or equal "
                f"to maxCount ({high}).",
                "properties.minCount",
            )
        if not low <= count <= high:
            raise _invalid(
                f"agentPoolProfile.count was {count}. It must be greater or equal to minCount:{low} and "
                f"less than or equal to maxCount:{high}.",
                "properties.count",
            )
    else:
        # ASSUMED: with the autoscaler off, AKS reports no min/max (as after `--disable-cluster-autoscaler`).
        props.pop("minCount", None)
        props.pop("maxCount", None)
    tags = props.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise _invalid("The value of parameter tags is invalid: tag values must be strings.", "properties.tags")
    if len(tags) > 50:
        raise _invalid("The value of parameter tags is invalid: at most 50 tags.", "properties.tags")
    return props
