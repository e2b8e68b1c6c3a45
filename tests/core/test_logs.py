"""Structured logs: one JSON object a line with the tick's context; metrics per tick; optional export."""

import asyncio
import contextvars
import gzip
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scaling.logs import (
    ContextFilter,
    JsonFormatter,
    configure_logging,
    current_context,
    log_context,
    new_tick_id,
    record_tick,
    redact,
    said,
    summarise,
)
from scaling.plan.actions import Notice, Outcome, Result, Why
from scaling.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lines():
    """A logger whose output is captured as parsed JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("scaling.test")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.propagate = True


@pytest.fixture
def root_logging():
    """Put the root logger back as it was after a test that configures logging."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_line_is_one_json_object_with_the_standard_fields(lines):
    logger, read = lines
    logger.info("scaled %s to %d", "project-a", 0)
    (line,) = read()
    assert line["message"] == "scaled project-a to 0"
    assert line["level"] == "INFO" and line["logger"] == "scaling.test"
    assert line["time"].endswith("Z")
    assert {"tick_id", "project", "cluster", "duration_ms"} <= line.keys()


def test_lines_inside_a_context_carry_tick_project_and_cluster(lines):
    logger, read = lines
    with log_context(tick_id="t1", cluster="sub/rg/aks1"):
        with log_context(project="project-a"):
            logger.info("inner")
        logger.info("outer")
    logger.info("after")
    inner, outer, after = read()
    assert (inner["tick_id"], inner["cluster"], inner["project"]) == ("t1", "sub/rg/aks1", "project-a")
    assert (outer["tick_id"], outer["project"]) == ("t1", None)
    assert (after["tick_id"], after["duration_ms"]) == (None, None)


def test_duration_counts_from_the_start_of_the_innermost_context(lines):
    logger, read = lines
    with log_context(tick_id="t1"):
        time.sleep(0.03)
        with log_context(project="p"):
            logger.info("fresh scope")
        logger.info("tick scope")
    fresh, tick = read()
    assert fresh["duration_ms"] < 25 <= tick["duration_ms"]


def test_extra_fields_are_added_and_an_explicit_duration_wins(lines):
    logger, read = lines
    with log_context(tick_id="t1"):
        logger.info("patched", extra={"target": "deployment/project-a/web", "duration_ms": 42})
    (line,) = read()
    assert (line["target"], line["duration_ms"], line["tick_id"]) == ("deployment/project-a/web", 42, "t1")


def test_context_follows_asyncio_tasks(lines):
    logger, read = lines

    async def cluster_work(name):
        with log_context(cluster=name):
            await asyncio.sleep(0)
            logger.info("done")

    async def tick():
        with log_context(tick_id="t9"):
            await asyncio.gather(cluster_work("c1"), cluster_work("c2"))

    asyncio.run(tick())
    assert sorted((line["tick_id"], line["cluster"]) for line in read()) == [("t9", "c1"), ("t9", "c2")]


def test_context_follows_work_handed_to_threads_with_copy_context(lines):
    logger, read = lines
    with log_context(tick_id="t2"), ThreadPoolExecutor(2) as pool:
        pool.submit(contextvars.copy_context().run, logger.info, "in a thread").result()
    assert read()[0]["tick_id"] == "t2"


def test_exceptions_are_included_as_text(lines):
    logger, read = lines
    try:
        raise RuntimeError("pool busy")
    except RuntimeError:
        logger.exception("write failed")
    assert "RuntimeError: pool busy" in read()[0]["exception"]


@pytest.mark.parametrize(
    "secret, shown",
    [
        ("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=c2VjcmV0a2V5;", "AccountKey=***"),
        ("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.abc.def", "Bearer ***"),
        ("https://app.example/api/v1/projects?code=Zm9vYmFyYmF6", "code=***"),
        ("InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=x", "InstrumentationKey=***"),
    ],
    ids=["storage-key", "bearer", "function-key", "instrumentation-key"],
)
def test_secrets_are_redacted_from_lines(lines, secret, shown):
    logger, read = lines
    logger.info("connecting with %s", secret)
    message = read()[0]["message"]
    assert shown in message and secret not in message


def test_redact_leaves_ordinary_text_alone():
    assert redact("scaled project-a/web from 2 to 0 (code path b)") == "scaled project-a/web from 2 to 0 (code path b)"


def test_said_is_an_errors_first_line_with_its_secrets_removed():
    error = ConnectionError("refused by http://127.0.0.1:1; AccountKey=c2VjcmV0==;\nTraceback line")
    assert said(error) == "refused by http://127.0.0.1:1; AccountKey=***;"


def test_said_names_the_error_type_when_its_text_is_empty():
    assert said(TimeoutError()) == "TimeoutError"


def test_tick_ids_are_short_and_distinct():
    ids = {new_tick_id() for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 12 for i in ids)


def test_configure_logging_without_a_connection_string_exports_nothing(root_logging):
    stream = io.StringIO()
    telemetry = configure_logging(Settings(log_level="INFO"), stream=stream)
    assert telemetry.exporting is False
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING is not set" in telemetry.detail
    with log_context(tick_id="abc"):
        logging.getLogger("scaling.reconcile").info("tick started")
    line = json.loads(stream.getvalue().splitlines()[-1])
    assert (line["message"], line["tick_id"]) == ("tick started", "abc")
    assert not [h for h in logging.getLogger("scaling").handlers if "opentelemetry" in type(h).__module__]


def test_configure_logging_twice_keeps_one_handler(root_logging):
    configure_logging(Settings(), stream=io.StringIO())
    configure_logging(Settings(), stream=io.StringIO())
    assert sum(1 for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)) == 1


