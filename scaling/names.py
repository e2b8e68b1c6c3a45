"""Validation of every name that may reach a URL, an OData filter or a shell command."""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 1123 label, as Kubernetes uses it for namespaces and most object names.
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# RFC 1123 subdomain: Deployment / StatefulSet names may contain dots.
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# AKS agent pool names (AgentPool.tsp).
_AGENT_POOL = re.compile(r"^[a-z][a-z0-9]{0,11}$")
# ARM names: subscription GUID, resource group, managed cluster.
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,89}[-\w_()]$")
_CLUSTER = re.compile(r"^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$")


class InvalidName(ValueError):
    """A name that is not valid where it is used; the message says what was expected."""


def dns1123_label(value: str, *, what: str = "name") -> str:
    """Return `value` if it is a DNS-1123 label (namespace, project), else raise InvalidName."""
    if not is_dns1123_label(value):
        raise InvalidName(
            f"{what} {value!r} is not a DNS-1123 label "
            "(lowercase letters, digits and '-', 1-63 characters, starting and ending alphanumeric)"
        )
    return value


def is_dns1123_label(value: object) -> bool:
    return isinstance(value, str) and bool(_DNS1123_LABEL.fullmatch(value))


def dns1123_subdomain(value: str, *, what: str = "name") -> str:
    """Return `value` if it is a DNS-1123 subdomain (Deployment/StatefulSet name), else raise."""
    if not isinstance(value, str) or len(value) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(value):
        raise InvalidName(
            f"{what} {value!r} is not a DNS-1123 subdomain "
            "(lowercase letters, digits, '-' and '.', at most 253 characters)"
        )
    return value


def agent_pool_name(value: str) -> str:
    """Return `value` if it is a valid AKS agent pool name, else raise InvalidName."""
    if not isinstance(value, str) or not _AGENT_POOL.fullmatch(value):
        raise InvalidName(
            f"node pool {value!r} is not a valid AKS pool name "
            "(lowercase letter first, then lowercase letters or digits, at most 12 characters)"
        )
    return value


@dataclass(frozen=True, order=True)
class ClusterId:
    """An AKS managed cluster, parsed from its ARM resource id."""

    subscription: str
    resource_group: str
    name: str

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.ContainerService/managedClusters/{self.name}"
        )

    def __str__(self) -> str:
        return self.resource_id


def cluster_id(value: str) -> ClusterId:
    """Parse an AKS resource id; raise InvalidName saying which part is wrong."""
    expected = (
        "expected /subscriptions/<guid>/resourceGroups/<group>"
        "/providers/Microsoft.ContainerService/managedClusters/<name>"
    )
    if not isinstance(value, str):
        raise InvalidName(f"cluster {value!r}: {expected}")
    parts = value.strip().strip("/").split("/")
    if (
        len(parts) != 8
        or parts[0].lower() != "subscriptions"
        or parts[2].lower() != "resourcegroups"
        or parts[4].lower() != "providers"
        or parts[5].lower() != "microsoft.containerservice"
        or parts[6].lower() != "managedclusters"
    ):
        raise InvalidName(f"cluster {value!r} is not an AKS resource id: {expected}")
    subscription, group, name = parts[1], parts[3], parts[7]
    if not _GUID.fullmatch(subscription):
        raise InvalidName(f"cluster {value!r}: subscription {subscription!r} is not a GUID")
    if not _RESOURCE_GROUP.fullmatch(group):
        raise InvalidName(f"cluster {value!r}: resource group {group!r} is not a valid name")
    if not _CLUSTER.fullmatch(name):
        raise InvalidName(f"cluster {value!r}: cluster name {name!r} is not a valid AKS name")
    return ClusterId(subscription.lower(), group, name)
