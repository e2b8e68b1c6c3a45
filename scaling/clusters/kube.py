"""The Kubernetes API access path: one list per kind per cluster to observe, one merge PATCH per change.

Lists are read as raw JSON (`_preload_content=False`): no model deserialization for big lists, and the
same dicts as `kubectl -o json`, so scaling/clusters/objects.py parses both access paths alike. Patches are
JSON merge patches carrying `metadata.resourceVersion`, serialized once and sent on the client's own
connection pool (urllib3) without the client's per-call model and parameter machinery, which cost about
as much CPU as the request itself on a mass tick (bench/README.md, hot_path.py).

A 409 means the object changed since it was read. A controller writing status does that all the time
(a Deployment's status moves while pods start), and a status write never changes the decision: the
object is read again at once, and when what the decision rests on (generation, labels, annotations) is
as observed, the patch is sent again once with the new resourceVersion. Otherwise it is BUSY: re-read
next tick, never a crash.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

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
    api_path: str = ""  # the API group/version path of the kind's collection, e.g. /apis/apps/v1

    def object_path(self, namespace: str, name: str) -> str:
        plural = self.resource.split(".")[0]
        return f"{self.api_path}/namespaces/{quote(namespace, safe='')}/{plural}/{quote(name, safe='')}"

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
        api_path="/apis/apps/v1",
    ),
    Kind(
        "statefulsets",
        "statefulsets.apps",
        k8s.AppsV1Api,
        "list_stateful_set_for_all_namespaces",
        "list_namespaced_stateful_set",
        "patch_namespaced_stateful_set",
        api_path="/apis/apps/v1",
    ),
    Kind(
        "horizontalpodautoscalers",
        "horizontalpodautoscalers.autoscaling",
        k8s.AutoscalingV2Api,
        "list_horizontal_pod_autoscaler_for_all_namespaces",
        "list_namespaced_horizontal_pod_autoscaler",
        "patch_namespaced_horizontal_pod_autoscaler",
        api_path="/apis/autoscaling/v2",
    ),
    Kind(
        "cronjobs",
        "cronjobs.batch",
        k8s.BatchV1Api,
        "list_cron_job_for_all_namespaces",
        "list_namespaced_cron_job",
        "patch_namespaced_cron_job",
        api_path="/apis/batch/v1",
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
        api_path="/apis/keda.sh/v1alpha1",
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


def status_error(status: int, reason: str | None, body: bytes) -> str:
    """`HTTP 403 Forbidden: <the Status message>` from a raw response."""
    try:
        message = json.loads(body or b"{}").get("message", "")
    except (ValueError, AttributeError):
        message = body[:300].decode("utf-8", "replace")
    return f"HTTP {status} {reason or ''}: {message}".strip().rstrip(":")


def fingerprint(item: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a decision about `item` rests on besides its status: spec changes move `generation`, and
    labels and annotations (the app's own bookkeeping, opt-outs) do not, so they are compared whole."""
    meta = item.get("metadata") or {}
    return (
        meta.get("generation"),
        json.dumps(meta.get("labels") or {}, sort_keys=True),
        json.dumps(meta.get("annotations") or {}, sort_keys=True),
    )


class _Response:
    """A raw response: status, reason and body."""

    def __init__(self, status: int, reason: str | None, data: bytes) -> None:
        self.status, self.reason, self.data = status, reason, data


