"""`python -m scaling`: schedules validate/import/export and plan, run in-process (and once as a process)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scaling.cli import CONFLICT, INVALID, OK, STORAGE, USAGE, main
from scaling.storage.project_file import parse_text
from scaling.storage.rows import validate_rows

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = str(ROOT / "schedules.sample.yaml")
SAMPLE_NAMES = ["nightly-batch", "platform-tools", "project-a", "project-b"]
CLUSTER = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aks-hours-demo"
    "/providers/Microsoft.ContainerService/managedClusters/aks-demo"
)
MONDAY = "2026-11-30T00:00Z"  # Monday 2026-11-30 00:00 UTC


def write(tmp_path, text, name="schedules.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def entry(name, **columns):
    row = {"Cluster": CLUSTER, "Namespaces": name, "Uptime": "Mon-Fri 09:00-18:00", "TimeZone": "Europe/Berlin"}
    row.update(columns)
    lines = [f"  {name}:"] + [f"    {k}: {json.dumps(v) if not isinstance(v, str) else v}" for k, v in row.items()]
    return "\n".join(lines)


def schedules(*entries):
    return "projects:\n" + "\n".join(entries) + "\n"


@pytest.fixture
def run(capsys):
    """Run the CLI without storage settings; returns (exit code, stdout, stderr)."""

    def run(*argv, env=None, **kwargs):
        code = main(list(argv), env={} if env is None else env, **kwargs)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def run_stored(run, settings, table_names):
    """Run the CLI against this test's tables in Azurite."""

    def run_stored(*argv):
        return run(*argv, env={"SCALING_STORAGE_CONNECTION": settings.storage_connection}, table_names=table_names)

    return run_stored


# -- validate -------------------------------------------------------------------------------------


def test_validate_accepts_the_sample_and_prints_a_summary(run):
    code, out, err = run("schedules", "validate", SAMPLE)
    assert code == OK and err == ""
    assert "4 of 4 projects valid" in out
    assert "project-b | cluster aks-demo | uptime Mon-Fri 09:00-19:00 (Asia/Tokyo, holidays JP" in out
    assert "pools gpu (zero, 20 min warm-up)" in out


def test_validate_lists_every_bad_project_with_column_and_message(run, tmp_path):
    path = write(
        tmp_path,
        schedules(
            entry("good"),
            entry("bad-zone", TimeZone="Europe/Berln"),
            entry("bad-pools", NodePools="GPU_pool", Access="ssh"),
        ),
    )
    code, out, err = run("schedules", "validate", path)
    assert code == INVALID
    assert "2 of 3 projects invalid" in err
    assert "project 'bad-zone', column TimeZone: 'Europe/Berln' is not a known IANA time zone" in err
    assert "project 'bad-pools', column NodePools:" in err
    assert "project 'bad-pools', column Access: 'ssh' is not one of api | run-command" in err
    assert "1 of 3 projects valid" in out


def test_validate_json_lists_valid_rows_and_errors(run, tmp_path):
    path = write(tmp_path, schedules(entry("good"), entry("bad", Enabled="yes")))
    code, out, _ = run("schedules", "validate", path, "--json")
    result = json.loads(out)
    assert code == INVALID
    assert [p["name"] for p in result["valid"]] == ["good"]
    assert result["errors"] == [
        {"project": "bad", "column": "Enabled", "message": "'yes' is not a boolean; expected true or false"}
    ]


def test_validate_reads_json_files(run, tmp_path):
    data = {
        "projects": {
            "json-project": {
                "Cluster": CLUSTER,
                "Namespaces": "a",
                "Uptime": "always",
                "WarmupMinutes": 10,
                "NodePools": "gpu",
                "DryRun": True,
            }
        }
    }
    code, out, _ = run("schedules", "validate", write(tmp_path, json.dumps(data), "s.json"))
    assert code == OK and "json-project" in out


def test_validate_keeps_yaml_no_and_dates_as_text(run, tmp_path):
    path = write(tmp_path, schedules(entry("oslo", TimeZone="Europe/Oslo", Holidays="NO", ClosedDates="2026-12-24")))
    code, out, err = run("schedules", "validate", path)
    assert code == OK, err
    assert "holidays NO, closed 2026-12-24" in out


