"""Structured JSON logs with the tick's context on every line, Azure Monitor export, and per-tick metrics.

Every log line is one JSON object with `time`, `level`, `logger`, `message`, `tick_id`, `project`,
`cluster` and `duration_ms` (milliseconds since the innermost `log_context` began, so a line inside a
cluster's scope tells how long that cluster has taken so far; an explicit `extra={"duration_ms": ...}`
wins). The context lives in contextvars: asyncio tasks inherit it; code that hands work to a thread pool
runs it under `contextvars.copy_context().run` to keep it.

Export to Application Insights (logs of the `scaling` logger, the tick metrics, and the usual request /
dependency traces) is switched on by `configure_logging` only when APPLICATIONINSIGHTS_CONNECTION_STRING
is set, through `azure-monitor-opentelemetry`; without it nothing leaves the process. Configuring happens
when the app starts (`serve`, the Functions entry point, the CLI), never at import.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from scaling.settings import Settings

log = logging.getLogger("scaling.logs")

_tick_id: ContextVar[str | None] = ContextVar("aks_hours_tick_id", default=None)
_project: ContextVar[str | None] = ContextVar("aks_hours_project", default=None)
_cluster: ContextVar[str | None] = ContextVar("aks_hours_cluster", default=None)
_scope_started: ContextVar[float | None] = ContextVar("aks_hours_scope_started", default=None)

CONTEXT_FIELDS = ("tick_id", "project", "cluster", "duration_ms")
# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into the line.
# uvicorn's `color_message` is the same message with terminal colour codes: noise in a JSON line.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}
# Secrets that must never reach a log line even if some code formats one into a message by mistake.
_SECRET = re.compile(
    r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|InstrumentationKey|sig|code|x-functions-key|"
    r"api[_-]?key|password|client_secret)=([^;&\s\"',]+)"
    r"|\b(Bearer)\s+[A-Za-z0-9._~+/=-]{8,}"
)
_HANDLER_MARK = "_aks_hours_handler"
_METRIC_PREFIX = "aks_hours.tick"
EXPORTER_PACKAGE = "azure-monitor-opentelemetry==1.8.11"


def new_tick_id() -> str:
    """A short random id that ties every line and audit row of one tick together."""
    return uuid.uuid4().hex[:12]


@contextmanager
def log_context(
    *, tick_id: str | None = None, project: str | None = None, cluster: str | None = None
) -> Iterator[None]:
    """Tag every log line inside the block with the given fields (others keep their outer values) and
    start a new `duration_ms` clock; the outer values come back when the block ends."""
    started = _scope_started.set(time.monotonic())
    tokens: list[tuple[ContextVar[str | None], Token[str | None]]] = []
    for var, value in ((_tick_id, tick_id), (_project, project), (_cluster, cluster)):
        if value is not None:
            tokens.append((var, var.set(str(value))))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
        _scope_started.reset(started)


def current_context() -> dict[str, Any]:
    """The context fields as they would appear on a log line written now."""
    started = _scope_started.get()
    return {
        "tick_id": _tick_id.get(),
        "project": _project.get(),
        "cluster": _cluster.get(),
        "duration_ms": None if started is None else round((time.monotonic() - started) * 1000, 1),
    }


def redact(text: str) -> str:
    """`text` with keys, signatures, passwords and bearer tokens replaced by `***`."""
    return _SECRET.sub(lambda m: f"{m.group(1)}=***" if m.group(1) else f"{m.group(3)} ***", text)


def said(error: BaseException) -> str:
    """What a dependency's error said, on one line, secrets removed: for a response body or a page."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return redact(text)[:500]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ms), level, logger, message, the context fields, any
    `extra=` fields, and `exception` when one is attached. Secrets are redacted from the text fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        context = current_context()
        for name in CONTEXT_FIELDS:
            line[name] = getattr(record, name, context[name])
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and name not in line and not name.startswith("_"):
                line[name] = value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, default=_jsonable, ensure_ascii=False)


@dataclass(frozen=True)
class Telemetry:
    """What `configure_logging` switched on: `exporting` is True when Azure Monitor export runs;
    `detail` says why or why not, for the start-up banner."""

    exporting: bool
    detail: str


_exporting = False


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> Telemetry:
    """JSON lines on `stream` (stderr) at `settings.log_level`, context fields on every record, and
    Azure Monitor export when `settings.appinsights_connection` is set. Safe to call again: it replaces
    its own handler and never configures the exporter twice."""
    level = logging.getLevelName(settings.log_level)
    if not isinstance(level, int):
        raise ValueError(
            f"setting SCALING_LOG_LEVEL={settings.log_level!r} is not a log level; "
            "expected DEBUG, INFO, WARNING, ERROR or CRITICAL"
        )
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)
    # The Azure SDK logs every request's headers at INFO; keep them out of the operator's stream.
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    logging.getLogger("azure.monitor.opentelemetry").setLevel(logging.WARNING)
    if not settings.appinsights_connection:
        return Telemetry(False, "APPLICATIONINSIGHTS_CONNECTION_STRING is not set: logs and metrics stay local")
    return _enable_azure_monitor(settings.appinsights_connection)


