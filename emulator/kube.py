"""One cluster's Kubernetes API: legacy discovery plus list/get/create/update/patch and `scale` per kind."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from emulator import kinds, openapi, protobuf, tables
from emulator.faults import Fault
from emulator.http import Request, Response, Router
from emulator.kinds import Kind
from emulator.state import Cluster, State
from emulator.store import KubeError, bad_request

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


def render_error(status: int, method: str, where: str, fault: Fault | None) -> Response:
    """A `Status` body like the API server's; a 404 on an unknown path is its plain-text page."""
    if status == 404 and fault is None:
        return Response(404, "404 page not found\n", content_type="text/plain; charset=utf-8")
    reason = _REASONS.get(status, "InternalError")
    message = {429: "Too many requests, please try again later.", 401: "Unauthorized"}.get(
        status, f"{reason} ({method} {where})"
    )
    if fault is not None:
        message = f"{message} [injected by the emulator]"
    headers = {}
    if fault is not None and fault.retry_after is not None:
        headers["Retry-After"] = str(int(round(fault.retry_after)))
    body = KubeError(
        status,
        reason,
        message,
        {"retryAfterSeconds": int(round(fault.retry_after))}
        if fault is not None and fault.retry_after is not None
        else None,
    ).status()
    return Response(status, body, headers)