def test_validate_rejects_a_project_given_twice(run, tmp_path):
    code, _, err = run("schedules", "validate", write(tmp_path, schedules(entry("twice"), entry("twice"))))
    assert code == INVALID and "found the key 'twice' twice" in err and "line" in err


def test_validate_rejects_a_file_without_projects_mapping(run, tmp_path):
    code, _, err = run("schedules", "validate", write(tmp_path, "project-a:\n  Uptime: always\n"))
    assert code == INVALID and "expected a mapping 'projects:'" in err


def test_validate_reports_an_entry_that_is_not_a_mapping(run, tmp_path):
    code, _, err = run("schedules", "validate", write(tmp_path, "projects:\n  lonely: always\n"))
    assert code == INVALID and "project 'lonely', column RowKey: the entry is a str" in err


def test_validate_of_a_missing_file_is_a_usage_error(run, tmp_path):
    code, _, err = run("schedules", "validate", str(tmp_path / "nope.yaml"))
    assert code == USAGE and "cannot read" in err


def test_unknown_subcommand_is_a_usage_error(run):
    assert run("schedules", "frobnicate")[0] == USAGE


def test_no_command_is_a_usage_error(run):
    assert run()[0] == USAGE


# -- import / export ------------------------------------------------------------------------------


def test_import_adds_the_sample_projects(run_stored):
    code, out, _ = run_stored("schedules", "import", SAMPLE)
    assert code == OK
    assert "added        4  nightly-batch, platform-tools, project-a, project-b" in out


def test_import_says_what_was_updated_and_what_unchanged(run_stored, tmp_path):
    run_stored("schedules", "import", write(tmp_path, schedules(entry("a"), entry("b"))))
    code, out, _ = run_stored("schedules", "import", write(tmp_path, schedules(entry("a"), entry("b", DryRun=True))))
    assert code == OK
    assert "updated      1  b" in out and "unchanged    1  a" in out


def test_import_refuses_everything_when_a_project_is_invalid(run_stored, tmp_path):
    path = write(tmp_path, schedules(entry("good"), entry("bad", Uptime="Mon-Fri 9-5")))
    code, out, err = run_stored("schedules", "import", path)
    assert code == INVALID
    assert "nothing imported" in err and "project 'bad', column Uptime" in err
    assert run_stored("schedules", "export")[1] == "projects: {}\n"


def test_import_skip_invalid_imports_the_valid_projects(run_stored, tmp_path):
    path = write(tmp_path, schedules(entry("good"), entry("bad", Uptime="Mon-Fri 9-5")))
    code, out, err = run_stored("schedules", "import", path, "--skip-invalid")
    assert code == OK
    assert "added        1  good" in out and "skipped 1 invalid" in err


def test_import_prune_deletes_projects_missing_from_the_file(run_stored, tmp_path):
    run_stored("schedules", "import", SAMPLE)
    code, out, _ = run_stored("schedules", "import", write(tmp_path, schedules(entry("project-a"))), "--prune")
    assert code == OK
    assert "pruned       3  nightly-batch, platform-tools, project-b" in out
    _, exported, _ = run_stored("schedules", "export")
    assert list(parse_text(exported, source="x", json_format=False).names) == ["project-a"]


def test_import_prune_keeps_the_row_of_a_project_whose_entry_is_invalid(run_stored, tmp_path):
    run_stored("schedules", "import", write(tmp_path, schedules(entry("a"), entry("b"))))
    path = write(tmp_path, schedules(entry("a"), entry("b", Uptime="Mon-Fri 9-5")))
    code, out, _ = run_stored("schedules", "import", path, "--prune", "--skip-invalid")
    assert code == OK and "pruned       0" in out
    assert "  b:" in run_stored("schedules", "export")[1]


def test_import_prune_refuses_a_file_without_projects(run_stored, tmp_path):
    run_stored("schedules", "import", SAMPLE)
    code, _, err = run_stored("schedules", "import", write(tmp_path, "projects: {}\n"), "--prune")
    assert code == INVALID and "would delete every row" in err
    assert "project-a" in run_stored("schedules", "export")[1]


