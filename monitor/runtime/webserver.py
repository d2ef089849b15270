"""uvicorn serving the console on its own thread and event loop.

Why a thread with its own loop: the probes keep answering while the daemon's loop is busy, so /healthz can report
a *stalled* loop (its heartbeat is old) instead of just timing out, and a slow page never delays a poll. uvicorn
installs no signal handlers off the main thread: the daemon keeps sole charge of SIGTERM and SIGHUP.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import structlog
import uvicorn

from monitor.config.settings import MIN_TOKEN
from monitor.core.urls import is_loopback_host
from monitor.errors import MonitorError
from monitor.runtime.console import build_app
from monitor.runtime.http import DaemonState

log = structlog.get_logger("monitor.runtime.webserver")


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket made with IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets whose protocol says
    TCP, and without it every small reply on a kept-alive connection waits ~40 ms for the client's delayed ACK."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class WebServer:
    """uvicorn serving `app` on a socket bound here, so a taken port is an error at start, naming http.listen."""

    def __init__(self, state: DaemonState, host: str, port: int) -> None:
        # Settings refuse these already (but read MONITOR_HTTP_TOKEN only with a listen address): checked here so
        # that no path opens the page to the network without a token, or with one short enough to guess.
        bearer = state.runtime().config.settings.http.bearer()
        if bearer is not None and len(bearer) < MIN_TOKEN:
            raise MonitorError(f"the page's token (MONITOR_HTTP_TOKEN) needs at least {MIN_TOKEN} characters")
        if bearer is None and not is_loopback_host(host):
            raise MonitorError(f"refusing to listen on {host}:{port} without a token: set MONITOR_HTTP_TOKEN")
        try:
            self._socket = _listen(host, port)
        except OSError as exc:
            raise MonitorError(f"cannot listen on {host}:{port} (http.listen): {exc.strerror}") from exc
        address = self._socket.getsockname()
        self.host, self.port = str(address[0]), int(address[1])
        config = uvicorn.Config(build_app(state), log_config=None, access_log=False, lifespan="off",
                                timeout_keep_alive=5, timeout_graceful_shutdown=2, server_header=False,
                                limit_concurrency=200, h11_max_incomplete_event_size=64 * 1024)
        # uvicorn tells its start and stop at INFO on a logger named "uvicorn.error": the daemon's own
        # http_listening and daemon_stopped lines say it already, and an ops search for "error" should not hit them.
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="http", daemon=True)

    def _serve(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except Exception:
            log.exception("http_server_failed")

    def start(self) -> None:
        self._thread.start()
        log.info("http_listening", address=f"{self.host}:{self.port}")

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._socket.close()
