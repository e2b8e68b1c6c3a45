"""HTTP plumbing shared by the ARM and Kubernetes servers: routing by template, faults, counting.

Servers are stdlib `ThreadingHTTPServer`s: one thread per connection, so a request held by a
latency or timeout fault never blocks the others, a dropped connection is a plain socket close,
and nothing needs an event loop inside pytest's threads.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from emulator.faults import Call, Calls, Fault, Faults


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes
    params: dict[str, str]
    host: str

    def json(self) -> Any:
        """The JSON body; None when it is empty or not JSON (handlers then report what they needed)."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None


@dataclass
class Response:
    status: int
    body: Any = None  # dict/list -> JSON; bytes/str -> as is; None -> empty
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    template: str  # counter key, e.g. "managedClusters/{cluster}/agentPools/{pool}"
    pattern: re.Pattern
    handler: Handler


class Router:
    """Routes written as path templates; `{name}` matches one path segment."""

    def __init__(self, *, ignore_case: bool = False) -> None:
        self._routes: list[Route] = []
        self._flags = re.IGNORECASE if ignore_case else 0

    def add(self, method: str, path: str, handler: Handler, *, name: str | None = None) -> None:
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") else re.escape(part)
            for part in re.split(r"(\{[a-zA-Z_]+\})", path)
        )
        self._routes.append(Route(method, name or path, re.compile(f"^{regex}/?$", self._flags), handler))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route and its parameters; or None and whether the path exists for another method."""
        elsewhere = False
        for route in self._routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    return route, {k: unquote(v) for k, v in found.groupdict().items()}, False
                elsewhere = True
        return None, {}, elsewhere


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(
        self,
        port: int,
        *,
        service: str,
        cluster: str,
        router: Router,
        faults: Faults,
        calls: Calls,
        render_error: Callable[[int, str, str, Fault | None], Response],
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.service, self.cluster, self.router = service, cluster, router
        self.faults, self.calls, self.render_error = faults, calls, render_error
        super().__init__(("127.0.0.1", port), _Handler)
        if tls is not None:
            # Handshake in the connection's own thread, not in the accept loop.
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"emulator-{service}-{cluster or 'arm'}",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> Server:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, ssl.SSLError, TimeoutError, OSError)):
            return  # clients hanging up (or failing the handshake) is normal here
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms a call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # the call log replaces the access log

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        server = self.server
        arrived = time.monotonic()
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        route, params, elsewhere = server.router.match(method, url.path)
        template = route.template if route else ("(method not allowed)" if elsewhere else "(unknown)")
        cluster = server.cluster or params.get("cluster", "")
        delay, fault = server.faults.take(server.service, method, template, cluster)
        if delay:
            time.sleep(delay)
        record = lambda status: server.calls.record(  # noqa: E731
            Call(server.service, cluster, method, template, url.path, status, arrived)
        )
        if fault is not None and fault.kind in ("drop", "timeout"):
            record(0)  # now: a client that gave up must not see this call counted later, in another test
            if fault.kind == "timeout":
                time.sleep(fault.seconds)
            self._drop()
            return
        if fault is not None:
            response = server.render_error(fault.status, method, template, fault)
        elif route is None:
            response = server.render_error(405 if elsewhere else 404, method, url.path, None)
        else:
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            request = Request(method, url.path, query, self.headers, body, params, self.headers.get("Host", ""))
            try:
                response = route.handler(request)
            except Exception:  # noqa: BLE001 - a bug in the emulator must answer 500, not hang the client
                traceback.print_exc()
                response = server.render_error(500, method, template, None)
        record(response.status)  # before answering, so a client that got its answer sees it counted
        self._send(response)

    def _send(self, response: Response) -> None:
        body = response.body
        if body is None:
            data = b""
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body).encode()
        self.send_response(response.status)
        if data:
            self.send_header("Content-Type", response.content_type)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