def _version(cluster: Cluster) -> dict:
    major, minor, *_ = cluster.config.kubernetes_version.split(".") + ["0", "0"]
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{cluster.config.kubernetes_version}",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def _resource_list(cluster: Cluster, group_version: str) -> dict:
    resources = []
    for kind in cluster.kinds:
        if kind.group_version != group_version:
            continue
        resources.append(
            {
                "name": kind.plural,
                "singularName": kind.kind.lower(),
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": kinds.VERBS,
                "shortNames": list(kind.short_names),
                **({"categories": ["all"]} if kind.scalable else {}),
            }
        )
        resources.append(
            {
                "name": f"{kind.plural}/status",
                "singularName": "",
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
        if kind.scalable:
            resources.append(
                {
                    "name": f"{kind.plural}/scale",
                    "singularName": "",
                    "namespaced": True,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": ["get", "patch", "update"],
                }
            )
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def _group(name: str, version: str) -> dict:
    gv = {"groupVersion": f"{name}/{version}", "version": version}
    return {"name": name, "versions": [gv], "preferredVersion": gv}


def build_router(state: State, cluster_name: str) -> Router:
    cluster = state.cluster(cluster_name)
    router = Router()

    def guarded(handler: Callable[[Cluster, Request], Response]) -> Callable[[Request], Response]:
        """Any bearer token; no dry runs or watches (said plainly rather than half done); time settled first."""

        def run(request: Request) -> Response:
            auth = request.headers.get("Authorization") or ""
            if not auth.startswith("Bearer ") or not auth[7:].strip():
                return render_error(401, request.method, request.path, None)
            try:
                for unsupported in ("dryRun", "watch"):
                    if request.query.get(unsupported) not in (None, "", "false", "0"):
                        raise bad_request(f"the emulator does not support {unsupported}={request.query[unsupported]}")
                with state.lock:
                    state.settle(cluster_name)
                    response = handler(state.cluster(cluster_name), request)  # reset() replaces clusters
                    if tables.wants_table(request.headers.get("Accept")) and response.status == 200:
                        response = _as_table(response, state)
                    return response
            except KubeError as error:
                return Response(error.code, error.status())

        return run

    router.add("GET", "/version", guarded(lambda c, r: ok(_version(c))))
    router.add(
        "GET",
        "/api",
        guarded(
            lambda c, r: ok(
                {
                    "kind": "APIVersions",
                    "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": r.host}],
                }
            )
        ),
    )
    router.add("GET", "/api/v1", guarded(lambda c, r: ok(_resource_list(c, "v1"))))
    groups = sorted({(k.group, k.version) for k in cluster.kinds if k.group})
    router.add(
        "GET",
        "/apis",
        guarded(
            lambda c, r: ok({"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g, v) for g, v in groups]})
        ),
    )
    for group, version in groups:
        router.add("GET", f"/apis/{group}", guarded(partial(_api_group, group=group, version=version)))
        router.add(
            "GET", f"/apis/{group}/{version}", guarded(partial(_api_resources, group_version=f"{group}/{version}"))
        )
    router.add("GET", "/openapi/v3", guarded(lambda c, r: ok(openapi.root(c.kinds))))
    for prefix in sorted({k.prefix for k in cluster.kinds}):
        router.add(
            "GET",
            f"/openapi/v3{prefix}",
            guarded(partial(_openapi_group, prefix=prefix)),
        )
    for kind in cluster.kinds:
        _add_kind(router, kind, guarded)
    return router


def _add_kind(router: Router, kind: Kind, guarded: Callable) -> None:
    def int_query(request: Request, name: str) -> int | None:
        raw = request.query.get(name)
        if not raw:
            return None
        if not raw.isdigit():
            raise bad_request(f"{name}={raw!r} is not a non-negative integer")
        return int(raw)

    def listing(namespace_from: Callable[[Request], str | None]) -> Callable:
        return lambda c, r: Response(
            200,
            c.store.list(
                kind,
                namespace_from(r),
                labels=r.query.get("labelSelector"),
                fields=r.query.get("fieldSelector"),
                limit=int_query(r, "limit"),
                cont=r.query.get("continue"),
            ),
        )

    content = lambda r: r.headers.get("Content-Type") or ""  # noqa: E731
    prefix = kind.prefix
    if not kind.namespaced:
        item = f"{prefix}/{kind.plural}/{{name}}"
        router.add("GET", f"{prefix}/{kind.plural}", guarded(listing(lambda r: None)))
        router.add("GET", item, guarded(lambda c, r: Response(200, c.store.get(kind, "", r.params["name"]))))
        # `kubectl create namespace x` POSTs here (README: namespaces can be created)
        router.add(
            "POST",
            f"{prefix}/{kind.plural}",
            guarded(lambda c, r: Response(201, c.store.create(kind, "", _json(r), keep_status=False))),
        )
        return
    collection = f"{prefix}/namespaces/{{namespace}}/{kind.plural}"
    item = f"{collection}/{{name}}"
    router.add("GET", f"{prefix}/{kind.plural}", guarded(listing(lambda r: None)))
    router.add("GET", collection, guarded(listing(lambda r: r.params["namespace"])))
    router.add(
        "POST",
        collection,
        guarded(lambda c, r: Response(201, c.store.create(kind, r.params["namespace"], _json(r), keep_status=False))),
    )
    router.add(
        "GET", item, guarded(lambda c, r: Response(200, c.store.get(kind, r.params["namespace"], r.params["name"])))
    )
    router.add(
        "PUT",
        item,
        guarded(lambda c, r: Response(200, c.store.replace(kind, r.params["namespace"], r.params["name"], _json(r)))),
    )
    router.add(
        "PATCH",
        item,
        guarded(
            lambda c, r: Response(200, c.store.patch(kind, r.params["namespace"], r.params["name"], content(r), r.body))
        ),
    )
    router.add(
        "DELETE",
        item,
        guarded(lambda c, r: Response(200, c.store.delete(kind, r.params["namespace"], r.params["name"]))),
    )
    if kind.scalable:
        scale = f"{item}/scale"
        router.add(
            "GET",
            scale,
            guarded(lambda c, r: Response(200, c.store.scale(kind, r.params["namespace"], r.params["name"]))),
        )
        router.add(
            "PUT",
            scale,
            guarded(
                lambda c, r: Response(
                    200, c.store.replace_scale(kind, r.params["namespace"], r.params["name"], _json(r))
                )
            ),
        )
        router.add(
            "PATCH",
            scale,
            guarded(
                lambda c, r: Response(
                    200, c.store.patch_scale(kind, r.params["namespace"], r.params["name"], content(r), r.body)
                )
            ),
        )


def _as_table(response: Response, state: State) -> Response:
    """The same answer as a Table, for kubectl's default output (objects and lists of a served kind only)."""
    body = response.body
    kind_name = str(body.get("kind", "")).removesuffix("List") if isinstance(body, dict) else ""
    kind = next((k for k in kinds.ALL if k.kind == kind_name), None)
    if kind is None:
        return response
    objects = body.get("items", [body])
    version = body["metadata"].get("resourceVersion", "")
    return Response(200, tables.table(kind, objects, version, state.clock.wall()))


def _json(request: Request) -> object:
    if (request.headers.get("Content-Type") or "").startswith(protobuf.CONTENT_TYPE):
        try:
            return protobuf.decode_object(request.body or b"")
        except (protobuf.ProtobufError, UnicodeDecodeError) as error:
            raise bad_request(f"the protobuf body could not be read: {error}") from None
    body = request.json()
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    return body


def ok(body: dict | None) -> Response:
    return Response(200, body) if body is not None else render_error(404, "GET", "", None)


def _api_group(cluster: Cluster, request: Request, *, group: str, version: str) -> Response:
    return ok({"kind": "APIGroup", "apiVersion": "v1", **_group(group, version)})


def _api_resources(cluster: Cluster, request: Request, *, group_version: str) -> Response:
    return ok(_resource_list(cluster, group_version))


def _openapi_group(cluster: Cluster, request: Request, *, prefix: str) -> Response:
    return ok(openapi.group_version(cluster.kinds, prefix, cluster.config.kubernetes_version))