def test_configure_logging_rejects_an_unknown_level(root_logging):
    with pytest.raises(ValueError, match="SCALING_LOG_LEVEL='LOUD'"):
        configure_logging(Settings(log_level="LOUD"), stream=io.StringIO())


@dataclass
class Report:
    tick_id: str
    actions: int
    failures: int
    duration_ms: float


def test_record_tick_publishes_actions_failures_and_duration_as_metrics(lines):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    meter = MeterProvider(metric_readers=[reader]).get_meter("test")
    record_tick(Report("t1", actions=4, failures=1, duration_ms=812.0), meter=meter)
    record_tick(Report("t2", actions=0, failures=0, duration_ms=95.0), meter=meter)
    points = {
        metric.name: metric.data.data_points
        for rm in reader.get_metrics_data().resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }
    assert sum(p.value for p in points["aks_hours.tick.actions"]) == 4
    assert sum(p.value for p in points["aks_hours.tick.failures"]) == 1
    assert sum(p.count for p in points["aks_hours.tick.duration"]) == 2
    assert sum(p.sum for p in points["aks_hours.tick.duration"]) == pytest.approx(907.0)


def test_record_tick_writes_a_tick_line():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    tick_logger = logging.getLogger("scaling.tick")
    tick_logger.addHandler(handler)
    tick_logger.setLevel(logging.INFO)
    try:
        record_tick(Report("t7", actions=3, failures=0, duration_ms=1500.0))
    finally:
        tick_logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert (line["event"], line["tick_id"], line["actions"], line["failures"], line["duration_ms"]) == (
        "tick",
        "t7",
        3,
        0,
        1500.0,
    )


def test_a_report_with_outcomes_is_counted_from_them():
    why = Why(project="project-a")
    outcomes = [Outcome(Notice(None, "x", "m", why), Result.OK), Outcome(Notice(None, "y", "m", why), Result.FAILED)]

    @dataclass
    class TickReport:
        outcomes: list
        duration_ms: float

    summary = summarise(TickReport(outcomes, 250.0))
    assert (summary.actions, summary.failures, summary.duration_ms) == (2, 1, 250.0)


def test_current_context_outside_any_scope_is_empty():
    assert current_context() == {"tick_id": None, "project": None, "cluster": None, "duration_ms": None}


# -- export to Application Insights (in a child process: the exporter sets process-wide providers) ----


class _Ingestion(BaseHTTPRequestHandler):
    """A stand-in for the Application Insights ingestion endpoint on loopback; keeps every envelope."""

    envelopes: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        items = json.loads(body)
        items = items if isinstance(items, list) else [items]
        type(self).envelopes.extend(items)
        answer = json.dumps({"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


_CHILD = """
import logging, sys
from opentelemetry import metrics
from opentelemetry._logs import get_logger_provider
from scaling.logs import configure_logging, log_context, record_tick
from scaling.settings import Settings

class Report:
    tick_id, actions, failures, duration_ms = "tick42", 5, 1, 1234.0

telemetry = configure_logging(Settings.from_env())
print("EXPORTING" if telemetry.exporting else "LOCAL:" + telemetry.detail, flush=True)
with log_context(tick_id="tick42", project="project-a", cluster="sub/rg/aks1"):
    logging.getLogger("scaling.reconcile").warning("pool busy, retry next tick")
    record_tick(Report())
for provider in (metrics.get_meter_provider(), get_logger_provider()):
    getattr(provider, "force_flush", lambda: None)()  # proxies (nothing configured) have no flush
"""


def _run_child(env_extra, tmp_path, *, block_exporter=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS_"))}
    env.update(env_extra)
    # Keep the child off every network but loopback: no statsbeat, no Azure VM metadata probe.
    env.update(
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL="true",
        OTEL_EXPERIMENTAL_RESOURCE_DETECTORS="otel",
        TMPDIR=str(tmp_path),
        PYTHONPATH=str(ROOT),
    )
    code = _CHILD
    if block_exporter:
        code = "import sys; sys.modules['azure.monitor.opentelemetry'] = None\n" + code
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_with_a_connection_string_logs_and_tick_metrics_reach_application_insights(tmp_path):
    _Ingestion.envelopes = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ingestion)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        child = _run_child(
            {
                "APPLICATIONINSIGHTS_CONNECTION_STRING": (
                    f"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint={endpoint}"
                )
            },
            tmp_path,
        )
    finally:
        server.shutdown()
    assert child.returncode == 0, child.stderr
    assert child.stdout.startswith("EXPORTING")
    messages = [e for e in _Ingestion.envelopes if e["data"]["baseType"] == "MessageData"]
    busy = next(
        m["data"]["baseData"] for m in messages if m["data"]["baseData"]["message"] == "pool busy, retry next tick"
    )
    assert busy["properties"]["tick_id"] == "tick42" and busy["properties"]["cluster"] == "sub/rg/aks1"
    metric_names = {
        m["name"]
        for e in _Ingestion.envelopes
        if e["data"]["baseType"] == "MetricData"
        for m in e["data"]["baseData"]["metrics"]
    }
    assert {"aks_hours.tick.actions", "aks_hours.tick.failures", "aks_hours.tick.duration"} <= metric_names


def test_without_the_exporter_package_a_connection_string_only_warns(tmp_path):
    connection = "InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=http://127.0.0.1:9/"
    child = _run_child({"APPLICATIONINSIGHTS_CONNECTION_STRING": connection}, tmp_path, block_exporter=True)
    assert child.returncode == 0, child.stderr
    assert "azure-monitor-opentelemetry is not installed" in child.stdout
    assert "pip install azure-monitor-opentelemetry" in child.stdout
    assert "pool busy, retry next tick" in child.stderr  # logs still go to the local stream
