"""One call per cluster, side by side, for the API's views and health check: a run-command cluster takes
tens of seconds, and one after the other a handful of them would outlast the HTTP front end's timeout."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from scaling.logs import said
from scaling.model import Project
from scaling.names import ClusterId
from scaling.plan.observed import ObservedCluster

MAX_PARALLEL = 8
T = TypeVar("T")


def each_cluster(projects: Sequence[Project], call: Callable[[ClusterId, list[Project]], T]) -> dict[ClusterId, T]:
    """`call(cluster, its projects)` for every cluster the projects live on, at most MAX_PARALLEL at once."""
    clusters = sorted({p.cluster for p in projects})
    if not clusters:
        return {}

    def run(cluster: ClusterId) -> T:
        return call(cluster, [p for p in projects if p.cluster == cluster])

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(clusters))) as pool:
        # each thread runs in a copy of the caller's context, so log lines keep the request's fields
        return dict(zip(clusters, pool.map(lambda c: contextvars.copy_context().run(run, c), clusters), strict=True))


def observe_clusters(backend: Any, projects: Sequence[Project]) -> dict[ClusterId, ObservedCluster]:
    """A look at each cluster for display (`for_view`: a recent look may do); a failure is that cluster's
    error, on one line with secrets removed, as ApiService.project_view shows it for one cluster."""

    def look(cluster: ClusterId, members: list[Project]) -> ObservedCluster:
        try:
            return backend.observe(cluster, members, for_view=True)
        except Exception as error:  # shown as that cluster's error; the other clusters still answer
            return ObservedCluster(cluster=cluster, error=said(error))

    return each_cluster(projects, look)
