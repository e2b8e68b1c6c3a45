"""One cluster's Kubernetes objects: generic list/get/create/update/patch with resourceVersion, plus `scale`.

Callers hold the emulator's lock. Objects are plain dicts as they appear on the wire; every read
returns a deep copy so nothing outside can change the store by accident.
"""

from __future__ import annotations

import base64
import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emulator import kinds
from emulator.kinds import Kind
from emulator.patches import PatchError, field_selector, json_patch, label_selector, merge_patch

MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")
JSON_PATCH = "application/json-patch+json"


class KubeError(Exception):
    """An API error, rendered as a `Status` object."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def not_found(kind: Kind, name: str) -> KubeError:
    return KubeError(
        404,
        "NotFound",
        f'{kind.qualified} "{name}" not found',
        {"name": name, "group": kind.group, "kind": kind.plural},
    )


def conflict(kind: Kind, name: str) -> KubeError:
    return KubeError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {kind.qualified} "{name}": the object has been'
        " modified; please apply your changes to the latest version and try again",
        {"name": name, "group": kind.group, "kind": kind.plural},
    )


def invalid(kind: Kind, name: str, field: str, message: str) -> KubeError:
    return KubeError(
        422,
        "Invalid",
        f'{kind.kind}.{kind.group or "core"} "{name}" is invalid: {field}: {message}',
        {
            "name": name,
            "group": kind.group,
            "kind": kind.kind,
            "causes": [{"reason": "FieldValueInvalid", "message": message, "field": field}],
        },
    )


def bad_request(message: str) -> KubeError:
    return KubeError(400, "BadRequest", message)


@dataclass
class Entry:
    obj: dict
    changed_at: float  # clock time of the last write (any field)
    replicas_at: float  # clock time spec.replicas last changed (pods then take `ready` seconds)
    pool_since: float | None = None  # the pool availability the ready count was computed against


class Store:
    """Objects of one cluster, keyed by (plural, namespace, name); namespace "" for cluster-scoped kinds."""

    def __init__(self, clock: Callable[[], float], wall: Callable[[], datetime]) -> None:
        self._clock, self._wall = clock, wall
        self._entries: dict[tuple[str, str, str], Entry] = {}
        self._rv = 1000

    # -- reads ---------------------------------------------------------------------------------
    def entries(self, kind: Kind) -> list[tuple[tuple[str, str, str], Entry]]:
        return sorted((key, e) for key, e in self._entries.items() if key[0] == kind.plural)

    def entry(self, kind: Kind, namespace: str, name: str) -> Entry:
        found = self._entries.get((kind.plural, namespace if kind.namespaced else "", name))
        if found is None:
            raise not_found(kind, name)
        return found

    def get(self, kind: Kind, namespace: str, name: str) -> dict:
        return copy.deepcopy(self.entry(kind, namespace, name).obj)

    def list(
        self,
        kind: Kind,
        namespace: str | None = None,
        *,
        labels: str | None = None,
        fields: str | None = None,
        limit: int | None = None,
        cont: str | None = None,
    ) -> dict:
        try:
            by_label, by_field = label_selector(labels), field_selector(fields)
        except PatchError as error:
            raise bad_request(str(error)) from None
        items = [
            e.obj
            for (_, ns, _), e in self.entries(kind)
            if (namespace is None or ns == namespace)
            and by_label(e.obj["metadata"].get("labels") or {})
            and by_field(e.obj)
        ]
        start = 0
        if cont:
            try:
                start = int(base64.urlsafe_b64decode(cont.encode()).decode())
            except ValueError:
                raise KubeError(410, "Expired", "the provided continue parameter is not valid") from None
        end = len(items) if not limit else start + limit
        meta: dict[str, Any] = {"resourceVersion": str(self._rv)}
        if end < len(items):
            meta["continue"] = base64.urlsafe_b64encode(str(end).encode()).decode()
            meta["remainingItemCount"] = len(items) - end
        return {
            "kind": f"{kind.kind}List",
            "apiVersion": kind.group_version,
            "metadata": meta,
            "items": copy.deepcopy(items[start:end]),
        }

    # -- writes --------------------------------------------------------------------------------
    def _bump(self) -> str:
        self._rv += 1
        return str(self._rv)

    def create(self, kind: Kind, namespace: str, body: Any, *, keep_status: bool = True) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
            raise bad_request(f"the body of a {kind.kind} must be an object with metadata")
        obj = copy.deepcopy(body)
        meta = obj["metadata"]
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise invalid(kind, "", "metadata.name", "Required value: name is required")
        ns = namespace if kind.namespaced else ""
        if kind.namespaced:
            if meta.get("namespace", ns) != ns:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = ns
            if (kinds.NAMESPACES.plural, "", ns) not in self._entries:
                raise not_found(kinds.NAMESPACES, ns)
        key = (kind.plural, ns, name)
        if key in self._entries:
            raise KubeError(
                409,
                "AlreadyExists",
                f'{kind.qualified} "{name}" already exists',
                {"name": name, "group": kind.group, "kind": kind.plural},
            )
        self._check_spec(kind, name, obj)
        obj["apiVersion"], obj["kind"] = kind.group_version, kind.kind
        meta.update(
            uid=str(uuid.uuid4()),
            resourceVersion=self._bump(),
            generation=1,
            creationTimestamp=self._wall().strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        meta.pop("managedFields", None)
        if not keep_status:
            obj.pop("status", None)
        obj.setdefault("status", {})
        now = self._clock()
        self._entries[key] = Entry(obj, now, now)
        return copy.deepcopy(obj)

    def replace(self, kind: Kind, namespace: str, name: str, body: Any) -> dict:
        """PUT: the new object minus what the server owns; a stale resourceVersion is a 409."""
        entry = self.entry(kind, namespace, name)
        if not isinstance(body, dict) or not isinstance(body.get("metadata"), dict):
            raise bad_request(f"the body of a {kind.kind} must be an object with metadata")
        if body["metadata"].get("name") != name:
            raise bad_request(
                f"the name of the object ({body['metadata'].get('name')!r}) "
                f"does not match the name on the URL ({name!r})"
            )
        return self._write(kind, entry, copy.deepcopy(body))

    def patch(self, kind: Kind, namespace: str, name: str, content_type: str, body: bytes) -> dict:
        entry = self.entry(kind, namespace, name)
        return self._write(kind, entry, self._patched(entry.obj, content_type, body))

    def _patched(self, current: dict, content_type: str, body: bytes) -> dict:
        media = content_type.split(";")[0].strip().lower()
        try:
            patch = json.loads(body or b"null")
        except ValueError as error:
            raise bad_request(f"the patch is not valid JSON: {error}") from None
        if media in MERGE_TYPES:
            if not isinstance(patch, dict):
                raise bad_request("a merge patch must be a JSON object")
            # Strategic merge differs only for lists with merge keys, which these callers never patch.
            return merge_patch(current, patch)
        if media == JSON_PATCH:
            try:
                return json_patch(current, patch)
            except PatchError as error:
                raise KubeError(422, "Invalid", f"the JSON patch could not be applied: {error}") from None
        raise KubeError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - "
            f"accepted media types include: application/json-patch+json, "
            f"application/merge-patch+json, application/strategic-merge-patch+json (got {media!r})",
        )

    def _write(self, kind: Kind, entry: Entry, new: dict) -> dict:
        old = entry.obj
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        name = old["metadata"]["name"]
        sent_rv = meta.get("resourceVersion")
        if sent_rv not in (None, "") and str(sent_rv) != old["metadata"]["resourceVersion"]:
            raise conflict(kind, name)
        if meta.get("name", name) != name or meta.get("namespace", old["metadata"].get("namespace")) != old[
            "metadata"
        ].get("namespace"):
            raise bad_request("metadata.name and metadata.namespace cannot be changed")
        self._check_spec(kind, name, new)
        for owned in ("uid", "creationTimestamp", "generation", "namespace", "name"):
            if owned in old["metadata"]:
                meta[owned] = old["metadata"][owned]
        meta.pop("managedFields", None)
        for key in ("labels", "annotations"):
            if key in meta and not meta[key]:
                del meta[key]
        new["apiVersion"], new["kind"] = kind.group_version, kind.kind
        new["status"] = old.get("status", {})  # status is a subresource: writes to the object ignore it
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if new == old:
            return copy.deepcopy(old)  # a no-op write does not change resourceVersion
        if new.get("spec") != old.get("spec"):
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        now = self._clock()
        if (new.get("spec") or {}).get("replicas") != (old.get("spec") or {}).get("replicas"):
            entry.replicas_at = now
        meta["resourceVersion"] = self._bump()
        entry.obj, entry.changed_at = new, now
        return copy.deepcopy(new)

    def _check_spec(self, kind: Kind, name: str, obj: dict) -> None:
        if kind.scalable:
            replicas = (obj.get("spec") or {}).get("replicas", 1)
            if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
                raise invalid(
                    kind, name, "spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0"
                )
        if kind is kinds.HPAS:
            spec = obj.get("spec") or {}
            low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
            if not isinstance(high, int) or not isinstance(low, int) or low < 1 or high < low:
                raise invalid(
                    kind,
                    name,
                    "spec.minReplicas",
                    f"Invalid value: {low!r}: must be at least 1 and at most maxReplicas ({high!r})",
                )

    def delete(self, kind: Kind, namespace: str, name: str) -> dict:
        """Delete at once (no finalizers, no cascading to pods: the emulator has none)."""
        self.entry(kind, namespace, name)
        entry = self._entries.pop((kind.plural, namespace if kind.namespaced else "", name))
        return copy.deepcopy(entry.obj)

    def set_status(self, entry: Entry, status: dict) -> None:
        """Controllers write status like the status subresource does: a new resourceVersion."""
        if entry.obj.get("status") != status:
            entry.obj["status"] = status
            entry.obj["metadata"]["resourceVersion"] = self._bump()

    def set_replicas(self, kind: Kind, entry: Entry, replicas: int) -> None:
        """What a controller (HPA, KEDA) or `scale` does to spec.replicas."""
        self._write(
            kind, entry, merge_patch(entry.obj, {"spec": {"replicas": replicas}, "metadata": {"resourceVersion": None}})
        )

    # -- scale subresource ---------------------------------------------------------------------
    def scale(self, kind: Kind, namespace: str, name: str) -> dict:
        obj = self.entry(kind, namespace, name).obj
        meta = obj["metadata"]
        labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
            },
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
            "status": {
                "replicas": (obj.get("status") or {}).get("replicas", 0),
                "selector": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
            },
        }

    def replace_scale(self, kind: Kind, namespace: str, name: str, body: Any) -> dict:
        return self._write_scale(kind, namespace, name, body)

    def patch_scale(self, kind: Kind, namespace: str, name: str, content_type: str, body: bytes) -> dict:
        return self._write_scale(
            kind, namespace, name, self._patched(self.scale(kind, namespace, name), content_type, body)
        )

    def _write_scale(self, kind: Kind, namespace: str, name: str, new: Any) -> dict:
        entry = self.entry(kind, namespace, name)
        if not isinstance(new, dict):
            raise bad_request("a Scale must be a JSON object")
        sent_rv = (new.get("metadata") or {}).get("resourceVersion")
        if sent_rv not in (None, "") and str(sent_rv) != entry.obj["metadata"]["resourceVersion"]:
            raise conflict(kind, name)
        replicas = (new.get("spec") or {}).get("replicas")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise KubeError(
                422,
                "Invalid",
                f'Scale.autoscaling "{name}" is invalid: spec.replicas: '
                f"Invalid value: {replicas!r}: must be greater than or equal to 0",
            )
        self.set_replicas(kind, entry, replicas)
        return self.scale(kind, namespace, name)
