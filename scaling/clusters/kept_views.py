"""Recent looks at run-command clusters, kept for read-only views and dropped when the app changes the cluster."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from scaling.names import ClusterId
from scaling.plan.observed import ObservedCluster

VIEW_MAX_AGE = 120.0  # seconds a run-command cluster's look serves the status page and project views

Key = tuple[ClusterId, tuple[str, ...]]  # the cluster and the namespaces looked at


class KeptViews:
    """Thread-safe; one per process (on the reconcile Context), shared by the API and the timer."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_age: float = VIEW_MAX_AGE) -> None:
        self._clock, self._max_age = clock, max_age
        self._lock = threading.Lock()
        self._kept: dict[Key, tuple[float, ObservedCluster]] = {}
        self._generation: dict[ClusterId, int] = {}  # raised by forget(): a look started before is stale

    def get(self, key: Key) -> ObservedCluster | None:
        with self._lock:
            kept = self._kept.get(key)
        if kept is None or self._clock() - kept[0] > self._max_age:
            return None
        return kept[1]

    def look(self, key: Key, observe: Callable[[], ObservedCluster]) -> ObservedCluster:
        """The kept look at `key` if young enough, else `observe()`. A new look is kept (from the moment it
        started) unless it failed or the cluster was changed while it ran."""
        kept = self.get(key)
        if kept is not None:
            return kept
        with self._lock:
            generation = self._generation.get(key[0], 0)
        started = self._clock()
        seen = observe()
        with self._lock:
            if seen.error is None and self._generation.get(key[0], 0) == generation:
                self._kept[key] = (started, seen)
        return seen

    def forget(self, cluster: ClusterId) -> None:
        """Drop every look at `cluster`, and any look still running (the app just changed it)."""
        with self._lock:
            self._generation[cluster] = self._generation.get(cluster, 0) + 1
            for key in [key for key in self._kept if key[0] == cluster]:
                del self._kept[key]
