"""Just enough of Kubernetes' protobuf encoding to read the object kubectl sends for a built-in kind.

kubectl (1.32) sends `application/vnd.kubernetes.protobuf` bodies for core kinds such as
`kubectl create namespace x`. The envelope is documented in the Kubernetes API concepts page
(https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding): the four bytes
`k8s\\0`, then a `runtime.Unknown` message {1: TypeMeta {1: apiVersion, 2: kind}, 2: raw bytes,
3: contentEncoding, 4: contentType}. `raw` is the object (generated.proto of k8s.io/api): field 1 is
ObjectMeta {1: name, 2: generateName, 3: namespace, 11: labels (map), 12: annotations (map)}. Only those
fields are read; everything else in the object is skipped (the emulator keeps no spec for namespaces).
"""

from __future__ import annotations

MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"


class ProtobufError(ValueError):
    """A body that is not the envelope described above."""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data):
            raise ProtobufError("truncated varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise ProtobufError("varint too long")


def fields(data: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of one message: ints for varints, bytes for length-delimited."""
    found: list[tuple[int, int | bytes]] = []
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            found.append((number, value))
        elif wire == 2:
            length, at = _varint(data, at)
            if at + length > len(data):
                raise ProtobufError("truncated field")
            found.append((number, data[at : at + length]))
            at += length
        elif wire == 1:
            at += 8
        elif wire == 5:
            at += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
    return found


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a string field")
    return value.decode("utf-8")


def _map(entry: int | bytes) -> tuple[str, str]:
    if not isinstance(entry, bytes):
        raise ProtobufError("expected a map entry")
    pairs = dict(fields(entry))
    return _text(pairs.get(1, b"")), _text(pairs.get(2, b""))


def decode_object(body: bytes) -> dict:
    """The envelope's object as the JSON form the handlers take (apiVersion, kind, metadata)."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the k8s protobuf magic bytes")
    unknown = dict(fields(body[len(MAGIC) :]))
    envelope_type = unknown.get(1, b"")
    type_meta = dict(fields(envelope_type)) if isinstance(envelope_type, bytes) else {}
    raw = unknown.get(2, b"")
    if not isinstance(raw, bytes):
        raise ProtobufError("the envelope holds no object")
    meta: dict[str, object] = {}
    for number, value in fields(raw):
        if number != 1 or not isinstance(value, bytes):
            continue
        labels: dict[str, str] = {}
        annotations: dict[str, str] = {}
        for meta_number, meta_value in fields(value):
            if meta_number == 1:
                meta["name"] = _text(meta_value)
            elif meta_number == 2:
                meta["generateName"] = _text(meta_value)
            elif meta_number == 3:
                meta["namespace"] = _text(meta_value)
            elif meta_number == 11:
                labels.__setitem__(*_map(meta_value))
            elif meta_number == 12:
                annotations.__setitem__(*_map(meta_value))
        if labels:
            meta["labels"] = labels
        if annotations:
            meta["annotations"] = annotations
    return {
        "apiVersion": _text(type_meta.get(1, b"")),
        "kind": _text(type_meta.get(2, b"")),
        "metadata": meta,
    }
