"""A minimal OpenAPI v3 index: just enough for kubectl to choose server-side field validation.

`kubectl create/replace/apply` validate by default. kubectl reads /openapi/v3, then each group
version's document, and looks for a PATCH operation of the object's kind that accepts the
`fieldValidation` query parameter; when it finds one it lets the server validate (it sends
`fieldValidation=Strict`) and needs no schemas. Without this, those verbs fail unless
`--validate=false`. get/scale/patch/annotate never ask.
"""

from __future__ import annotations

from emulator.kinds import Kind


def root(kinds: tuple[Kind, ...]) -> dict:
    versions = sorted({k.prefix.lstrip("/") for k in kinds})
    return {"paths": {gv: {"serverRelativeURL": f"/openapi/v3/{gv}"} for gv in versions}}


def group_version(kinds: tuple[Kind, ...], prefix: str, kubernetes_version: str) -> dict | None:
    served = [k for k in kinds if k.prefix == prefix]
    if not served:
        return None
    paths = {}
    for kind in served:
        item = (
            f"{prefix}/namespaces/{{namespace}}/{kind.plural}/{{name}}"
            if kind.namespaced
            else f"{prefix}/{kind.plural}/{{name}}"
        )
        paths[item] = {
            "patch": {
                "operationId": f"patch{kind.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}
                ],
                "responses": {"200": {"description": "OK"}},
            }
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes (aks-hours emulator)", "version": f"v{kubernetes_version}"},
        "paths": paths,
        "components": {"schemas": {}},
    }
