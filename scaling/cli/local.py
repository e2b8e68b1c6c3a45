"""`python -m scaling serve`: the same ASGI app under uvicorn plus an in-process timer, on a laptop.

On local defaults (no storage, no ARM endpoint configured) it starts what it needs itself: Azurite
(in memory, free ports) and the AKS emulator (emulator/sample.yaml), loads schedules.sample.yaml into an
empty Projects table, and makes an API key. Configured settings (real storage, real ARM) are used as they
are. Ctrl-C (or SIGTERM) stops the server, the timer and everything it started, in that order.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from scaling.cli import local_state
from scaling.schedule.ncrontab import Ncrontab
from scaling.settings import Settings

log = logging.getLogger("scaling.cli.local")

ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / "node_modules" / ".bin" / "azurite"
SAMPLE_SCHEDULES = ROOT / "schedules.sample.yaml"
SAMPLE_CLUSTERS = ROOT / "emulator" / "sample.yaml"
# Azurite's documented development account: public, not a secret.
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


class LocalError(RuntimeError):
    """Something `serve` needs is missing or failed to start; the message says what to do."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 7071  # 0: a free port
    schedules: Path = SAMPLE_SCHEDULES
    clusters: Path = SAMPLE_CLUSTERS
    tick_now: bool = False  # one tick right after start (the Functions timer does not run on start-up)
    emulator_delay: float | None = None  # seconds the emulator takes per operation; None: its defaults


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, process: subprocess.Popen, deadline: float, what: str) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalError(f"{what} exited with code {process.returncode} before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise LocalError(f"{what} did not listen on port {port} within the deadline")


def start_azurite(stack: ExitStack) -> str:
    """Azurite in memory on free ports; returns its connection string. Stopped when `stack` closes."""
    if not AZURITE.exists():
        raise LocalError(f"Azurite is not installed at {AZURITE}: run `make setup` (npm ci) first")
    if shutil.which("node") is None:
        raise LocalError("node is not on PATH; Azurite needs Node.js")
    workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="aks-hours-azurite-"))
    blob, queue, table = free_port(), free_port(), free_port()
    process = subprocess.Popen(
        [
            str(AZURITE),
            "--silent",
            "--inMemoryPersistence",
            "--disableTelemetry",  # Azurite otherwise ships usage telemetry and spools it in the temp dir
            "--skipApiVersionCheck",
            "--loose",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(blob),
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(queue),
            "--tableHost",
            "127.0.0.1",
            "--tablePort",
            str(table),
        ],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
    )
    stack.callback(_stop_process, process)
    deadline = time.monotonic() + 30
    for port in (blob, queue, table):
        _wait_listening(port, process, deadline, "Azurite")
    base = "http://127.0.0.1:{}/" + DEV_ACCOUNT
    return (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
        f"BlobEndpoint={base.format(blob)};QueueEndpoint={base.format(queue)};TableEndpoint={base.format(table)};"
    )


def _stop_process(process: subprocess.Popen) -> None:
    # Azurite waits for idle keep-alive connections before it exits on SIGTERM; its data is in memory and
    # goes anyway, so it gets a moment and then SIGKILL.
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=1)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class Timer:
    """Runs `tick(now)` at every firing of `schedule` in a daemon thread until `stop()`.

    Like the Functions timer: one run at a time, a run that overlaps the next slot makes that slot past
    due, and a past-due slot runs once (not once per missed slot)."""

    def __init__(
        self,
        schedule: Ncrontab,
        tick: Callable[[datetime], Any],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        poll: float = 30,
    ) -> None:
        self.schedule = schedule
        self.poll = poll  # longest sleep before the clock is read again (it may jump: laptop sleep)
        self.tick = tick
        self.clock = clock
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="aks-hours-timer", daemon=True)

    def start(self) -> Timer:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def next_run(self) -> datetime:
        return self.schedule.next_after(self.clock())

    def _loop(self) -> None:
        due = self.schedule.next_after(self.clock())
        while not self._stop.is_set():
            wait = (due - self.clock()).total_seconds()
            if wait > 0 and self._stop.wait(min(wait, self.poll)):
                return
            if wait > 0:
                continue  # woke early to re-read the clock (it may have jumped)
            now = self.clock()
            past_due = (now - due).total_seconds() > 60
            if past_due:
                log.warning("timer is past due (was due %s); running one tick now", due.isoformat())
            self.run_once(now)
            due = self.schedule.next_after(self.clock())

    def run_once(self, now: datetime) -> None:
        try:
            self.tick(now)
        except Exception:  # a failed tick is logged; the next one repairs what it left (as in Functions)
            log.exception("tick at %s failed", now.isoformat())
        finally:
            self.runs += 1


def api_key_for(settings: Settings) -> tuple[str, bool]:
    """The API key to require: the configured one, else a new random one. (key, generated)"""
    if settings.api_key:
        return settings.api_key, False
    return secrets.token_urlsafe(24), True


