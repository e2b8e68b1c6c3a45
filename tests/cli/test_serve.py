"""`python -m scaling serve`: the NCRONTAB timer, the banner, and a real start-up on free ports."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from scaling.cli.local import Timer, banner, project_lines
from scaling.schedule import ncrontab
from scaling.schedule.ncrontab import NcrontabError

UTC = UTC
ROOT = Path(__file__).resolve().parents[2]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- NCRONTAB -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("0 */5 * * * *", "2026-11-24T10:02:13", "2026-11-24T10:05:00"),
        ("0 */5 * * * *", "2026-11-24T10:05:00", "2026-11-24T10:10:00"),  # strictly after
        ("0 */5 * * * *", "2026-11-24T23:57:00", "2026-11-25T00:00:00"),
        ("30 0 9 * * Mon-Fri", "2026-11-27T10:00:00", "2026-11-30T09:00:30"),  # Friday -> Monday
        ("0 0 0 1 Jan *", "2026-11-24T00:00:00", "2027-01-01T00:00:00"),
        ("0 0 12 29 2 *", "2026-03-01T00:00:00", "2028-02-29T12:00:00"),
        ("*/20 * * * * *", "2026-11-24T10:00:41", "2026-11-24T10:01:00"),
        ("0 0 6,18 * * 0", "2026-11-24T00:00:00", "2026-11-29T06:00:00"),  # Sunday as 0
        ("0 0 6 * * 7", "2026-11-24T00:00:00", "2026-11-29T06:00:00"),  # and as 7
        ("0 15-45/15 8 * * *", "2026-11-24T08:15:00", "2026-11-24T08:30:00"),
    ],
)
def test_next_firing_is_the_first_strictly_after(expr, after, expected):
    assert ncrontab.parse(expr).next_after(at(after)) == at(expected)


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("*/5 * * * *", "has 5 fields"),
        ("0 61 * * * *", "minute field: 61 is outside 0-59"),
        ("0 */0 * * * *", "step"),
        ("0 0 10-2 * * *", "range start is after its end"),
        ("0 0 0 * Foo *", "month field"),
        ("0 0 0 31 2 *", "never fires"),
    ],
)
def test_bad_schedules_say_which_field(expr, words):
    with pytest.raises(NcrontabError, match=words):
        ncrontab.parse(expr).next_after(at("2026-11-24T00:00:00"))


def test_naive_times_are_rejected():
    with pytest.raises(ValueError, match="naive"):
        ncrontab.parse("0 * * * * *").next_after(datetime(2026, 11, 24))


# -- the in-process timer -----------------------------------------------------------------------------


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def test_the_timer_runs_a_tick_when_due_and_stops_cleanly():
    ran = threading.Event()
    seen: list[datetime] = []
    clock = FakeClock(at("2026-11-24T10:04:59.9"))

    def tick(now: datetime) -> None:
        seen.append(now)
        ran.set()

    timer = Timer(ncrontab.parse("* * * * * *"), tick, clock=clock, poll=0.01).start()
    clock.now = at("2026-11-24T10:05:00")
    assert ran.wait(5)
    timer.stop(timeout=5)
    assert seen and seen[0] == at("2026-11-24T10:05:00")
    assert not timer._thread.is_alive()


def test_a_failing_tick_does_not_stop_the_timer():
    calls = []

    def tick(now: datetime) -> None:
        calls.append(now)
        raise RuntimeError("cluster down")

    timer = Timer(ncrontab.parse("* * * * * *"), tick)
    timer.run_once(at("2026-11-24T10:00:00"))
    timer.run_once(at("2026-11-24T10:00:01"))
    assert len(calls) == 2 and timer.runs == 2


def test_a_past_due_timer_runs_once_not_once_per_missed_slot():
    calls: list[datetime] = []
    done = threading.Event()
    clock = FakeClock(at("2026-11-24T10:00:00"))

    def tick(now: datetime) -> None:
        calls.append(now)
        clock.now = at("2026-11-24T12:00:00.5")  # the run took two hours: 24 slots were missed
        done.set()

    timer = Timer(ncrontab.parse("0 */5 * * * *"), tick, clock=clock, poll=0.01).start()
    clock.now = at("2026-11-24T10:05:00")
    assert done.wait(5)
    timer.stop(timeout=5)
    assert len(calls) == 1
    assert timer.next_run() == at("2026-11-24T12:05:00")


# -- the banner -----------------------------------------------------------------------------------------


def test_the_banner_shows_urls_key_and_curl_examples_ready_to_paste():
    text = banner(
        url="http://127.0.0.1:7071",
        key="k-123",
        generated=True,
        started=["Azurite (in memory)"],
        projects=["tokyo-office     down until Wed 09:00 Asia/Tokyo"],
        example="tokyo-office",
        timer="0 */5 * * * *",
        next_run=at("2026-11-24T10:05:00"),
    )
    assert "http://127.0.0.1:7071/docs" in text
    assert "http://127.0.0.1:7071/#key=k-123" in text  # the status page keeps the fragment in the browser
    assert "k-123" in text and "generated" in text
    assert 'curl -s -H "Authorization: Bearer k-123" http://127.0.0.1:7071/api/v1/projects' in text
    assert "/api/v1/projects/tokyo-office/override" in text
    assert "next tick 2026-11-24 10:05:00Z" in text
    assert "tokyo-office     down until Wed 09:00 Asia/Tokyo" in text


def test_project_lines_say_what_each_schedule_wants_now_and_until_when():
    from scaling.schedule.hours import parse

    class Row:  # the two fields project_lines reads, besides the schedule
        def __init__(self, name, schedule, enabled=True):
            self.name, self.schedule, self.enabled = name, schedule, enabled

    rows = [
        Row("berlin", parse(uptime="Mon-Fri 08:00-19:00", timezone="Europe/Berlin")),
        Row("always-on", parse(uptime="always")),
        Row("off", parse(uptime="always"), enabled=False),
    ]
    lines = project_lines(rows, at("2026-11-24T10:00:00"))  # Tuesday, 11:00 in Berlin
    assert lines[0].split() == ["berlin", "up", "until", "Tue", "19:00", "Europe/Berlin"]
    assert lines[1].split() == ["always-on", "up", "(never", "changes)"]
    assert lines[2].endswith("[disabled]")


# -- the real thing: `python -m scaling serve` in a subprocess ------------------------------------------


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Azurite's node process, for one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_serve_starts_azurite_and_the_emulator_answers_and_stops_everything_on_ctrl_c(tmp_path):
    state = tmp_path / "local.settings.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SCALING_") and k not in ("AzureWebJobsStorage", "AZURE_CLIENT_ID")
    }
    env["SCALING_TIMER"] = "0 0 0 1 1 *"  # no tick while the test runs
    env["SCALING_LOCAL_SETTINGS"] = str(state)  # not the checkout's .run/, which a developer's make run uses
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "scaling", "serve", "--port", "0", "--emulator-delay", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        banner_text = ""
        while "Ctrl-C stops" not in banner_text:
            banner_text += lines.get(timeout=max(0.1, 30 - (time.monotonic() - started)))
        url = re.search(r"serving on (http://127\.0\.0\.1:\d+)", banner_text).group(1)
        key = re.search(r"API key:\s+(\S+)", banner_text).group(1)
        assert "imported 4 sample projects" in banner_text

        assert httpx.get(f"{url}/health", timeout=10).json()["status"] == "healthy"
        assert httpx.get(f"{url}/api/v1/projects", timeout=10).status_code == 401
        response = httpx.get(f"{url}/api/v1/projects", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert response.status_code == 200
        assert {p["name"] for p in response.json()["projects"]} == {
            "nightly-batch",
            "platform-tools",
            "project-a",
            "project-b",
        }
        helpers = _children(process.pid)
        assert helpers, "Azurite should run as a child of serve"

        # Another terminal: the commands find the running serve's settings by themselves.
        assert re.search(r"^  export SCALING_STORAGE_CONNECTION=.* SCALING_ARM_ENDPOINT=", banner_text, re.M)
        assert state.stat().st_mode & 0o077 == 0  # it holds the API key
        listed = subprocess.run(
            [sys.executable, "-m", "scaling", "override", "list"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (listed.returncode, listed.stdout.strip()) == (0, "no active overrides"), listed.stderr
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=20)
    rest = ""
    while not lines.empty():
        rest += lines.get_nowait()
    assert code == 0
    assert "aks-hours stopped." in rest
    assert not [pid for pid in helpers if _alive(pid)], "serve left Azurite running"
    assert not state.exists(), "serve left its settings file behind"
    assert time.monotonic() - started < 40


# -- the settings file other commands read -------------------------------------------------------------


def test_commands_use_a_running_serves_settings_only_when_the_environment_names_no_storage(tmp_path):
    from scaling.cli import local_state

    path = tmp_path / "local.settings.json"
    local_state.write(path, {"SCALING_STORAGE_CONNECTION": "UseDevelopmentStorage=true", "SCALING_API_KEY": "k"})
    env = {"SCALING_LOCAL_SETTINGS": str(path), "SCALING_ARM_ENDPOINT": "https://example.invalid"}
    merged, state = local_state.with_local_state(env)
    assert state is not None and state.pid == os.getpid()
    assert merged["SCALING_STORAGE_CONNECTION"] == "UseDevelopmentStorage=true"
    assert merged["SCALING_ARM_ENDPOINT"] == "https://example.invalid"  # the environment wins
    own = {**env, "SCALING_STORAGE_CONNECTION": "mine"}
    assert local_state.with_local_state(own) == (own, None)


def test_a_settings_file_left_by_a_stopped_serve_is_ignored(tmp_path):
    from scaling.cli import local_state

    path = tmp_path / "local.settings.json"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    local_state.write(path, {"SCALING_STORAGE_CONNECTION": "x"}, pid=int(gone.stdout))
    env = {"SCALING_LOCAL_SETTINGS": str(path)}
    assert local_state.with_local_state(env) == (env, None)
    local_state.remove(path)  # not ours: stays
    assert path.exists()
    local_state.remove(path, pid=int(gone.stdout))
    assert not path.exists()


def test_the_export_line_is_one_line_a_shell_can_paste():
    from scaling.cli import local_state

    line = local_state.export_line({"SCALING_STORAGE_CONNECTION": "a=b;c=d", "SCALING_API_KEY": "k k"})
    assert line == "export SCALING_STORAGE_CONNECTION='a=b;c=d' SCALING_API_KEY='k k'"


def test_serve_follows_up_on_its_own_timers_with_the_configured_delay():
    from scaling.cli.local import local_follow_ups
    from scaling.followup import LocalFollowUps

    followups = local_follow_ups(object(), 20)
    assert isinstance(followups, LocalFollowUps) and followups.delay == 20
    followups.stop()
