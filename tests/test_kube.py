"""The Kubernetes API access path: the pure parts, then the real client against the emulator."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from scaling.kube import KINDS, MERGE_PATCH, api_error, list_scope
from scaling.runscript import READ_RESOURCES


def test_every_kind_the_run_command_path_reads_is_read_by_the_api_path_too():
    assert {kind.section: kind.resource for kind in KINDS} == dict(READ_RESOURCES)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.section)
def test_every_kind_names_real_client_methods(kind):
    api = kind.api(k8s.ApiClient())
    for method in filter(None, (kind.list_all, kind.list_namespaced, kind.patch)):
        assert callable(getattr(api, method, None)), f"{type(api).__name__}.{method}"


def test_the_client_would_send_a_dict_patch_as_json_patch_so_merge_patch_is_forced():
    # Why kube.py passes _content_type: kubernetes 36 picks the first PATCH type listed.
    chosen = k8s.ApiClient().select_header_content_type(
        ["application/json-patch+json", MERGE_PATCH, "application/strategic-merge-patch+json"], "PATCH", {"spec": {}}
    )
    assert chosen == "application/json-patch+json"


@pytest.mark.parametrize(
    "namespaces, scope",
    [(["project-a"], "project-a"), (["project-a", "project-b"], None), (["a", "b", "c"], None)],
)
def test_one_namespace_is_listed_alone_and_several_in_one_cluster_wide_list(namespaces, scope):
    assert list_scope(namespaces) == scope


def test_api_errors_read_the_status_message():
    error = ApiException(status=403, reason="Forbidden")
    error.body = '{"kind":"Status","message":"deployments.apps is forbidden: User \\"x\\" cannot list"}'
    assert api_error(error) == 'HTTP 403 Forbidden: deployments.apps is forbidden: User "x" cannot list'


def test_api_errors_without_a_json_body_keep_the_text():
    error = ApiException(status=502, reason="Bad Gateway")
    error.body = "<html>upstream</html>"
    assert api_error(error) == "HTTP 502 Bad Gateway: <html>upstream</html>"