def project_lines(projects: Sequence[Any], now: datetime) -> list[str]:
    """One line per project: what its schedule says now and when that changes (local time)."""
    lines = []
    for project in projects:
        schedule = project.schedule
        state = "up" if schedule.is_up(now) else "down"
        change = schedule.next_change(now)
        until = (
            f"until {change.astimezone(schedule.zone):%a %H:%M} {schedule.timezone}" if change else "(never changes)"
        )
        extra = "" if project.enabled else "  [disabled]"
        lines.append(f"{project.name:<16} {state:<4} {until}{extra}")
    return lines


def example_project(projects: Sequence[Any]) -> str:
    """The project the curl examples use: an enabled one reached directly whose schedule changes."""
    for project in projects:
        if (
            project.enabled
            and project.access.value == "api"
            and project.schedule.next_change(datetime.now(UTC)) is not None
        ):
            return project.name
    return projects[0].name if projects else "<project>"


def banner(
    *,
    url: str,
    key: str,
    generated: bool,
    started: list[str],
    projects: list[str],
    example: str,
    timer: str,
    next_run: datetime,
    export: str = "",
    state_file: str = "",
) -> str:
    """What `serve` prints once it listens: URLs, the key, the projects, and curl examples to paste."""
    auth = f'-H "Authorization: Bearer {key}"'
    lines = [
        "",
        f"aks-hours is serving on {url}",
        f"  status page:         {url}/#key={key}",
        f"  API docs (OpenAPI):  {url}/docs   ({url}/openapi.json)",
        f"  health / ready:      {url}/health   {url}/ready",
        f"  API key:             {key}"
        + ("   (generated for this run; set SCALING_API_KEY to fix it)" if generated else ""),
        f"  timer:               '{timer}' (NCRONTAB, UTC); next tick {next_run:%Y-%m-%d %H:%M:%S}Z",
    ]
    lines += [f"  started:             {item}" for item in started]
    if export:
        lines += [
            "",
            f"Commands in this checkout (python -m scaling ...) find these settings in {state_file} by themselves;",
            "elsewhere, paste:",
            f"  {export}",
        ]
    if projects:
        lines += ["", "Projects (by their schedules; GET /api/v1/projects shows the clusters' actual state):"]
        lines += [f"  {line}" for line in projects]
    lines += [
        "",
        "Try:",
        f"  curl -s {auth} {url}/api/v1/projects",
        f"  curl -s {auth} '{url}/api/v1/projects/{example}/plan?days=7'",
        f"  curl -s -X POST {auth} -H 'Content-Type: application/json' \\",
        f'       -d \'{{"action":"down","reason":"trying aks-hours"}}\' {url}/api/v1/projects/{example}/override',
        f"  curl -s -X DELETE {auth} {url}/api/v1/projects/{example}/override",
        f"  curl -s {auth} '{url}/api/v1/audit?project={example}&limit=20'",
        "",
        "Ctrl-C stops the server, the timer and everything started above.",
        "",
    ]
    return "\n".join(lines)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one), made before uvicorn starts so the URL is known."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise LocalError(f"cannot listen on {host}:{port}: {error.strerror}; pick another with --port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def local_settings(
    settings: Settings, *, storage: str | None = None, arm: dict[str, Any] | None = None, api_key: str | None = None
) -> Settings:
    """`settings` with what `serve` started filled in (never overriding what was configured)."""
    changes: dict[str, Any] = {}
    if storage:
        changes["storage_connection"] = storage
    if arm:
        changes.update(arm)
    if api_key:
        changes["api_key"] = api_key
    return dataclasses.replace(settings, **changes)


def needs_storage(settings: Settings) -> bool:
    """No Table Storage configured: start Azurite."""
    return not (settings.storage_connection or settings.storage_account_url)


def needs_emulator(env: Mapping[str, str]) -> bool:
    """No ARM endpoint and no kubeconfig configured: start the emulator. (To use real Azure, set
    SCALING_ARM_ENDPOINT=https://management.azure.com explicitly.)"""
    return not (env.get("SCALING_ARM_ENDPOINT") or env.get("SCALING_KUBECONFIG"))


def echo(text: str, stream: TextIO | None = None) -> None:
    print(text, file=stream or sys.stdout, flush=True)


def start_emulator(stack: ExitStack, config: Path, delay: float | None) -> dict[str, str]:
    """The AKS emulator in-process on free ports; returns the settings that point the app at it."""
    from emulator.server import Emulator

    if not config.exists():
        raise LocalError(f"emulator configuration {config} not found")
    emulator = Emulator(config)
    if delay is not None:
        emulator.set_delays(
            pool_operation=delay, run_command=delay, ready=delay, hpa_sync=delay, lro_retry_after=min(delay, 1.0)
        )
    emulator.start()
    stack.callback(emulator.stop)
    return emulator.env()


