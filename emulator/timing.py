"""How long AKS node operations take per VM size, with seeded spread (pure: no clock, no HTTP).

Every figure's source is in emulator/README.md ("Timing model"); figures no source gives are marked
ASSUMED there and here. All durations are seconds measured from the agent pool PUT (or the cluster
autoscaler's scale-set change) that starts the operation:

    start  VM allocated and booted, node agent bootstrapped (for GPU sizes: driver installed), kubelet Ready
    plugin after Ready, until the device plugin advertises `nvidia.com/gpu` (0 for CPU sizes): GPU pods schedulable
    stop   a scale-down or stop: until the VM is deleted or deallocated and no longer billed

Use:

    model = TimingModel(seed=7)
    op = model.scale_up("Standard_NC4as_T4_v3", nodes=2)     # ScaleUp(ready=(…, …), allocatable=(…, …))
    op.seconds                                                # when ARM reports the operation Succeeded
    model.scale_down("Standard_NC4as_T4_v3", nodes=2)         # seconds until the VMs are gone
    TimingModel(seed=7, scale=0.001)                          # the same draws, minutes become milliseconds
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Spread:
    """A duration drawn from a triangular distribution: at least `low`, most often `mode`, at most `high`."""

    low: float
    mode: float
    high: float

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.mode <= self.high:
            raise ValueError(f"Spread needs 0 <= low <= mode <= high, got {self.low}, {self.mode}, {self.high}")

    def draw(self, rng: random.Random) -> float:
        if self.low == self.high:
            return self.low
        return rng.triangular(self.low, self.high, self.mode)

    @property
    def mean(self) -> float:
        return (self.low + self.mode + self.high) / 3


NO_TIME = Spread(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class SizeTiming:
    """The durations of one VM size (see the module docstring for what each one measures)."""

    vm_size: str
    gpu: bool
    start: Spread
    plugin: Spread
    stop: Spread


# Seconds. Sources and assumptions: emulator/README.md, "Timing model".
_CPU_START = Spread(90.0, 150.0, 300.0)  # ASSUMED within the 2-7 min reports (Azure/AKS#1898, community FAQ)
_CPU_STOP = Spread(45.0, 90.0, 180.0)  # ASSUMED: no published figure for a VM delete / deallocate
_GPU_PLUGIN = Spread(20.0, 45.0, 120.0)  # ASSUMED: device plugin DaemonSet pod start + registration
_GPU_STOP = Spread(60.0, 120.0, 240.0)  # ASSUMED: no published figure for a VM delete / deallocate

SIZES: Mapping[str, SizeTiming] = {
    timing.vm_size.lower(): timing
    for timing in (
        # T4: VM + CSE with the driver (AgentBaker e2e: a GPU scale set ~5.4 min to running and Ready;
        # DKMS compile 80-150 s of it, Azure/AgentBaker#8661); 8+ min reported with aks-engine (#3507).
        SizeTiming("Standard_NC4as_T4_v3", True, Spread(240.0, 360.0, 600.0), _GPU_PLUGIN, _GPU_STOP),
        # A100: the same path, larger VM; slow nvidia-smi first load on A100 (Azure/AgentBaker#2897). ASSUMED +2 min.
        SizeTiming("Standard_NC24ads_A100_v4", True, Spread(300.0, 480.0, 840.0), _GPU_PLUGIN, _GPU_STOP),
        SizeTiming("Standard_D2s_v5", False, _CPU_START, NO_TIME, _CPU_STOP),
        SizeTiming("Standard_D4s_v5", False, _CPU_START, NO_TIME, _CPU_STOP),
        SizeTiming("Standard_D8s_v5", False, _CPU_START, NO_TIME, _CPU_STOP),
        SizeTiming("Standard_DS2_v2", False, _CPU_START, NO_TIME, _CPU_STOP),
    )
}

# Azure's GPU families (N-series): NC, ND, NG, NV. Unknown sizes of these get the T4 figures, others the CPU ones.
_GPU_PREFIXES = ("standard_nc", "standard_nd", "standard_ng", "standard_nv")


def size_timing(vm_size: str) -> SizeTiming:
    """The timing of `vm_size` (case-insensitive); an unlisted size gets its family's default (GPU or CPU)."""
    known = SIZES.get(vm_size.lower())
    if known is not None:
        return known
    if vm_size.lower().startswith(_GPU_PREFIXES):
        t4 = SIZES["standard_nc4as_t4_v3"]
        return SizeTiming(vm_size, True, t4.start, t4.plugin, t4.stop)
    return SizeTiming(vm_size, False, _CPU_START, NO_TIME, _CPU_STOP)


def is_gpu(vm_size: str) -> bool:
    return size_timing(vm_size).gpu


@dataclass(frozen=True)
class ScaleUp:
    """Nodes added by one operation: per node, seconds until Ready and until GPU pods can schedule."""

    ready: tuple[float, ...]
    allocatable: tuple[float, ...]

    @property
    def seconds(self) -> float:
        """When ARM shows the operation Succeeded: the last node Ready (ASSUMED: AKS waits for Ready)."""
        return max(self.ready, default=0.0)

    @property
    def all_allocatable(self) -> float:
        return max(self.allocatable, default=0.0)


@dataclass
class TimingModel:
    """Seeded draws of node durations. `scale` multiplies every duration (tests: 0.001 turns minutes into ms);
    `sizes` overrides or adds VM sizes."""

    seed: int = 0
    scale: float = 1.0
    sizes: Mapping[str, SizeTiming] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scale < 0:
            raise ValueError(f"TimingModel scale must not be negative, got {self.scale}")
        self._rng = random.Random(self.seed)
        self._sizes = {name.lower(): timing for name, timing in self.sizes.items()}

    def timing(self, vm_size: str) -> SizeTiming:
        return self._sizes.get(vm_size.lower()) or size_timing(vm_size)

    def scale_up(self, vm_size: str, nodes: int) -> ScaleUp:
        """`nodes` new nodes of `vm_size` started together (a pool PUT raising the count, a start, or the
        cluster autoscaler adding nodes): each one draws its own durations."""
        if nodes < 0:
            raise ValueError(f"cannot start {nodes} nodes")
        timing = self.timing(vm_size)
        ready, allocatable = [], []
        for _ in range(nodes):
            up = timing.start.draw(self._rng) * self.scale
            ready.append(up)
            allocatable.append(up + timing.plugin.draw(self._rng) * self.scale)
        return ScaleUp(tuple(ready), tuple(allocatable))

    def scale_down(self, vm_size: str, nodes: int) -> float:
        """Seconds until `nodes` nodes of `vm_size` removed together are gone (deleted in parallel: the slowest)."""
        if nodes < 0:
            raise ValueError(f"cannot remove {nodes} nodes")
        timing = self.timing(vm_size)
        return max((timing.stop.draw(self._rng) * self.scale for _ in range(nodes)), default=0.0)

    def pool_operation(self, vm_size: str, *, nodes_before: int, nodes_after: int) -> float:
        """Seconds an agent pool operation takes from its PUT to Succeeded: a scale-up until the last new
        node is Ready, a scale-down (or stop) until the removed VMs are gone, a change that moves no node
        (tags only, autoscaler settings) ASSUMED 30 s."""
        if nodes_after > nodes_before:
            return self.scale_up(vm_size, nodes_after - nodes_before).seconds
        if nodes_after < nodes_before:
            return self.scale_down(vm_size, nodes_before - nodes_after)
        return 30.0 * self.scale
