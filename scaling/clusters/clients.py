"""Credentials and SDK clients, built once per process and per cluster, never per call."""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any

import yaml
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.pipeline.policies import RetryPolicy
from azure.core.polling import PollingMethod
from kubernetes import client as k8s

from scaling.names import ClusterId
from scaling.settings import AKS_SERVER_SCOPE, Settings
from scaling.transport import pooled_transport


class ClientError(RuntimeError):
    """A client could not be built for a cluster; the message says which and why."""


# ARM calls must not hold a tick: a few quick retries, and a server asking for a longer wait than
# MAX_RETRY_AFTER gets an error now (the next tick retries) instead of a long sleep. Worst case for one
# call: about ARM_TIMEOUT seconds plus one read timeout.
ARM_RETRY_TOTAL = 3
ARM_BACKOFF = 0.5  # seconds, doubled each retry up to ARM_BACKOFF_MAX
ARM_BACKOFF_MAX = 8
MAX_RETRY_AFTER = 10.0  # seconds; AKS throttling asks for a few seconds
ARM_TIMEOUT = 60  # seconds over all attempts of one call
ARM_CONNECT_TIMEOUT = 10
ARM_READ_TIMEOUT = 60
KUBE_LIST_CALLS = 6  # lists an observation runs side by side (scaling/clusters/kube.py KINDS)
KUBE_TIMEOUT = (5, 30)  # (connect, read) seconds for one Kubernetes API request


class BoundedRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy, minus the waits a tick cannot afford.

    - 409 is never retried, even with Retry-After: a busy pool is "try again next tick".
    - A Retry-After longer than MAX_RETRY_AFTER ends the call instead of sleeping (azure-core would
      sleep for whatever the server asks, unbounded)."""

    def is_retry(self, settings: dict, response: Any) -> bool:
        if response.http_response.status_code == 409:
            return False
        retry_after = self.get_retry_after(response)
        if retry_after is not None and retry_after > MAX_RETRY_AFTER:
            return False
        return super().is_retry(settings, response)


def arm_message(error: Exception) -> str:
    """`Code: message` from an ARM error (flat AKS or wrapped ARM body), else the exception text."""
    inner = getattr(error, "error", None)
    code = getattr(inner, "code", None)
    text = getattr(inner, "message", None)
    status = getattr(error, "status_code", None)
    prefix = f"HTTP {status} " if status else ""
    if code or text:
        return f"{prefix}{code or ''}: {text or ''}".strip()
    return f"{prefix}{error.message if hasattr(error, 'message') else error}".strip()


def arm_retry_policy() -> RetryPolicy:
    return BoundedRetryPolicy(
        retry_total=ARM_RETRY_TOTAL,
        retry_backoff_factor=ARM_BACKOFF,
        retry_backoff_max=ARM_BACKOFF_MAX,
        timeout=ARM_TIMEOUT,
    )


class StartOnly(PollingMethod):
    """A polling method that stops at the initial response: start a long-running operation, don't wait.

    The SDK's own `polling=False` hides the response headers (and fails to deserialize an empty 202);
    this keeps them, so callers can record the operation (Azure-AsyncOperation / Location) and look at
    its result themselves on their own, bounded terms. No background thread is started."""

    def __init__(self) -> None:
        self.status_code = 0
        self.headers: dict[str, str] = {}
        self._initial: Any = None
        self._deserialize: Any = None

    def initialize(self, client: Any, initial_response: Any, deserialization_callback: Any) -> None:
        self._initial = initial_response
        self._deserialize = deserialization_callback
        self.status_code = initial_response.http_response.status_code
        self.headers = dict(initial_response.http_response.headers)

    def run(self) -> None:  # never called: finished() is True from the start
        return None

    def status(self) -> str:
        return "Started"

    def finished(self) -> bool:
        return True

    def resource(self) -> Any:
        """The initial body deserialized, or None when it has none (a 202 Accepted)."""
        if self.status_code == 202 or not self._initial.http_response.text():
            return None
        return self._deserialize(self._initial)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == lowered), None)


class StaticTokenCredential:
    """A TokenCredential handing out a fixed token: for the local emulator only."""

    def __init__(self, token: str = "local-emulator-token") -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self._token, int(time.time()) + 3600)


def build_credential(settings: Settings) -> TokenCredential:
    """The app's identity: a static token for the emulator, else DefaultAzureCredential
    (managed identity in Azure, `az login` or environment on a laptop)."""
    if settings.local_credential:
        return StaticTokenCredential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(managed_identity_client_id=settings.managed_identity_client_id)


@dataclass(frozen=True)
class KubeTarget:
    """Where a cluster's Kubernetes API is and how to trust it."""

    server: str
    ca_file: str | None
    static_token: str | None  # from a local kubeconfig; None means an Entra token