def _enable_azure_monitor(connection_string: str) -> Telemetry:
    global _exporting
    if _exporting:
        return Telemetry(True, "exporting to Application Insights (already configured)")
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor
    except ImportError:
        message = (
            "APPLICATIONINSIGHTS_CONNECTION_STRING is set but azure-monitor-opentelemetry is not installed; "
            f"logs and metrics stay local (install it with: pip install {EXPORTER_PACKAGE})"
        )
        log.warning(message)
        return Telemetry(False, message)
    # Only the app's own `scaling.*` loggers are exported as traces (the Functions host already ships
    # the host's own logs); live metrics are off to keep one outbound stream.
    configure_azure_monitor(connection_string=connection_string, logger_name="scaling", enable_live_metrics=False)
    for handler in logging.getLogger("scaling").handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
    _exporting = True
    log.info("exporting logs, traces and tick metrics to Application Insights")
    return Telemetry(True, "exporting to Application Insights")


class ContextFilter(logging.Filter):
    """Stamps the context fields on each record a handler receives (fields given with `extra=` win), so
    the OpenTelemetry exporter, which turns record attributes into custom dimensions, ships them too."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in current_context().items():
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        return True


# -- per-tick metrics -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TickSummary:
    """The figures of one tick that `record_tick` publishes."""

    tick_id: str | None
    actions: int
    failures: int
    duration_ms: float
    clusters: int | None = None
    audit_pending: int = 0  # audit rows not written yet (Table Storage away): a later tick writes them


def summarise(report: Any) -> TickSummary:
    """Read a tick report: `actions`, `failures`, `duration_ms` attributes when it has them, else counts
    over its `outcomes` (a `scaling.plan.actions.Outcome` list: every change acted on is an action, every
    `failed` result a failure)."""
    outcomes = getattr(report, "outcomes", None)
    actions = getattr(report, "actions", None)
    if not isinstance(actions, int):
        actions = len(outcomes) if outcomes is not None else 0
    failures = getattr(report, "failures", None)
    if not isinstance(failures, int):
        failures = sum(1 for o in outcomes or () if getattr(getattr(o, "result", None), "value", None) == "failed")
    duration = getattr(report, "duration_ms", None)
    if duration is None and getattr(report, "duration", None) is not None:
        raw = report.duration
        duration = raw.total_seconds() * 1000 if hasattr(raw, "total_seconds") else float(raw) * 1000
    clusters = getattr(report, "clusters", None)
    return TickSummary(
        tick_id=getattr(report, "tick_id", None) or _tick_id.get(),
        actions=actions,
        failures=failures,
        duration_ms=float(duration or 0.0),
        clusters=len(clusters) if isinstance(clusters, (list, tuple, dict)) else clusters,
        audit_pending=pending if isinstance(pending := getattr(report, "audit_pending", 0), int) else 0,
    )


def record_tick(report: Any, *, meter: Any = None) -> TickSummary:
    """Publish one tick's figures: a `tick finished` log line (with `audit_pending`, the audit rows a later
    tick must still write; a warning when there are any) and the OpenTelemetry metrics
    `aks_hours.tick.actions`, `.failures` (counters) and `.duration` (histogram, ms). With no meter
    provider configured the metrics are no-ops, so the reconcile loop calls this unconditionally."""
    summary = summarise(report)
    instruments = _tick_instruments(meter)
    if instruments is not None:
        actions, failures, duration = instruments
        attributes = {"outcome": "failed" if summary.failures else "ok"}
        actions.add(summary.actions, attributes)
        failures.add(summary.failures, attributes)
        duration.record(summary.duration_ms, attributes)
    extra = {
        "event": "tick",
        "actions": summary.actions,
        "failures": summary.failures,
        "duration_ms": round(summary.duration_ms, 1),
        "audit_pending": summary.audit_pending,
    }
    if summary.tick_id:
        extra["tick_id"] = summary.tick_id
    logging.getLogger("scaling.tick").log(
        logging.WARNING if summary.audit_pending else logging.INFO,
        "tick finished: %d actions, %d failures, %.0f ms%s",
        summary.actions,
        summary.failures,
        summary.duration_ms,
        f", {summary.audit_pending} audit rows pending" if summary.audit_pending else "",
        extra=extra,
    )
    return summary


def _tick_instruments(meter: Any = None) -> tuple[Any, Any, Any] | None:
    global _default_instruments
    if meter is not None:
        return _make_instruments(meter)
    if _default_instruments is None:
        try:
            from opentelemetry import metrics
        except ImportError:  # the exporter (and with it the OpenTelemetry API) is optional
            return None
        # The global meter is a proxy: instruments made before the exporter is configured export after.
        _default_instruments = _make_instruments(metrics.get_meter("aks-hours"))
    return _default_instruments


def _make_instruments(meter: Any) -> tuple[Any, Any, Any]:
    return (
        meter.create_counter(f"{_METRIC_PREFIX}.actions", unit="{action}", description="changes acted on per tick"),
        meter.create_counter(f"{_METRIC_PREFIX}.failures", unit="{action}", description="changes that failed"),
        meter.create_histogram(f"{_METRIC_PREFIX}.duration", unit="ms", description="wall time of one tick"),
    )


_default_instruments: tuple[Any, Any, Any] | None = None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, (str, int)):
        return value.value  # enums
    return str(value)
