"""Health, metrics, JSON and the read-only page over the standard library's threaded HTTP server.

Why not an async framework: aiohttp is not a dependency, and starlette+uvicorn would add two packages
and a second owner of the process's signals for five read-only routes. A threaded server also keeps
answering while the event loop is busy, so /healthz can report a *stalled* loop (its heartbeat is old)
instead of just timing out. Handlers only read: daemon state through callables, the database
through their own sessions.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from monitor.config.settings import MIN_TOKEN, HttpSettings
from monitor.core.urls import is_loopback_host
from monitor.errors import MonitorError
from monitor.runtime.metrics import Metrics
from monitor.usecases.context import Runtime
from monitor.web import queries
from monitor.web.page import render_index

log = structlog.get_logger("monitor.runtime.http")

LOOP_STALL = 15.0  # seconds without an event-loop heartbeat before /healthz fails
_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@dataclass
class DaemonState:
    """What the daemon shows the web server. Written on the event loop, read from the server's threads."""

    runtime: Callable[[], Runtime]
    scheduler_running: Callable[[], bool]
    last_cycle_at: Callable[[], float | None]  # time.monotonic() of the last poll tick
    metrics: Metrics
    stopping: bool = False
    loop_beat_at: float = field(default_factory=time.monotonic)

    def cycle_budget(self) -> float:
        """How old the last poll tick may be before the daemon is not ready: a few ticks, at least 30 s."""
        return max(3 * self.runtime().config.settings.polling.tick, 30.0)


Reply = tuple[int, str, bytes, dict[str, str]]


def _json(status: int, data: Any) -> Reply:
    body = json.dumps(data, ensure_ascii=False, default=str).encode()
    return status, "application/json; charset=utf-8", body, {}


def healthz(state: DaemonState, _query: dict[str, list[str]]) -> Reply:
    age = time.monotonic() - state.loop_beat_at
    if age > LOOP_STALL:
        return _json(503, {"status": "stalled", "loop_beat_age": round(age, 1)})
    return _json(200, {"status": "ok", "stopping": state.stopping})


def readyz(state: DaemonState, _query: dict[str, list[str]]) -> Reply:
    checks: dict[str, Any] = {}
    try:
        with state.runtime().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    checks["scheduler"] = "running" if state.scheduler_running() else "stopped"
    last = state.last_cycle_at()
    age = None if last is None else round(time.monotonic() - last, 1)
    checks["last_cycle_age"] = age
    checks["stopping"] = state.stopping
    cpu = state.runtime().cpu
    stuck = cpu.stuck_for() if cpu is not None else 0.0
    checks["workers"] = f"stuck for {stuck:.0f} s" if stuck else "ok"  # until the job ends or is killed
    ready = (checks["database"] == "ok" and checks["scheduler"] == "running" and not state.stopping
             and age is not None and age <= state.cycle_budget() and not stuck)
    return _json(200 if ready else 503, {"status": "ready" if ready else "not ready", "checks": checks})


def metrics(state: DaemonState, _query: dict[str, list[str]]) -> Reply:
    return 200, CONTENT_TYPE_LATEST, generate_latest(state.metrics.registry), {}


def _limit(query: dict[str, list[str]], default: int = 50) -> int:
    try:
        return max(1, min(500, int(query.get("limit", [str(default)])[0])))
    except ValueError:
        return default


def api_alerts(state: DaemonState, query: dict[str, list[str]]) -> Reply:
    status = query.get("status", [None])[0]
    if status is not None and status not in queries.ALERT_STATUSES:
        return _json(400, {"error": f"status must be one of {', '.join(queries.ALERT_STATUSES)}"})
    return _json(200, {"alerts": queries.alerts(state.runtime().engine, status=status, limit=_limit(query))})


def api_feeds(state: DaemonState, _query: dict[str, list[str]]) -> Reply:
    return _json(200, {"feeds": queries.feeds(state.runtime().engine)})


def index(state: DaemonState, _query: dict[str, list[str]]) -> Reply:
    engine, now = state.runtime().engine, datetime.now(UTC)
    html = render_index({"now": now.isoformat(), "feeds": queries.feeds(engine),
                         "alerts": queries.alerts(engine, limit=20), "top": queries.top_items(engine, now)})
    return 200, "text/html; charset=utf-8", html.encode(), {"Content-Security-Policy": _PAGE_CSP}


