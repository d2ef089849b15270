"""Real servers on loopback for tests: a feed server that can misbehave, an SMTP server, a webhook receiver."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int = 0  # what the server answered (0 before it answers, or when the answer could not be sent)
    peer: tuple[str, int] = ("", 0)  # the client's address and port: one per TCP connection


class Sequenced:
    """Answers in turn (the last one repeats): e.g. 500, then 429 with Retry-After, then a hang, then 200."""

    def __init__(self, *responses: Response) -> None:
        self.responses = list(responses)
        self._lock = threading.Lock()

    def __call__(self, _request: Request) -> Response:
        with self._lock:
            return self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]


Route = Response | Callable[[Request], Response]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # the default 5 drops connections when a test polls many feeds at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up early is a test's point
            super().handle_error(request, client_address)


class HttpServer:
    """Serves `routes[path]` (a Response or a function of the Request); records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Request] = []
        self.default = Response(404, b"not found")
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                req = Request(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                              time.monotonic(), peer=self.client_address[:2])
                outer.requests.append(req)
                route = outer.routes.get(self.path.split("?")[0], outer.default)
                resp = route(req) if callable(route) else route
                if resp.delay:
                    time.sleep(resp.delay)
                # Recorded before the answer goes out: a client that has it may look at once (set after the write,
                # a test reading right after its last delivery could find that one still unanswered).
                req.status = resp.status
                try:
                    self.send_response(resp.status)
                    headers = {"Content-Length": str(len(resp.body)), **resp.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(resp.body)
                except OSError:  # the client gave up (a hanging answer): nothing was delivered
                    req.status = 0
                    self.close_connection = True

            do_GET = do_POST = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path.split("?")[0] == path]


class WebhookReceiver(HttpServer):
    """Stands in for Slack's webhook host and generic JSON webhooks: records POSTs, answers `ok`."""

    def __init__(self) -> None:
        super().__init__()
        self.default = Response(200, b"ok", {"Content-Type": "text/plain"})

    def posts(self, prefix: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.path.startswith(prefix)]

    def json_posts(self, prefix: str = "") -> list[dict[str, Any]]:
        return [json.loads(r.body) for r in self.posts(prefix)]

    def accepted(self, prefix: str = "") -> list[Request]:
        """POSTs answered with 2xx: the messages a real service would have shown."""
        return [r for r in self.posts(prefix) if 200 <= r.status < 300]


class _Collect:
    def __init__(self, sink: list[EmailMessage], quit_delay: float = 0.0) -> None:
        self.sink = sink
        self.quit_delay = quit_delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.sink.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        # A server that accepted the message and then stalls: the client times out after acceptance.
        if self.quit_delay:
            await asyncio.sleep(self.quit_delay)
        return "221 Bye"


class SmtpServer:
    """aiosmtpd on loopback; `messages` holds every accepted email, parsed."""

    def __init__(self, *, quit_delay: float = 0.0, port: int | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.port = port or free_port()
        self._handler = _Collect(self.messages, quit_delay)
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def url(self, to: str = "desk@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?from=monitor@example.org&to={to}&mode=insecure"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class InternalServer(HttpServer):
    """The recording server on 127.0.0.2: an address a public feed (or its articles) must never reach."""

    def __init__(self) -> None:
        super().__init__()
        handler = self._server.RequestHandlerClass
        self._server.server_close()
        self._server = type(self._server)(("127.0.0.2", 0), handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.2:{self.port}{path}"
