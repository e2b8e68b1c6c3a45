"""Name validation: a name is valid as a whole or not at all (a trailing newline is not tolerated)."""

import pytest

from scaling.names import InvalidName, agent_pool_name, dns1123_label, dns1123_subdomain, is_dns1123_label


@pytest.mark.parametrize(
    "check", [dns1123_label, dns1123_subdomain, agent_pool_name], ids=["label", "subdomain", "agent-pool"]
)
def test_a_trailing_newline_makes_a_name_invalid(check):
    with pytest.raises(InvalidName):
        check("web\n")


def test_is_dns1123_label_judges_the_whole_string():
    assert is_dns1123_label("project-a") and not is_dns1123_label("project-a\n")


def test_a_newline_inside_a_cluster_id_is_invalid():
    from scaling.names import cluster_id

    with pytest.raises(InvalidName, match="resource group"):
        cluster_id(
            "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg\n"
            "/providers/Microsoft.ContainerService/managedClusters/aks1"
        )
