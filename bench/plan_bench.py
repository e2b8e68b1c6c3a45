"""Benchmark the schedule engine and the `plan` command for 1,000 varied projects (7 days, 1 year).

Run from the repository root: .venv/bin/python -m bench.plan_bench [--projects 1000] [--seed 7] [--no-table]
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from scaling.schedule.hours import Schedule, parse
from scaling.schedule.timeline import week_chart, week_transitions

ZONES = [
    ("Asia/Tokyo", "JP"),
    ("Europe/Berlin", "DE-BY"),
    ("Europe/London", "GB-ENG"),
    ("America/New_York", "US-NY"),
    ("America/Los_Angeles", "US-CA"),
    ("Australia/Lord_Howe", "AU-NSW"),
    ("Asia/Kolkata", "IN"),
    ("America/Sao_Paulo", "BR"),
    ("UTC", ""),
]
UPTIMES = [
    "Mon-Fri 09:00-19:00",
    "Mon-Fri 07:30-20:30",
    "Mon-Fri 08:00-18:00, Sat 10:00-14:00",
    "Mon-Fri 22:00-06:00",  # overnight batch window
    "Sun-Thu 08:00-17:00",
    "Mon-Sat 06:00-24:00",
    "always",
    "Mon-Fri 09:00-17:00 Europe/Berlin, Mon-Fri 09:00-17:00 America/New_York",
]
DOWNTIMES = [
    "Sat-Sun 00:00-24:00",
    "Mon-Fri 20:00-07:00, Sat-Sun 00:00-24:00",
    "Fri 18:00-24:00, Sat-Sun 00:00-24:00, Mon 00:00-06:00",
    "never",
]


def project_specs(count: int, seed: int) -> list[dict[str, str]]:
    """`count` varied keyword sets for `parse`: zones, holidays, closed dates, overnight and downtime specs."""
    rng = random.Random(seed)
    specs = []
    for _ in range(count):
        zone, holidays = rng.choice(ZONES)
        kwargs = {"timezone": zone, "holidays": holidays if rng.random() < 0.7 else ""}
        if rng.random() < 0.25:
            kwargs["downtime"] = rng.choice(DOWNTIMES)
        else:
            kwargs["uptime"] = rng.choice(UPTIMES)
        if rng.random() < 0.5:
            day = rng.randint(1, 20)
            kwargs["closed_dates"] = f"2026-08-{day:02d}, 2026-12-24..2027-01-0{rng.randint(1, 6)}"
        if rng.random() < 0.1 and "uptime" in kwargs and kwargs["uptime"] != "always":
            kwargs["uptime"] += ", 2026-12-27T09:00:00+09:00-2026-12-27T18:00:00+09:00"
        specs.append(kwargs)
    return specs


CLUSTER = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-bench"
    "/providers/Microsoft.ContainerService/managedClusters/aks-{}"
)
SNAKE = {
    "timezone": "TimeZone",
    "holidays": "Holidays",
    "closed_dates": "ClosedDates",
    "uptime": "Uptime",
    "downtime": "Downtime",
}


def project_rows(specs: list[dict[str, str]], seed: int) -> list[tuple[str, dict[str, object]]]:
    """Table rows for the specs: a few clusters, namespaces, a GPU pool with warm-up on a third."""
    rng = random.Random(seed)
    rows = []
    for i, kwargs in enumerate(specs):
        name = f"project-{i:04d}"
        row: dict[str, object] = {"Cluster": CLUSTER.format(i % 5), "Namespaces": name}
        row.update({SNAKE[k]: v for k, v in kwargs.items() if v})
        if rng.random() < 0.33:
            row.update(NodePools=f"gpu{i % 100}", WarmupMinutes=rng.choice([0, 10, 20, 45]))
        rows.append((name, row))
    return rows


def timed(label: str, fn):
    started = time.perf_counter()
    result = fn()
    print(f"{label:<44} {time.perf_counter() - started:8.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-table", dest="table", action="store_false", help="skip the Azurite (table) figures")
    args = parser.parse_args()
    start = datetime(2026, 11, 30, tzinfo=ZoneInfo("UTC"))  # Monday 2026-11-30
    specs = project_specs(args.projects, args.seed)

    schedules: list[Schedule] = timed(f"parse {len(specs)} projects (cold)", lambda: [parse(**k) for k in specs])
    # The first pass fills the per-(zone, year) offset and per-(country, subdivision, year) holiday
    # caches; a running app keeps them warm, so the warm figures below are the ones that matter.
    timed(
        "1 year of transitions, all projects (cold)",
        lambda: [s.transitions(start, start + timedelta(days=365)) for s in schedules],
    )
    schedules = timed(f"parse {len(specs)} projects", lambda: [parse(**k) for k in specs])
    week = timed(
        "7 days of transitions, all projects", lambda: [week_transitions(s, start=start, days=7) for s in schedules]
    )
    year = timed(
        "1 year of transitions, all projects",
        lambda: [s.transitions(start, start + timedelta(days=365)) for s in schedules],
    )
    timed("next_change once per project", lambda: [s.next_change(start) for s in schedules])
    rows = [(f"p{i:04d}", s, s.zone) for i, s in enumerate(schedules)]
    timed("week chart, all projects (60-min cells)", lambda: week_chart(rows, start=start))
    print(f"transitions: {sum(map(len, week))} in 7 days, {sum(map(len, year))} in 1 year")
    cli_figures(project_rows(specs, args.seed), start=start, with_table=args.table)


def cli_figures(rows: list[tuple[str, dict[str, object]]], *, start: datetime, with_table: bool) -> None:
    """`python -m scaling plan` in-process: from a schedules file, and from the Projects table in Azurite."""
    from scaling.cli import main
    from scaling.storage.project_file import dump

    argv = ["plan", "--from", start.isoformat(), "--days", "7"]
    with tempfile.TemporaryDirectory(prefix="plan-bench-") as workdir:
        path = f"{workdir}/schedules.yaml"
        with open(path, "w", encoding="utf-8") as file:
            file.write(dump(rows))
        out = io.StringIO()
        code = timed(f"plan --file ({len(rows)} projects, 7 days)", lambda: main(argv + ["--file", path], stdout=out))
        print(f"  exit {code}, {len(out.getvalue().splitlines())} lines, {len(out.getvalue()) // 1024} KiB of output")
        timed("  of which: read + validate the file", lambda: _read_and_validate(path))
        if not with_table:
            return
        with _azurite(workdir) as env:
            code = main(["schedules", "import", path], env=env, stdout=io.StringIO())
            assert code == 0, f"import failed with exit code {code}"
            out = io.StringIO()
            code = timed("plan from the Projects table (Azurite)", lambda: main(argv, env=env, stdout=out))
            print(f"  exit {code}, {len(out.getvalue().splitlines())} lines")
            timed("  of which: load (one query) + validate", lambda: _load(env))


def _read_and_validate(path: str):
    from scaling.storage.project_file import read_file
    from scaling.storage.rows import validate_rows

    return validate_rows(read_file(path).rows)


def _load(env: dict[str, str]):
    from scaling.settings import Settings
    from scaling.storage.projects import ProjectStore
    from scaling.storage.tables import TableNames, table_service

    return ProjectStore(table_service(Settings.from_env(env)), TableNames()).load()


@contextmanager
def _azurite(workdir: str):
    """A throwaway Azurite (the test fixture's launcher), in memory."""
    from tests.fixtures.azurite import start_azurite

    server, process = start_azurite(workdir)
    try:
        yield {"SCALING_STORAGE_CONNECTION": server.connection_string}
    finally:
        process.terminate()
        process.wait(timeout=15)


if __name__ == "__main__":
    main()