def test_import_json_reports_what_was_done(run_stored):
    code, out, _ = run_stored("schedules", "import", SAMPLE, "--json")
    result = json.loads(out)
    assert code == OK and result["added"] == SAMPLE_NAMES and result["conflicts"] == []


@pytest.mark.parametrize("fmt, name", [("yaml", "exported.yaml"), ("json", "exported.json")])
def test_export_round_trips_with_import(run_stored, tmp_path, fmt, name):
    run_stored("schedules", "import", SAMPLE)
    code, exported, _ = run_stored("schedules", "export", "--format", fmt)
    assert code == OK
    path = write(tmp_path, exported, name)
    code, out, _ = run_stored("schedules", "import", path, "--prune", "--json")
    result = json.loads(out)
    assert result["unchanged"] == SAMPLE_NAMES and result["added"] == result["updated"] == result["deleted"] == []
    sample = Path(SAMPLE).read_text()
    original = validate_rows(parse_text(sample, source="sample", json_format=False).rows).projects
    again = validate_rows(parse_text(exported, source="export", json_format=fmt == "json").rows).projects
    assert again == original


def test_export_warns_about_invalid_rows_but_exports_them(run_stored, table_names, settings):
    from scaling.storage.tables import table_service

    table_service(settings).create_table(table_names.projects)
    table_service(settings).get_table_client(table_names.projects).create_entity(
        {"PartitionKey": "project", "RowKey": "typo", "Cluster": CLUSTER, "Namespaces": "x", "Uptim": "always"}
    )
    code, out, err = run_stored("schedules", "export")
    assert code == OK and "Uptim: always" in out
    assert "project 'typo', column Uptim" in err


# -- plan -----------------------------------------------------------------------------------------


def test_plan_from_a_file_lists_transitions_in_local_time_and_utc(run):
    code, out, _ = run("plan", "--file", SAMPLE, "--from", MONDAY, "--project", "project-a")
    assert code == OK
    assert "up        Mon 2026-11-30 08:00 CET  (+01:00)   Mon 2026-11-30 07:00 UTC" in out
    assert "down      Mon 2026-11-30 19:00 CET  (+01:00)   Mon 2026-11-30 18:00 UTC" in out


def test_plan_draws_one_chart_line_per_project(run):
    code, out, _ = run("plan", "--file", SAMPLE, "--from", MONDAY)
    lines = out.splitlines()
    chart = [line for line in lines if "│" in line and not line.startswith(" ")]
    assert [line.split()[0] for line in chart] == SAMPLE_NAMES
    assert next(line for line in chart if line.startswith("platform-tools")).count("·") == 0


def test_plan_shows_node_pools_starting_warmup_minutes_before_uptime(run):
    code, out, _ = run("plan", "--file", SAMPLE, "--from", MONDAY, "--project", "project-b", "--days", "2")
    assert "pools up  Tue 2026-12-01 08:40 JST  (+09:00)   Mon 2026-11-30 23:40 UTC" in out
    assert out.index("pools up  Tue 2026-12-01 08:40") < out.index("up        Tue 2026-12-01 09:00")


def test_plan_shows_an_overnight_window_closing_the_next_morning(run):
    _, out, _ = run("plan", "--file", SAMPLE, "--from", MONDAY, "--project", "nightly-batch", "--days", "2")
    assert "up        Mon 2026-11-30 22:00 CET" in out and "down      Tue 2026-12-01 06:00 CET" in out


def test_plan_json_gives_each_change_in_utc_and_local_time(run):
    code, out, _ = run("plan", "--file", SAMPLE, "--from", MONDAY, "--days", "1", "--json", "--project", "project-a")
    result = json.loads(out)
    assert code == OK and result["from"] == "2026-11-30T00:00:00+00:00"
    [project] = result["projects"]
    assert project["up_at_start"] is False
    assert project["changes"][0] == {
        "what": "up",
        "utc": "2026-11-30T07:00:00+00:00",
        "local": "2026-11-30T08:00:00+01:00",
    }


def test_plan_ascii_draws_without_box_characters(run):
    _, out, _ = run("plan", "--file", SAMPLE, "--from", MONDAY, "--ascii")
    assert "│" not in out and "|" in out and "#" in out


