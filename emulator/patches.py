"""Pure helpers for the Kubernetes API: JSON merge patch (RFC 7386), JSON patch (RFC 6902), label selectors."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any


class PatchError(ValueError):
    """A patch or selector that cannot be applied; the message says why."""


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"JSON pointer {path!r} must start with '/'")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> tuple[Any, str]:
    if not parts:
        raise PatchError(f"path {path!r} points at the whole document")
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"path {path!r} does not exist (missing {part!r})")
    return node, parts[-1]


def _get(doc: Any, path: str) -> Any:
    node = doc
    for part in _pointer(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise PatchError(f"path {path!r} does not exist")
    return node


def _add(doc: Any, path: str, value: Any) -> None:
    parent, key = _parent(doc, _pointer(path), path)
    if isinstance(parent, dict):
        parent[key] = value
    elif isinstance(parent, list):
        if key == "-":
            parent.append(value)
        elif key.isdigit() and int(key) <= len(parent):
            parent.insert(int(key), value)
        else:
            raise PatchError(f"index in {path!r} is out of range")
    else:
        raise PatchError(f"path {path!r} does not point into an object or array")


def _remove(doc: Any, path: str) -> Any:
    parent, key = _parent(doc, _pointer(path), path)
    if isinstance(parent, dict) and key in parent:
        return parent.pop(key)
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        return parent.pop(int(key))
    raise PatchError(f"path {path!r} does not exist")


def json_patch(target: Any, operations: Any) -> Any:
    """RFC 6902 on a copy of `target`; any failing operation fails the whole patch."""
    if not isinstance(operations, list):
        raise PatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(target)
    for index, op in enumerate(operations):
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise PatchError(f"operation {index} needs 'op' and 'path'")
        kind, path = op["op"], op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise PatchError(f"operation {index} ({kind}) needs 'value'")
        if kind == "add":
            _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)  # must exist
            if path == "":
                doc = copy.deepcopy(op["value"])
            else:
                _remove(doc, path)
                _add(doc, path, copy.deepcopy(op["value"]))
        elif kind in ("move", "copy"):
            value = _get(doc, op.get("from", ""))
            if kind == "move":
                _remove(doc, op["from"])
            _add(doc, path, copy.deepcopy(value))
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise PatchError(f"test operation {index} failed at {path!r}")
        else:
            raise PatchError(f"operation {index}: unknown op {kind!r}")
    return doc


_REQUIREMENT = re.compile(
    r"^\s*(?P<neg>!)?(?P<key>[A-Za-z0-9./_-]+)\s*"
    r"(?:(?P<op>==|!=|=|\s+in\s+|\s+notin\s+)\s*(?P<value>\([^)]*\)|[A-Za-z0-9._-]*))?\s*$"
)


def label_selector(text: str | None) -> Callable[[dict], bool]:
    """A predicate over a labels dict for a selector like `app=a,tier!=db,env in (x,y),!legacy`."""
    if not text:
        return lambda labels: True
    checks: list[Callable[[dict], bool]] = []
    # Split on commas outside parentheses.
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    for part in parts:
        match = _REQUIREMENT.match(part)
        if not match:
            raise PatchError(f"unable to parse requirement {part!r} in label selector {text!r}")
        key, op, value, neg = match["key"], (match["op"] or "").strip(), match["value"], match["neg"]
        if neg and op:
            raise PatchError(f"'!' cannot be combined with an operator in {part!r}")
        if not op:
            checks.append(
                (lambda k: lambda labels: k not in labels)(key) if neg else (lambda k: lambda labels: k in labels)(key)
            )
        elif op in ("=", "=="):
            checks.append((lambda k, want: lambda labels: labels.get(k) == want)(key, value))
        elif op == "!=":
            checks.append((lambda k, want: lambda labels: labels.get(k) != want)(key, value))
        else:
            values = {v.strip() for v in value.strip("()").split(",") if v.strip()}
            if op == "in":
                checks.append((lambda k, vs: lambda labels: labels.get(k) in vs)(key, values))
            else:
                checks.append((lambda k, vs: lambda labels: labels.get(k) not in vs)(key, values))
    return lambda labels: all(check(labels or {}) for check in checks)


def field_selector(text: str | None) -> Callable[[dict], bool]:
    """Only `metadata.name` and `metadata.namespace` (= / == / !=), which is what clients use here."""
    if not text:
        return lambda obj: True
    checks = []
    for part in text.split(","):
        match = re.match(r"^\s*(metadata\.name|metadata\.namespace)\s*(==|!=|=)\s*([A-Za-z0-9._-]*)\s*$", part)
        if not match:
            raise PatchError(f"field selector {part!r} is not supported (metadata.name / metadata.namespace only)")
        field, op, value = match.groups()
        key = field.split(".")[1]
        if op == "!=":
            checks.append(lambda obj, k=key, v=value: obj["metadata"].get(k) != v)
        else:
            checks.append(lambda obj, k=key, v=value: obj["metadata"].get(k) == v)
    return lambda obj: all(check(obj) for check in checks)