DEMO_CHANNELS = {"NOTIFY_DEMO_TEAMS": "/teams", "NOTIFY_DEMO_SLACK": "/slack", "NOTIFY_DEMO_WEBHOOK": "/webhook"}


def start_receiver(stack: ExitStack, context: Any, env: Mapping[str, str]) -> Any:
    """A local webhook receiver for the sample projects' channels that are not configured; None when all are."""
    from collections import ChainMap

    from scaling.notify.receiver import Receiver
    from scaling.notifying import configure

    if all(env.get(name) for name in DEMO_CHANNELS):
        return None
    receiver = Receiver().start()
    stack.callback(receiver.stop)
    demo = {name: receiver.url + path for name, path in DEMO_CHANNELS.items()}
    demo["NOTIFY_DEMO_WEBHOOK_KEY"] = secrets.token_urlsafe(24)
    configure(context, secrets=ChainMap(dict(env), demo))  # configured settings win over the receiver
    return receiver


def local_follow_ups(context: Any, delay: float) -> Any:
    """`serve`'s follow-through (scaling/followup.py): an in-process timer per cluster with work in flight."""
    from scaling import reconcile
    from scaling.followup import LocalFollowUps

    return LocalFollowUps(
        lambda cluster, now, tick: reconcile.reconcile_cluster(cluster, now, context, tick_id=tick), delay=delay
    )


def serve(options: ServeOptions, env: Mapping[str, str], *, out: TextIO | None = None) -> int:
    """Run until Ctrl-C / SIGTERM; everything started here is stopped before returning."""
    import signal

    import uvicorn

    from scaling.api.backend import build_context, import_if_empty, run_tick
    from scaling.logs import configure_logging
    from scaling.page.app import create_app
    from scaling.schedule.ncrontab import parse as parse_ncrontab

    settings = Settings.from_env(env)
    configure_logging(settings)
    schedule = parse_ncrontab(settings.timer_schedule)
    started: list[str] = []
    with ExitStack() as stack:
        # SIGTERM ends the server like Ctrl-C, so the `finally` below stops Azurite and the emulator.
        previous = signal.signal(signal.SIGTERM, _interrupt)
        stack.callback(signal.signal, signal.SIGTERM, previous)
        storage = None
        if needs_storage(settings):
            storage = start_azurite(stack)
            started.append("Azurite (in memory; its data goes when serve stops)")
        merged = dict(env)
        shared: dict[str, str] = {"SCALING_STORAGE_CONNECTION": storage} if storage else {}
        if needs_emulator(env):
            emulator_env = start_emulator(stack, options.clusters, options.emulator_delay)
            merged.update(emulator_env)
            shared.update(emulator_env)
            shown = options.clusters.relative_to(ROOT) if options.clusters.is_relative_to(ROOT) else options.clusters
            started.append(f"AKS emulator ({shown})")
        key, generated = api_key_for(settings)
        sock = bind(options.host, options.port)
        stack.callback(sock.close)
        url = url_of(sock)
        local = local_settings(Settings.from_env(merged), storage=storage, api_key=key)
        local = dataclasses.replace(
            local, link_key=local.link_key or secrets.token_urlsafe(32), public_url=local.public_url or url
        )
        context = build_context(local)
        followups = local_follow_ups(context, local.follow_up_seconds)
        context.followups = followups
        stack.callback(followups.stop)
        projects = import_if_empty(context, options.schedules)
        if projects.imported:
            started.append(f"imported {len(projects.names)} sample projects from {options.schedules.name}")
        receiver = start_receiver(stack, context, env)
        if receiver is not None:
            started.append(f"webhook receiver on {receiver.url} (NOTIFY_DEMO_*: the samples' heads-ups land here)")
        app = create_app(lambda: context, local)
        app.state.local_receiver = receiver
        shared.update(SCALING_API_KEY=key, SCALING_URL=url)
        state_path = local_state.path_of(env)
        local_state.write(state_path, shared)
        stack.callback(local_state.remove, state_path)

        def tick(now: datetime) -> None:
            run_tick(context, now)

        timer = Timer(schedule, tick)
        if options.tick_now:
            timer.run_once(datetime.now(UTC))
        timer.start()
        stack.callback(timer.stop)
        loaded = context.projects.load().projects
        echo(
            banner(
                url=url,
                key=key,
                generated=generated,
                started=started,
                projects=project_lines(loaded, datetime.now(UTC)),
                example=example_project(loaded),
                timer=settings.timer_schedule,
                next_run=timer.next_run(),
                export=local_state.export_line(shared),
                state_file=_shown(state_path),
            ),
            out,
        )
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off"))
        with suppress(KeyboardInterrupt):
            server.run(sockets=[sock])
    echo("aks-hours stopped.", out)
    return 0


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
