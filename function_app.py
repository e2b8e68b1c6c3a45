"""Azure Functions entry point (Python v2 model): the HTTP API and the reconcile timer, a few lines each.

Importing this module needs no Azure setting: the context (Table Storage, cluster clients) is built on
the first request or tick that needs it. A malformed setting (say SCALING_MAX_REPLICAS=abc) fails here,
at start-up, with a message naming it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import azure.functions as func

from scaling.api.backend import build_context
from scaling.api.models import HealthBody
from scaling.api.wire import request_id_of
from scaling.logs import configure_logging
from scaling.page.app import LazyContext, create_app
from scaling.settings import Settings
from scaling.triggers import queue_follow_ups, run_queue_message, run_timer

log = logging.getLogger("scaling.functions")

settings = Settings.from_env()


def _start() -> object:
    """Logging and the engine's context, on the first request or tick (never at import); work left in
    flight by a tick, a queue message or an API call is followed up by a delayed queue message."""
    configure_logging(settings)
    built = build_context(settings)
    built.followups = queue_follow_ups(built)
    return built


context = LazyContext(_start)

# Every route of the ASGI app needs a Functions key (checked by the host); /health is the one exception,
# served by its own anonymous function below (the host prefers its literal route over the catch-all).
app = func.AsgiFunctionApp(
    app=create_app(context.get, settings, behind_functions_host=True),
    http_auth_level=func.AuthLevel.FUNCTION,
)


@app.function_name(name="health")
@app.route(route="health", methods=[func.HttpMethod.GET], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    body = HealthBody(time=datetime.now(UTC)).model_dump(mode="json")
    request_id = request_id_of({k.lower(): v for k, v in req.headers.items()})
    return func.HttpResponse(json.dumps(body), mimetype="application/json", headers={"X-Request-ID": request_id})


@app.function_name(name="reconcile_timer")
@app.timer_trigger(schedule="%SCALING_TIMER%", arg_name="timer", run_on_startup=False, use_monitor=True)
def reconcile_timer(timer: func.TimerRequest) -> None:
    # A past-due timer (host down, cold start) fires once for all missed slots: one tick repairs everything.
    if timer.past_due:
        log.warning("timer is past due; running one tick now")
    # SCALING_FANOUT=queue: send one message per cluster instead of reconciling them all here.
    run_timer(context.get(), datetime.now(UTC))


@app.function_name(name="reconcile_cluster")
@app.queue_trigger(arg_name="message", queue_name="%SCALING_QUEUE_NAME%", connection="AzureWebJobsStorage")
def reconcile_cluster(message: func.QueueMessage) -> None:
    # One cluster per message, under its lock row; raising makes the host retry, then poison-queue it.
    run_queue_message(context.get(), message.get_body(), message.dequeue_count, datetime.now(UTC))
