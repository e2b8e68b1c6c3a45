"""`python -m scaling release PROJECT | --orphans [--dry-run]`: give back now what the app holds, on both
access paths, audited; a dry run writes nothing."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from scaling.cli import OK, USAGE, main
from scaling.model import Release
from scaling.storage.projects import ProjectStore
from tests.fixtures.reconcile_world import World, sample_projects

pytestmark = pytest.mark.integration
API_NIGHT = datetime.fromisoformat("2026-11-30T21:00:00+00:00")  # Monday 22:00 Berlin
RC_NIGHT = datetime.fromisoformat("2026-11-30T05:00:00+00:00")  # Monday 06:00 Berlin: the batch window closes


@pytest.fixture
def cli(capsys):
    def run(world, *argv):
        s = world.settings
        env = {
            "SCALING_STORAGE_CONNECTION": s.storage_connection,
            "SCALING_ARM_ENDPOINT": s.arm_endpoint,
            "SCALING_ARM_CA_BUNDLE": s.arm_ca_bundle,
            "SCALING_KUBECONFIG": s.kubeconfig,
            "SCALING_LOCAL_CREDENTIAL": "true",
        }
        code = main(list(argv), env=env, table_names=world.names)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def world(settings, table_names, emu):
    emu.set_delays(run_command=0)
    world = World.build(settings, table_names, emu, sample_projects("project-a", "platform-tools", "nightly-batch"))
    world.tick(API_NIGHT)
    return world


def replicas(world, cluster, namespace, name):
    return world.emu.cluster(cluster).deployment(namespace, name)["spec"]["replicas"]


def hold_until_opening(world, name):
    store = ProjectStore(world.service, world.names)
    store.upsert([replace(store.load().get(name), enabled=False, release=Release.AT_OPENING)])


def test_a_dry_run_release_says_what_it_would_give_back_and_writes_nothing(world, cli):
    hold_until_opening(world, "project-a")
    world.emu.reset_calls()
    code, out, _ = cli(world, "release", "project-a", "--dry-run", "--now", "2026-11-30T21:10Z")
    assert code == OK and "would release" in out and "deployment/project-a/sample-app-a" in out
    patches = sum(world.emu.calls(method=m) for m in ("PATCH", "PUT"))  # run-command reads are POSTs
    assert patches == 0 and replicas(world, "aks-demo", "project-a", "sample-app-a") == 0


def test_releasing_a_project_gives_its_sizes_back_now_and_audits_it(world, cli):
    hold_until_opening(world, "project-a")
    code, out, _ = cli(world, "release", "project-a", "--actor", "ops@example", "--now", "2026-11-30T21:10Z")
    world.emu.finish_operations()
    assert code == OK, out
    assert replicas(world, "aks-demo", "project-a", "sample-app-a") == 2
    assert world.emu.cluster("aks-demo").pool("projecta").count > 0
    rows = [r for r in world.audit(project="project-a") if r.actor == "ops@example"]
    assert rows and all(
        r.trigger == "manual" and r.reason.startswith("released: asked for project project-a") for r in rows
    )


def test_releasing_orphans_gives_back_what_a_deleted_row_held(world, cli):
    ProjectStore(world.service, world.names).prune(["platform-tools", "nightly-batch"])
    code, out, _ = cli(world, "release", "--orphans", "--now", "2026-11-30T21:10Z")
    world.emu.finish_operations()
    assert code == OK, out
    assert replicas(world, "aks-demo", "project-a", "sample-app-a") == 2


def test_releasing_a_run_command_project(world, cli):
    world.tick(RC_NIGHT)
    world.tick(RC_NIGHT + timedelta(minutes=5))
    assert replicas(world, "aks-private", "nightly-batch", "batch-worker") == 0
    code, out, _ = cli(world, "release", "nightly-batch", "--now", "2026-11-30T05:20Z")
    world.emu.finish_operations()
    assert code == OK, out
    assert replicas(world, "aks-private", "nightly-batch", "batch-worker") == 3


def test_release_needs_a_project_or_orphans(world, cli):
    code, _, err = cli(world, "release")
    assert code == USAGE and "name a project, or pass --orphans" in err


def gpu_world(settings, table_names, emu):
    world = World.build(settings, table_names, emu, sample_projects("project-b", "platform-tools"))
    world.tick(API_NIGHT)
    world.emu.finish_operations()
    return world


def schedules_file(tmp_path, *, enabled: bool):
    from scaling.storage.project_file import dump
    from scaling.storage.rows import project_to_row

    rows = [
        (p.name, project_to_row(replace(p, enabled=enabled if p.name == "project-b" else p.enabled)))
        for p in sample_projects("project-b", "platform-tools")
    ]
    path = tmp_path / "schedules.yaml"
    path.write_text(dump(rows, fmt="yaml"), encoding="utf-8")
    return str(path)


GPU_WARNING = "applying this releases 1 GPU pool now (about USD 0.53/h): gpu (Standard_NC4as_T4_v3, 1 node)"


def test_importing_a_change_that_releases_a_gpu_pool_at_night_says_so_first(settings, table_names, emu, cli, tmp_path):
    world = gpu_world(settings, table_names, emu)
    code, _, err = cli(world, "schedules", "import", schedules_file(tmp_path, enabled=False))
    assert code == OK
    assert f"warning: {GPU_WARNING}" in err


def test_validate_diff_shows_the_row_change_and_the_gpu_pool_it_would_start(settings, table_names, emu, cli, tmp_path):
    world = gpu_world(settings, table_names, emu)
    code, out, err = cli(world, "schedules", "validate", "--diff", schedules_file(tmp_path, enabled=False))
    assert code == OK and "update   project-b" in out
    assert GPU_WARNING in err
    assert world.emu.cluster("aks-demo").pool("gpu").count == 0  # validate changes nothing


def test_an_import_that_claims_as_much_looks_at_no_cluster(settings, table_names, emu, cli, tmp_path):
    world = gpu_world(settings, table_names, emu)
    world.emu.reset_calls()
    code, _, err = cli(world, "schedules", "import", schedules_file(tmp_path, enabled=True))
    assert code == OK and "warning" not in err
    assert world.emu.calls(service="arm") == 0


def test_plan_orphans_lists_the_holds_no_row_names(world, cli):
    ProjectStore(world.service, world.names).prune(["platform-tools", "nightly-batch"])
    code, out, _ = cli(world, "plan", "--days", "1", "--orphans")
    assert code == OK
    assert "aks-demo             deployment/project-a/sample-app-a" in out and "nodepool/projecta" in out