class Clients:
    """Process-wide cache of ARM and Kubernetes clients, keyed by subscription / cluster."""

    def __init__(self, settings: Settings, credential: TokenCredential | None = None) -> None:
        self.settings = settings
        self.credential = credential or build_credential(settings)
        self._lock = threading.Lock()
        self._arm: dict[str, Any] = {}
        self._kube: dict[ClusterId, k8s.ApiClient] = {}
        self._ca_dir_path: str | None = None

    @property
    def _ca_dir(self) -> str:
        """A private directory for CA files from kubeconfigs, made on first use and removed with this object
        (or at exit), so no process leaves certificates behind in the temp dir."""
        if self._ca_dir_path is None:
            self._ca_dir_path = tempfile.mkdtemp(prefix="aks-hours-ca-")
            weakref.finalize(self, shutil.rmtree, self._ca_dir_path, ignore_errors=True)
        return self._ca_dir_path

    def arm(self, subscription: str) -> Any:
        """The ContainerServiceClient for one subscription (cached)."""
        with self._lock:
            cached = self._arm.get(subscription)
            if cached is None:
                from azure.mgmt.containerservice import ContainerServiceClient

                cached = ContainerServiceClient(
                    self.credential,
                    subscription,
                    base_url=self.settings.arm_endpoint,
                    retry_policy=arm_retry_policy(),
                    transport=self._arm_transport(),
                )
                self._arm[subscription] = cached
            return cached

    def _arm_transport(self) -> Any:
        """Room for every ARM call a tick has in flight: clusters at once x writes per cluster."""
        options: dict[str, Any] = {"connection_timeout": ARM_CONNECT_TIMEOUT, "read_timeout": ARM_READ_TIMEOUT}
        if self.settings.arm_ca_bundle:
            options["connection_verify"] = self.settings.arm_ca_bundle
        return pooled_transport(self.settings.cluster_concurrency * self.settings.concurrency, **options)

    def kube(self, cluster: ClusterId) -> k8s.ApiClient:
        """The Kubernetes ApiClient for one cluster (cached; the token refreshes itself)."""
        with self._lock:
            cached = self._kube.get(cluster)
        if cached is not None:
            return cached
        target = self._kube_target(cluster)
        api_client = self._api_client(target)
        with self._lock:
            return self._kube.setdefault(cluster, api_client)

    def forget(self, cluster: ClusterId) -> None:
        """Drop a cluster's cached client, e.g. after its API server moved."""
        with self._lock:
            self._kube.pop(cluster, None)

    def _kube_target(self, cluster: ClusterId) -> KubeTarget:
        if self.settings.kubeconfig:
            with open(self.settings.kubeconfig, encoding="utf-8") as handle:
                return self._target_from_kubeconfig(yaml.safe_load(handle), cluster, context=cluster.name)
        try:
            result = self.arm(cluster.subscription).managed_clusters.list_cluster_user_credentials(
                cluster.resource_group, cluster.name
            )
        except Exception as error:  # noqa: BLE001 - any SDK failure is reported per cluster
            raise ClientError(f"cannot get kubeconfig of {cluster.name}: {error}") from error
        if not result.kubeconfigs:
            raise ClientError(f"cluster {cluster.name} returned no kubeconfig")
        raw = result.kubeconfigs[0].value
        text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else base64.b64decode(raw).decode()
        return self._target_from_kubeconfig(yaml.safe_load(text), cluster, context=None)

    def _target_from_kubeconfig(self, config: dict, cluster: ClusterId, *, context: str | None) -> KubeTarget:
        contexts = {c["name"]: c["context"] for c in config.get("contexts") or []}
        if context is not None:
            if context not in contexts:
                raise ClientError(
                    f"kubeconfig {self.settings.kubeconfig} has no context named {context!r}"
                    f" (contexts: {', '.join(sorted(contexts)) or 'none'})"
                )
            chosen = contexts[context]
        else:
            chosen = contexts.get(config.get("current-context")) or next(iter(contexts.values()), {})
        clusters = {c["name"]: c["cluster"] for c in config.get("clusters") or []}
        users = {u["name"]: u.get("user") or {} for u in config.get("users") or []}
        entry = clusters.get(chosen.get("cluster")) or next(iter(clusters.values()), None)
        if not entry or not entry.get("server"):
            raise ClientError(f"kubeconfig for {cluster.name} names no API server")
        ca_file = None
        if entry.get("certificate-authority-data"):
            ca_file = os.path.join(self._ca_dir, f"{cluster.subscription}-{cluster.resource_group}-{cluster.name}.pem")
            with open(ca_file, "wb") as handle:
                handle.write(base64.b64decode(entry["certificate-authority-data"]))
        elif entry.get("certificate-authority"):
            ca_file = entry["certificate-authority"]
        token = users.get(chosen.get("user"), {}).get("token")
        return KubeTarget(server=entry["server"], ca_file=ca_file, static_token=token)

    def _api_client(self, target: KubeTarget) -> k8s.ApiClient:
        configuration = k8s.Configuration(host=target.server)
        if target.ca_file:
            configuration.ssl_ca_cert = target.ca_file
        # kubernetes 36 sends the key named "BearerToken" (37 renamed it "authorization"): set both, so
        # the header goes out whichever client is installed.
        configuration.api_key_prefix = {"BearerToken": "Bearer", "authorization": "Bearer"}
        if target.static_token:
            configuration.api_key = _bearer(target.static_token)
        else:
            credential = self.credential
            token_box: dict[str, AccessToken] = {}

            def refresh(config: k8s.Configuration) -> None:
                # Entra tokens expire after about an hour; renew five minutes early.
                current = token_box.get("token")
                if current is None or current.expires_on - time.time() < 300:
                    token_box["token"] = credential.get_token(AKS_SERVER_SCOPE)
                config.api_key = _bearer(token_box["token"].token)

            configuration.refresh_api_key_hook = refresh
            refresh(configuration)
        configuration.retries = 0  # the next tick retries; a stuck call must not hold a tick
        # urllib3 keeps `connection_pool_maxsize` connections per host (the client's default is 5 per CPU):
        # room for every write in flight, or each one past it is opened, used once and thrown away.
        configuration.connection_pool_maxsize = max(self.settings.concurrency, KUBE_LIST_CALLS)
        return k8s.ApiClient(configuration)


def _bearer(token: str) -> dict[str, str]:
    return {"BearerToken": token, "authorization": token}