def test_plan_reads_the_table_by_default(run_stored):
    run_stored("schedules", "import", SAMPLE)
    code, out, _ = run_stored("plan", "--from", MONDAY, "--project", "project-b")
    assert code == OK and "down      Mon 2026-11-30 19:00 JST" in out


def test_plan_plans_the_valid_projects_and_exits_1_listing_the_bad_ones(run, tmp_path):
    path = write(tmp_path, schedules(entry("good"), entry("bad", TimeZone="Nowhere/Land")))
    code, out, err = run("plan", "--file", path, "--from", MONDAY)
    assert code == INVALID
    assert "good |" in out and "project 'bad', column TimeZone" in err


def test_plan_of_an_unknown_project_names_the_known_ones(run):
    code, _, err = run("plan", "--file", SAMPLE, "--project", "project-z")
    assert code == INVALID and "no project named 'project-z'; known: nightly-batch" in err


def test_plan_from_without_an_offset_is_a_usage_error(run):
    code, _, err = run("plan", "--file", SAMPLE, "--from", "2026-11-30T09:00")
    assert code == USAGE and "has no UTC offset" in err


@pytest.mark.parametrize("days", ["0", "32", "week"])
def test_plan_days_out_of_range_is_a_usage_error(run, days):
    assert run("plan", "--file", SAMPLE, "--days", days)[0] == USAGE


# -- storage settings and errors ------------------------------------------------------------------


def test_without_storage_settings_the_error_names_the_variables(run):
    code, _, err = run("plan")
    assert code == STORAGE
    assert "SCALING_STORAGE_CONNECTION" in err and "AzureWebJobsStorage" in err and "SCALING_STORAGE_ACCOUNT_URL" in err


def test_unreachable_storage_exits_3_without_printing_the_key(run, settings):
    connection = settings.storage_connection.replace(
        settings.storage_connection.split("TableEndpoint=")[1], "http://127.0.0.1:9/devstoreaccount1;"
    )
    code, _, err = run("schedules", "export", env={"AzureWebJobsStorage": connection})
    assert code == STORAGE and "is not reachable" in err
    assert "AccountKey" not in err


def test_exit_codes_are_distinct():
    assert len({OK, INVALID, USAGE, STORAGE, CONFLICT}) == 5


# -- as a process ---------------------------------------------------------------------------------


def test_python_m_scaling_plans_the_sample_file():
    result = subprocess.run(
        [sys.executable, "-m", "scaling", "plan", "--file", "schedules.sample.yaml", "--from", MONDAY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == 0, result.stderr
    assert "project-b" in result.stdout and "Plan from Mon 2026-11-30 00:00 UTC" in result.stdout


def test_a_reader_that_stops_early_gets_no_traceback():
    # `python -m scaling plan ... | head -1`
    process = subprocess.Popen(
        [sys.executable, "-m", "scaling", "plan", "--file", "schedules.sample.yaml", "--days", "31"],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before the first line is written
    stderr = process.stderr.read().decode()
    process.wait(timeout=60)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


@pytest.mark.parametrize(("width", "cells"), [(220, "60-minute"), (120, "120-minute"), (80, "240-minute")])
def test_the_week_chart_fits_the_terminal(run, width, cells):
    _, out, _ = run("plan", "--file", SAMPLE, "--from", MONDAY, env={"COLUMNS": str(width)})
    rows = [line for line in out.splitlines() if "│" in line]
    assert rows and max(len(line) for line in rows) <= width
    assert f"({cells} cells" in out


def test_the_week_chart_width_can_be_given(run):
    _, out, _ = run("plan", "--file", SAMPLE, "--from", MONDAY, "--width", "100")
    assert max(len(line) for line in out.splitlines() if "│" in line) <= 100


def test_validate_prints_a_kube_downscaler_spec_that_never_matches_as_a_warning(run, tmp_path):
    path = tmp_path / "never.yaml"
    path.write_text(
        "projects:\n  p:\n    Cluster: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
        "Microsoft.ContainerService/managedClusters/c\n    Namespaces: p\n    Uptime: Mon-Mon 00:00-00:00 CET\n"
    )
    code, out, err = run("schedules", "validate", str(path))
    assert code == OK and "1 of 1 projects valid" in out
    assert "warning: project 'p', column Uptime: uptime entry 'Mon-Mon 00:00-00:00 CET' never matches" in err
