"""A local webhook receiver that records what it gets: for `make run` (the sample projects notify it) and
for the tests, which can make it answer 429 or 500, or hang, to see retries and timeouts.

    receiver = Receiver().start()         http://127.0.0.1:<port>/<anything>
    receiver.fail_next(429, times=2)      the next two POSTs get 429 (with Retry-After: 0)
    receiver.hang_next(seconds=10)        the next POST gets no answer for 10 s
    receiver.messages()                   what was received, oldest first
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_KEPT = 500
MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Received:
    time: datetime
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Plan:
    answers: deque[tuple[str, float]] = field(default_factory=deque)  # ("status", code) | ("hang", seconds)


class Receiver:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._kept: deque[Received] = deque(maxlen=MAX_KEPT)
        self._plan = _Plan()
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = min(int(self.headers.get("Content-Length") or 0), MAX_BODY)
                body = self.rfile.read(length)
                kind, value = receiver._next()
                if kind == "hang":
                    receiver._release.wait(value)
                    return  # the client has timed out by now
                status = int(value)
                receiver._keep(Received(datetime.now(UTC), self.path, dict(self.headers.items()), body, status))
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                data = json.dumps(receiver.summary()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="receiver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host if isinstance(host, str) else host.decode()}:{port}"

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, status: int, *, times: int = 1) -> None:
        with self._lock:
            self._plan.answers.extend([("status", float(status))] * times)

    def hang_next(self, seconds: float, *, times: int = 1) -> None:
        with self._lock:
            self._plan.answers.extend([("hang", seconds)] * times)

    def messages(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [m for m in self._kept if path is None or m.path == path]

    def wait_for(self, count: int, *, timeout: float = 10.0, path: str | None = None) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [m for m in self.messages(path) if 200 <= m.status < 300]
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"the receiver got {len(self.messages(path))} messages, not {count}, in {timeout} s")

    def summary(self) -> list[dict[str, Any]]:
        """What the status page shows in local mode: newest first, titles only."""
        out = []
        for message in reversed(self.messages()):
            try:
                body = message.json()
            except ValueError:
                body = {}
            out.append(
                {
                    "time": message.time.isoformat(),
                    "path": message.path,
                    "status": message.status,
                    "title": _title(body),
                }
            )
        return out

    def _next(self) -> tuple[str, float]:
        with self._lock:
            return self._plan.answers.popleft() if self._plan.answers else ("status", 200.0)

    def _keep(self, message: Received) -> None:
        with self._lock:
            self._kept.append(message)


def _title(body: Any) -> str:
    """The headline of a Teams, Slack or generic message."""
    if not isinstance(body, dict):
        return ""
    if "title" in body:
        return str(body["title"])
    if "blocks" in body:
        return str(body.get("text", ""))[:120]
    try:
        return str(body["attachments"][0]["content"]["body"][0]["text"])
    except (KeyError, IndexError, TypeError):
        return ""