ROUTES: dict[str, Callable[[DaemonState, dict[str, list[str]]], Reply]] = {
    "/": index, "/healthz": healthz, "/readyz": readyz, "/metrics": metrics,
    "/api/alerts": api_alerts, "/api/feeds": api_feeds,
}
# Open to any Host and without the token: kubelets and load balancers probe by IP address, Prometheus scrapes by
# its target's name, and none of them hold a token; what they show is counts and states, no feed content.
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


def refusal(http: HttpSettings, path: str, host: str | None, authorization: str | None) -> Reply | None:
    """Why the page or the API must not answer, or None. A Host this server is not known by is a browser led here
    by a hostile page (DNS rebinding), and the token, when there is one, is asked of every client."""
    if path in PROBES:
        return None
    name = _host_name(host or "")
    if not name:
        return _json(400, {"error": "a Host header is required"})
    if name not in http.served_names():
        return _json(421, {"error": "unknown Host: name it in http.allowed_hosts to reach the page by it"})
    token = http.bearer()
    scheme, _, given = (authorization or "").strip().partition(" ")
    if token is not None and not (scheme.lower() == "bearer"
                                  and hmac.compare_digest(given.strip().encode(), token.encode())):
        status, ctype, body, _ = _json(401, {"error": "a bearer token is required (Authorization: Bearer ...)"})
        return status, ctype, body, {"WWW-Authenticate": 'Bearer realm="monitor"'}
    return None


def _host_name(header: str) -> str:
    """`example.org:8787` -> example.org, `[::1]:8787` -> ::1; lower case, no trailing dot."""
    header = header.strip().lower()
    if header.startswith("["):
        name = header[1:header.find("]")] if "]" in header else ""
    else:
        name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
    return name.rstrip(".")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a hung client never holds up shutdown
    allow_reuse_address = True


class WebServer:
    def __init__(self, state: DaemonState, host: str, port: int) -> None:
        # Settings refuse these already (but read MONITOR_HTTP_TOKEN only with a listen address): checked here so
        # that no path opens the page to the network without a token, or with one short enough to guess.
        bearer = state.runtime().config.settings.http.bearer()
        if bearer is not None and len(bearer) < MIN_TOKEN:
            raise MonitorError(f"the page's token (MONITOR_HTTP_TOKEN) needs at least {MIN_TOKEN} characters")
        if bearer is None and not is_loopback_host(host):
            raise MonitorError(f"refusing to listen on {host}:{port} without a token: set MONITOR_HTTP_TOKEN")
        handler = type("Handler", (_Handler,), {"state": state})
        try:
            self._server = _Server((host, port), handler)
        except OSError as exc:
            raise MonitorError(f"cannot listen on {host}:{port} (http.listen): {exc.strerror}") from exc
        address = self._server.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("http_listening", address=f"{self.host}:{self.port}")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    state: DaemonState
    timeout = 10  # per connection: a client that sends nothing does not keep a thread forever
    server_version = "escalation-monitor"

    def do_GET(self) -> None:
        self._reply(send_body=True)

    def do_HEAD(self) -> None:
        self._reply(send_body=False)

    def _reply(self, *, send_body: bool) -> None:
        url = urlsplit(self.path)
        route = ROUTES.get(url.path)
        try:
            refused = refusal(self.state.runtime().config.settings.http, url.path, self.headers.get("Host"),
                              self.headers.get("Authorization"))
            status, ctype, body, headers = refused or (route(self.state, parse_qs(url.query)) if route
                                                       else _json(404, {"error": "not found"}))
        except Exception:
            log.exception("http_handler_failed", path=url.path)
            status, ctype, body, headers = _json(500, {"error": "internal error"})
        self.send_response(status)
        for key, value in {"Content-Type": ctype, "Content-Length": str(len(body)), "Cache-Control": "no-store",
                           "X-Content-Type-Options": "nosniff", **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # probes every few seconds would drown the log; failures are logged above

    def version_string(self) -> str:
        return self.server_version