class KubeApiBackend:
    """Observe and patch workloads through each cluster's API server (clients cached in `Clients`)."""

    streams_outcomes = True  # apply() reports each outcome as it comes (reconcile audits it at once)

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._seen_lock = threading.Lock()
        self._seen: dict[ClusterId, dict[tuple[str, str, str], tuple[Any, ...]]] = {}

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
        seen = {
            (kind.resource, meta.get("namespace", ""), meta.get("name", "")): fingerprint(item)
            for kind in KINDS
            if kind.patch
            for item in lists.get(kind.section, ())
            if isinstance(item, dict) and isinstance(meta := item.get("metadata"), dict)
        }
        with self._seen_lock:
            self._seen[cluster] = seen
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

    def apply(
        self,
        cluster: ClusterId,
        changes: Sequence[ObjectChange],
        *,
        concurrency: int = 8,
        on_outcome: Callable[[int, Outcome], None] | None = None,
    ) -> list[Outcome]:
        """One merge PATCH per change, at most `concurrency` in flight; outcomes in the order of `changes`.
        `on_outcome(position, outcome)` hears of each as soon as it is known.

        Never raises for one object: each change gets OK, BUSY (409 twice: re-read next tick) or FAILED."""
        if not changes:
            return []
        try:
            api_client = self._clients.kube(cluster)
        except ClientError as error:
            failed = [Outcome(change, Result.FAILED, str(error)) for change in changes]
            for position, outcome in enumerate(failed):
                if on_outcome is not None:
                    on_outcome(position, outcome)
            return failed
        with self._seen_lock:
            seen = self._seen.get(cluster, {})

        def one(position: int) -> Outcome:
            outcome = self._patch(api_client, cluster, changes[position], seen)
            if on_outcome is not None:
                on_outcome(position, outcome)
            return outcome

        workers = max(1, min(concurrency, len(changes)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, range(len(changes))))

    @staticmethod
    def _send(api_client: k8s.ApiClient, method: str, path: str, body: bytes | None = None) -> _Response:
        """One request on the client's connection pool, with its credentials and TLS settings."""
        configuration = api_client.configuration
        headers = {"Accept": "application/json", "User-Agent": api_client.user_agent}
        token = configuration.get_api_key_with_prefix("BearerToken")  # runs the token refresh hook
        if token:
            headers["Authorization"] = token
        if body is not None:
            headers["Content-Type"] = MERGE_PATCH
        response = api_client.rest_client.pool_manager.request(
            method,
            configuration.host + path,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=KUBE_TIMEOUT[0], read=KUBE_TIMEOUT[1]),
            retries=False,
            preload_content=True,
        )
        return _Response(response.status, response.reason, response.data)

    @classmethod
    def _patch(
        cls,
        api_client: k8s.ApiClient,
        cluster: ClusterId,
        change: ObjectChange,
        seen: Mapping[tuple[str, str, str], tuple[Any, ...]],
    ) -> Outcome:
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
        except InvalidName as error:
            return outcome(Result.FAILED, str(error))
        path = kind.object_path(namespace, name)
        try:
            response = cls._send(api_client, "PATCH", path, json.dumps(change.patch).encode())
            if response.status == 409:
                response = cls._retry_conflict(api_client, path, change, seen) or response
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return outcome(Result.FAILED, f"PATCH {change.target} failed: API server unreachable: {error}")
        if response.status == 409:
            return outcome(Result.BUSY, f"{change.target} changed since it was read: re-read next tick")
        if response.status == 404:
            return outcome(Result.FAILED, f"{change.target} not found (deleted since it was read?)")
        if not 200 <= response.status < 300:
            return outcome(
                Result.FAILED,
                f"PATCH {change.target} failed: {status_error(response.status, response.reason, response.data)}",
            )
        return outcome(Result.OK)

    @classmethod
    def _retry_conflict(
        cls,
        api_client: k8s.ApiClient,
        path: str,
        change: ObjectChange,
        seen: Mapping[tuple[str, str, str], tuple[Any, ...]],
    ) -> _Response | None:
        """After a 409: read the object again; when only its status moved since it was observed, send the
        patch again once with the new resourceVersion. None when the decision may have changed."""
        observed = seen.get((change.resource, change.namespace, change.name))
        meta = change.patch.get("metadata")
        if observed is None or not isinstance(meta, Mapping) or "resourceVersion" not in meta:
            return None
        current = cls._send(api_client, "GET", path)
        if current.status != 200:
            return None
        try:
            item = json.loads(current.data)
        except ValueError:
            return None
        if not isinstance(item, dict) or fingerprint(item) != observed:
            return None
        version = (item.get("metadata") or {}).get("resourceVersion")
        if not isinstance(version, str):
            return None
        again = {**change.patch, "metadata": {**meta, "resourceVersion": version}}
        return cls._send(api_client, "PATCH", path, json.dumps(again).encode())
