"""The Kubernetes API access path: one list per kind per cluster to observe, one merge PATCH per change.

Lists are read as raw JSON (`_preload_content=False`): no model deserialization for big lists, and the
same dicts as `kubectl -o json`, so scaling/clusters/objects.py parses both access paths alike. Patches are
JSON merge patches carrying `metadata.resourceVersion`: a write over a newer object is a 409, which
means "re-read next tick", never a crash.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from scaling.clusters import objects
from scaling.clusters.clients import KUBE_TIMEOUT, ClientError, Clients
from scaling.names import ClusterId, InvalidName, dns1123_label, dns1123_subdomain
from scaling.plan.actions import ObjectChange, Outcome, Result
from scaling.plan.observed import ObservedCluster

# The kubernetes client (36.x) picks the first Content-Type a PATCH operation lists, which is
# application/json-patch+json for built-in kinds: a dict body would be read as a JSON Patch.
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Kind:
    """One kind the app reads and patches: how to list it and patch it with the typed client."""

    section: str  # key in observe's lists, as runscript.READ_RESOURCES
    resource: str  # kubectl's plural.group, as ObjectChange.resource
    api: Callable[[k8s.ApiClient], Any]
    list_all: str  # method listing every namespace
    list_namespaced: str
    patch: str | None  # None: read only
    custom: tuple[str, str, str] | None = None  # (group, version, plural) for CustomObjectsApi

    def list(self, api_client: k8s.ApiClient, namespace: str | None, **options: Any) -> Any:
        api = self.api(api_client)
        if self.custom:
            group, version, plural = self.custom
            if namespace is None:
                return getattr(api, self.list_all)(group, version, plural, **options)
            return getattr(api, self.list_namespaced)(group, version, namespace, plural, **options)
        if namespace is None:
            return getattr(api, self.list_all)(**options)
        return getattr(api, self.list_namespaced)(namespace, **options)

    def patch_object(self, api_client: k8s.ApiClient, namespace: str, name: str, body: Any, **options: Any) -> Any:
        if self.patch is None:
            raise ValueError(f"{self.resource} is read only")
        api = self.api(api_client)
        if self.custom:
            group, version, plural = self.custom
            return getattr(api, self.patch)(group, version, namespace, plural, name, body, **options)
        return getattr(api, self.patch)(name, namespace, body, **options)


KINDS: tuple[Kind, ...] = (
    Kind(
        "deployments",
        "deployments.apps",
        k8s.AppsV1Api,
        "list_deployment_for_all_namespaces",
        "list_namespaced_deployment",
        "patch_namespaced_deployment",
    ),
    Kind(
        "statefulsets",
        "statefulsets.apps",
        k8s.AppsV1Api,
        "list_stateful_set_for_all_namespaces",
        "list_namespaced_stateful_set",
        "patch_namespaced_stateful_set",
    ),
    Kind(
        "horizontalpodautoscalers",
        "horizontalpodautoscalers.autoscaling",
        k8s.AutoscalingV2Api,
        "list_horizontal_pod_autoscaler_for_all_namespaces",
        "list_namespaced_horizontal_pod_autoscaler",
        "patch_namespaced_horizontal_pod_autoscaler",
    ),
    Kind(
        "cronjobs",
        "cronjobs.batch",
        k8s.BatchV1Api,
        "list_cron_job_for_all_namespaces",
        "list_namespaced_cron_job",
        "patch_namespaced_cron_job",
    ),
    Kind("jobs", "jobs.batch", k8s.BatchV1Api, "list_job_for_all_namespaces", "list_namespaced_job", None),
    Kind(
        "scaledobjects",
        "scaledobjects.keda.sh",
        k8s.CustomObjectsApi,
        "list_cluster_custom_object",
        "list_namespaced_custom_object",
        "patch_namespaced_custom_object",
        custom=("keda.sh", "v1alpha1", "scaledobjects"),
    ),
)
PATCHABLE: Mapping[str, Kind] = {kind.resource: kind for kind in KINDS if kind.patch}
OPTIONAL = frozenset({"scaledobjects"})  # the KEDA CRD may be absent: 404, not an error


def list_scope(namespaces: Sequence[str]) -> str | None:
    """The namespace to list in, or None for all: one namespace is one call either way (and needs only
    the namespaced Role); several are one cluster-wide call instead of one per namespace."""
    return namespaces[0] if len(namespaces) == 1 else None


def api_error(error: ApiException) -> str:
    """`HTTP 403 Forbidden: <the Status message>` from a Kubernetes API error."""
    message = ""
    try:
        message = json.loads(error.body or "{}").get("message", "")
    except (ValueError, AttributeError):
        message = str(error.body or "")[:300]
    return f"HTTP {error.status} {error.reason or ''}: {message}".strip().rstrip(":")


class KubeApiBackend:
    """Observe and patch workloads through each cluster's API server (clients cached in `Clients`)."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def observe(self, cluster: ClusterId, namespaces: Sequence[str], *, strays: bool = False) -> ObservedCluster:
        """Every managed kind in `namespaces`: exactly one list call per kind, run side by side. With
        `strays`, the lists are cluster-wide and also keep what holds the app's originals elsewhere."""
        try:
            names = sorted({dns1123_label(ns, what="namespace") for ns in namespaces})
        except InvalidName as error:
            return ObservedCluster(cluster, error=str(error))
        if not names and not strays:
            return ObservedCluster(cluster)
        try:
            api_client = self._clients.kube(cluster)
        except ClientError as error:
            return ObservedCluster(cluster, error=str(error))
        scope = None if strays else list_scope(names)
        with ThreadPoolExecutor(max_workers=len(KINDS)) as pool:
            futures = {kind.section: pool.submit(self._list, api_client, kind, scope) for kind in KINDS}
        lists: dict[str, list[dict]] = {}
        keda_installed = True
        for section, future in futures.items():
            try:
                lists[section] = future.result()
            except ApiException as error:
                if section in OPTIONAL and error.status == 404:
                    keda_installed, lists[section] = False, []
                    continue
                return ObservedCluster(cluster, error=f"listing {section} failed: {api_error(error)}")
            except (urllib3.exceptions.HTTPError, OSError, ValueError) as error:
                return ObservedCluster(cluster, error=f"listing {section} failed: {error}")
        try:
            return objects.observed_cluster(
                cluster, lists, namespaces=names, keda_installed=keda_installed, strays=strays
            )
        except objects.ObjectError as error:
            return ObservedCluster(cluster, error=f"unreadable object: {error}")

    @staticmethod
    def _list(api_client: k8s.ApiClient, kind: Kind, namespace: str | None) -> list[dict]:
        # No `limit`: one request returns the whole list (the API server serves it from its cache).
        response = kind.list(api_client, namespace, _preload_content=False, _request_timeout=KUBE_TIMEOUT)
        try:
            body = json.loads(response.data)
        finally:
            response.release_conn()
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ValueError(f"the {kind.section} list has no items array")
        return items

    def apply(self, cluster: ClusterId, changes: Sequence[ObjectChange], *, concurrency: int = 8) -> list[Outcome]:
        """One merge PATCH per change, at most `concurrency` in flight; outcomes in the order of `changes`.

        Never raises for one object: each change gets OK, BUSY (409: re-read next tick) or FAILED."""
        if not changes:
            return []
        try:
            api_client = self._clients.kube(cluster)
        except ClientError as error:
            return [Outcome(change, Result.FAILED, str(error)) for change in changes]
        workers = max(1, min(concurrency, len(changes)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda change: self._patch(api_client, cluster, change), changes))

    @staticmethod
    def _patch(api_client: k8s.ApiClient, cluster: ClusterId, change: ObjectChange) -> Outcome:
        started = time.monotonic()

        def outcome(result: Result, error: str | None = None) -> Outcome:
            return Outcome(change, result, error, int((time.monotonic() - started) * 1000))

        kind = PATCHABLE.get(change.resource)
        if kind is None:
            return outcome(Result.FAILED, f"resource {change.resource!r} cannot be patched by this app")
        if change.cluster != cluster:
            return outcome(Result.FAILED, f"change for {change.cluster.name} sent to {cluster.name}")
        try:
            namespace = dns1123_label(change.namespace, what="namespace")
            name = dns1123_subdomain(change.name, what=f"{change.resource} name")
            response = kind.patch_object(
                api_client,
                namespace,
                name,
                dict(change.patch),
                _content_type=MERGE_PATCH,
                _preload_content=False,
                _request_timeout=KUBE_TIMEOUT,
            )
            response.data  # read to the end so the connection can be reused  # noqa: B018
            response.release_conn()
        except InvalidName as error:
            return outcome(Result.FAILED, str(error))
        except ApiException as error:
            if error.status == 409:
                return outcome(Result.BUSY, f"{change.target} changed since it was read: re-read next tick")
            if error.status == 404:
                return outcome(Result.FAILED, f"{change.target} not found (deleted since it was read?)")
            return outcome(Result.FAILED, f"PATCH {change.target} failed: {api_error(error)}")
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return outcome(Result.FAILED, f"PATCH {change.target} failed: API server unreachable: {error}")
        return outcome(Result.OK)
