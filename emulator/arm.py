"""ARM for Microsoft.ContainerService: managed clusters, agent pools (as LROs), run-command, credentials."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable

import yaml

from emulator.faults import Fault, Faults
from emulator.http import Request, Response, Router
from emulator.pools import ArmError, Pool, busy, validate
from emulator.runcommand import CommandError, Runner
from emulator.state import Cluster, Operation, State

PROVIDER = "/providers/Microsoft.ContainerService"
CLUSTERS = "/subscriptions/{subscription}/resourceGroups/{resourceGroup}" + PROVIDER + "/managedClusters"
CLUSTER = CLUSTERS + "/{cluster}"
OPERATION_API_VERSION = "2016-03-30"  # what AKS puts on its operation URLs (UNCONFIRMED; any is accepted)
AAD_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630"
_POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")

_ERRORS = {
    429: ("Throttled", "The request was throttled. Retry after the time in the Retry-After header."),
    500: ("InternalServerError", "An internal server error occurred."),
    502: ("BadGateway", "The gateway received an invalid response."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable."),
    504: ("GatewayTimeout", "The gateway did not receive a response within the specified time."),
    404: ("NotFound", "The requested resource was not found."),
    405: ("MethodNotAllowed", "The requested method is not allowed for this resource."),
}


def retry_headers(seconds: float | None) -> dict[str, str]:
    """Retry-After as ARM sends it: whole seconds. A fractional value (tests) is sent as `Retry-After: 0`
    plus `retry-after-ms`: azure-core still treats the answer as retryable (it looks for Retry-After,
    even on a POST) but, reading 0, waits its own backoff / polling_interval instead."""
    if seconds is None:
        return {}
    if seconds != int(seconds):
        return {"Retry-After": "0", "retry-after-ms": str(int(round(seconds * 1000)))}
    return {"Retry-After": str(int(seconds))}


def render_error(status: int, method: str, where: str, fault: Fault | None) -> Response:
    code, message = _ERRORS.get(status, ("Error", f"HTTP {status}"))
    if fault is not None:
        code = fault.code or code
        message = f"{message} [injected by the emulator]"
    return Response(
        status,
        {"error": {"code": code, "message": message}},
        retry_headers(fault.retry_after) if fault is not None else {},
    )


def build_router(
    state: State, runner: Runner, faults: Faults, kube_url: Callable[[str], str], ca_pem: Callable[[], bytes]
) -> Router:
    router = Router(ignore_case=True)  # ARM paths are case-insensitive

    def arm(handler: Callable[..., Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            try:
                _check(state, request)
                with state.lock:
                    cluster = _cluster(state, request) if "cluster" in request.params else None
                    state.settle(cluster.name if cluster is not None else None)
                    return handler(request, cluster) if cluster is not None else handler(request)
            except ArmError as error:
                return Response(error.status, error.body(), error.headers)

        return run

    def location(request: Request, path: str) -> str:
        return f"https://{request.host}{path}?api-version={request.query.get('api-version', '')}"

    def list_clusters(request: Request) -> Response:
        clusters = [c for c in state.clusters.values()]
        return Response(200, {"value": [_cluster_resource(c) for c in clusters]})

    def get_cluster(request: Request, cluster: Cluster) -> Response:
        return Response(200, _cluster_resource(cluster))

    def list_pools(request: Request, cluster: Cluster) -> Response:
        return Response(200, {"value": [p.resource(cluster.id) for p in cluster.pools.values()]})

    def get_pool(request: Request, cluster: Cluster) -> Response:
        return Response(200, _pool(cluster, request.params["pool"]).resource(cluster.id))

    def put_pool(request: Request, cluster: Cluster) -> Response:
        name = request.params["pool"]
        current = cluster.pools.get(name)
        if current is None and not _POOL_NAME.match(name):
            raise ArmError(
                400,
                "InvalidParameter",
                f"Agent pool name '{name}' is invalid: it must match ^[a-z][a-z0-9]{{0,11}}$.",
                target="name",
            )
        if_match, if_none = request.headers.get("If-Match"), request.headers.get("If-None-Match")
        if (if_match and (current is None or if_match not in ("*", current.etag, f'"{current.etag}"'))) or (
            if_none == "*" and current is not None
        ):
            raise ArmError(
                412, "PreconditionFailed", "The condition specified using HTTP conditional header(s) is not met."
            )
        if current is not None and current.busy:
            raise busy(current)
        body = request.json()
        props = validate(current, body, name=name, other_system_pools=cluster.system_pools(besides=name))
        pool = current or Pool(name=name, props={})
        _, failure = faults.take("pool-operation", "PUT", name, cluster.name)
        error = (
            (
                failure.code or "AllocationFailed",
                failure.message
                or "Allocation failed. We do not have sufficient "
                "capacity for the requested VM size in this region. [injected by the emulator]",
            )
            if failure
            else None
        )
        op = pool.start(
            props,
            now=state.clock.now(),
            delay=state.delays.pool_operation,
            wall=state.clock.wall_text(),
            created=current is None,
            error=error,
        )
        cluster.pools[name] = pool
        state.operations[op.id] = Operation(op.id, cluster.name, name, op.start_wall)
        op_path = (
            f"/subscriptions/{state.config.subscription}{PROVIDER}/locations/"
            f"{cluster.config.location}/operations/{op.id}"
        )
        headers = {
            "Azure-AsyncOperation": f"https://{request.host}{op_path}?api-version={OPERATION_API_VERSION}",
            **retry_headers(state.delays.lro_retry_after),
        }
        return Response(201 if current is None else 200, pool.resource(cluster.id), headers)

    def get_operation(request: Request) -> Response:
        operation = state.operations.get(request.params["operation"])
        if operation is None:
            raise ArmError(404, "NotFound", f"Operation {request.params['operation']} was not found.", flat=False)
        body: dict[str, object] = {
            "id": request.path,
            "name": operation.id,
            "status": operation.status,
            "startTime": operation.start_wall,
        }
        if operation.end_wall:
            body["endTime"] = operation.end_wall
        if operation.error:
            body["error"] = {"code": operation.error[0], "message": operation.error[1]}
        headers = retry_headers(state.delays.lro_retry_after) if operation.status == "InProgress" else {}
        return Response(200, body, headers)

    def run_command(request: Request, cluster: Cluster) -> Response:
        body = request.json()
        try:
            command = runner.submit(cluster.name, body)
        except CommandError as error:
            raise ArmError(400, "InvalidParameter", str(error), target="properties.command") from None
        result_path = f"{cluster.id}/commandResults/{command.id}"
        return Response(
            202, None, {"Location": location(request, result_path), **retry_headers(state.delays.lro_retry_after)}
        )

    def command_result(request: Request, cluster: Cluster) -> Response:
        command = runner.get(request.params["command"])
        if command is None or command.cluster != cluster.name:
            raise ArmError(404, "NotFound", f"Command result {request.params['command']} was not found.", flat=False)
        if not runner.ready(command):
            return Response(
                202, None, {"Location": location(request, request.path), **retry_headers(state.delays.lro_retry_after)}
            )
        return Response(200, command.result())

    def credentials(request: Request, cluster: Cluster) -> Response:
        config = user_kubeconfig(cluster.name, kube_url(cluster.name), ca_pem(), request.query.get("format") or "exec")
        value = base64.b64encode(yaml.safe_dump(config, sort_keys=False).encode()).decode()
        return Response(200, {"kubeconfigs": [{"name": "clusterUser", "value": value}]})

    subs = "/subscriptions/{subscription}" + PROVIDER
    router.add("GET", subs + "/managedClusters", arm(list_clusters), name="subscriptions/managedClusters")
    router.add(
        "GET", subs + "/locations/{location}/operations/{operation}", arm(get_operation), name="operations/{operation}"
    )
    router.add("GET", CLUSTERS, arm(list_clusters), name="managedClusters")
    router.add("GET", CLUSTER, arm(get_cluster), name="managedClusters/{cluster}")
    router.add("GET", CLUSTER + "/agentPools", arm(list_pools), name="managedClusters/{cluster}/agentPools")
    router.add("GET", CLUSTER + "/agentPools/{pool}", arm(get_pool), name="managedClusters/{cluster}/agentPools/{pool}")
    router.add("PUT", CLUSTER + "/agentPools/{pool}", arm(put_pool), name="managedClusters/{cluster}/agentPools/{pool}")
    router.add("POST", CLUSTER + "/runCommand", arm(run_command), name="managedClusters/{cluster}/runCommand")
    router.add(
        "GET",
        CLUSTER + "/commandResults/{command}",
        arm(command_result),
        name="managedClusters/{cluster}/commandResults/{command}",
    )
    router.add(
        "POST",
        CLUSTER + "/listClusterUserCredential",
        arm(credentials),
        name="managedClusters/{cluster}/listClusterUserCredential",
    )
    return router


def _check(state: State, request: Request) -> None:
    auth = request.headers.get("Authorization") or ""
    if not auth.startswith("Bearer ") or not auth[7:].strip():
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing or is not a bearer token.",
            flat=False,
        )
    if not request.query.get("api-version"):
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
            flat=False,
        )
    subscription = request.params.get("subscription")
    if subscription is not None and subscription.lower() != state.config.subscription.lower():
        raise ArmError(
            404, "SubscriptionNotFound", f"The subscription '{subscription}' could not be found.", flat=False
        )
    group = request.params.get("resourceGroup")
    if group is not None and group.lower() != state.config.resource_group.lower():
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.", flat=False)


def _cluster(state: State, request: Request) -> Cluster:
    name = request.params["cluster"]
    for cluster in state.clusters.values():
        if cluster.name.lower() == name.lower():
            return cluster
    raise ArmError(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.ContainerService/managedClusters/{name}' under "
        f"resource group '{request.params.get('resourceGroup')}' was not found. For more details please go "
        "to https://aka.ms/ARMResourceNotFoundFix",
        flat=False,
    )


def _pool(cluster: Cluster, name: str) -> Pool:
    pool = cluster.pools.get(name)
    if pool is None:
        raise ArmError(404, "NotFound", f"Agent pool '{name}' not found in managed cluster '{cluster.name}'.")
    return pool


def _cluster_resource(cluster: Cluster) -> dict:
    cfg = cluster.config
    fqdn_key = "privateFQDN" if cfg.private else "fqdn"
    return {
        "id": cluster.id,
        "name": cluster.name,
        "type": "Microsoft.ContainerService/ManagedClusters",
        "location": cfg.location,
        "tags": dict(cfg.tags),
        "sku": {"name": "Base", "tier": "Standard"},
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "provisioningState": "Succeeded",
            "powerState": {"code": "Running"},
            "kubernetesVersion": cfg.kubernetes_version,
            "currentKubernetesVersion": cfg.kubernetes_version,
            "dnsPrefix": cluster.name,
            fqdn_key: f"{cluster.name}.hcp.{cfg.location}.emulator.local",
            "agentPoolProfiles": [{"name": p.name, **p.properties()} for p in cluster.pools.values()],
            "apiServerAccessProfile": {"enablePrivateCluster": cfg.private, "disableRunCommand": False},
            "aadProfile": {"managed": True, "enableAzureRBAC": True},
            "enableRBAC": True,
            "nodeResourceGroup": f"MC_{cluster.id.split('/')[4]}_{cluster.name}_{cfg.location}",
        },
    }


def user_kubeconfig(cluster: str, server: str, ca_pem: bytes, fmt: str) -> dict:
    """An Entra cluster's clusterUser kubeconfig: no credentials, a kubelogin exec (or legacy azure) user."""
    user: dict
    if fmt == "azure":
        user = {
            "auth-provider": {
                "name": "azure",
                "config": {"apiserver-id": AAD_SERVER_APP, "environment": "AzurePublicCloud"},
            }
        }
    else:
        user = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "kubelogin",
                "args": [
                    "get-token",
                    "--environment",
                    "AzurePublicCloud",
                    "--server-id",
                    AAD_SERVER_APP,
                    "--login",
                    "devicecode",
                ],
                "interactiveMode": "IfAvailable",
                "provideClusterInfo": False,
            }
        }
    user_name = f"clusterUser_{cluster}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": cluster,
        "clusters": [
            {
                "name": cluster,
                "cluster": {"server": server, "certificate-authority-data": base64.b64encode(ca_pem).decode()},
            }
        ],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user_name}}],
        "users": [{"name": user_name, "user": user}],
    }
