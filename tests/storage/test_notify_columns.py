"""The Notify / NotifyMinutes / NotifyAfter columns: channels name app settings, never webhook URLs."""

import pytest

from scaling.model import ChannelKind, NotifyChannel
from scaling.storage.rows import InvalidRow, project_to_row, row_to_project

BASE = {
    "Cluster": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.ContainerService/managedClusters/aks",
    "Namespaces": "project-a",
    "Uptime": "Mon-Fri 09:00-18:00",
}


def errors(**columns) -> dict[str, str]:
    with pytest.raises(InvalidRow) as bad:
        row_to_project("project-a", BASE | columns)
    return {e.column: e.message for e in bad.value.errors}


def test_channels_lead_time_and_after_note_are_read():
    project = row_to_project(
        "project-a", BASE | {"Notify": "Teams:NOTIFY_OPS, slack:NOTIFY_DEV", "NotifyMinutes": "30", "NotifyAfter": True}
    )
    assert project.notify == (
        NotifyChannel(ChannelKind.TEAMS, "NOTIFY_OPS"),
        NotifyChannel(ChannelKind.SLACK, "NOTIFY_DEV"),
    )
    assert (project.notify_minutes, project.notify_after) == (30, True)


def test_without_the_columns_nothing_is_sent_and_the_lead_time_is_15_minutes():
    project = row_to_project("project-a", BASE)
    assert (project.notify, project.notify_minutes, project.notify_after) == ((), 15, False)
    assert "Notify" not in project_to_row(project) and "NotifyMinutes" not in project_to_row(project)


def test_the_columns_round_trip():
    row = BASE | {"Notify": "webhook:NOTIFY_HOOK", "NotifyMinutes": 10, "NotifyAfter": True}
    project = row_to_project("project-a", row)
    assert row_to_project("project-a", project_to_row(project)) == project


def test_a_webhook_url_in_the_row_is_refused_as_a_secret():
    message = errors(Notify="teams:https://prod.westeurope.logic.azure.com/workflows/abc?sig=xyz")["Notify"]
    assert "secret" in message and "NOTIFY_<NAME>" in message
    assert "sig=xyz" not in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("email:NOTIFY_A", "is not '<teams | slack | webhook>:NOTIFY_<NAME>'"),
        ("teams:SCALING_API_KEY", "is not an app setting name of the form NOTIFY_<NAME>"),
        ("teams:NOTIFY_A, teams:NOTIFY_A", "twice"),
    ],
)
def test_a_bad_channel_says_what_is_wrong(value, expected):
    assert expected in errors(Notify=value)["Notify"]


@pytest.mark.parametrize("value", [0, 241, "soon", True])
def test_a_lead_time_out_of_range_is_refused(value):
    assert "from 1 to 240" in errors(NotifyMinutes=value)["NotifyMinutes"]
