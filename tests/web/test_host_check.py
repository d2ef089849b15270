"""The page and the API answer only to the names they are known by, and ask for the token when there is one; a
listen address beyond loopback without a token is refused (issue 16, row 9). The daemon runs as a subprocess and
every request is real HTTP on loopback, with the Host header a browser led by a hostile page would send.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from monitor.config import HttpSettings
from monitor.runtime.access import PROBES, host_refusal
from tests.conftest import run_monitor
from tests.support.configdir import write_config
from tests.support.daemonproc import Daemon, daemon_settings
from tests.support.servers import free_port

TOKEN = "s3cret-token-0123456789"
PAGES = ("/", "/api/feeds", "/api/alerts", "/nowhere")


def get(port: int, path: str, *, host: str | None = None, token: str | None = None,
        scheme: str = "Bearer") -> tuple[int, Message, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": host or f"127.0.0.1:{port}"}
    if token is not None:
        headers["Authorization"] = f"{scheme} {token}"
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()


def start(tmp_path: Path, http: dict[str, object], env: dict[str, str] | None = None) -> tuple[Daemon, int]:
    port = free_port()
    settings = daemon_settings(port=port)
    settings["http"] = {**settings["http"], **http}
    daemon = Daemon(write_config(tmp_path / "config", settings=settings), env=env)
    daemon.wait_for("http_listening")
    return daemon, port


@pytest.fixture
def open_daemon(tmp_path: Path) -> Iterator[int]:
    daemon, port = start(tmp_path, {"allowed_hosts": ["monitor.example.org"]})
    yield port
    daemon.stop()


@pytest.fixture
def token_daemon(tmp_path: Path) -> Iterator[int]:
    daemon, port = start(tmp_path, {}, env={"MONITOR_HTTP_TOKEN": TOKEN})
    yield port
    daemon.stop()


@pytest.mark.slow
def test_a_foreign_host_is_refused_and_known_names_are_served(open_daemon: int) -> None:
    port = open_daemon
    for path in PAGES:
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "monitor.example.org.evil"):
            status, _headers, body = get(port, path, host=host)
            assert status == 421, (path, host)
            assert b"evil" not in body  # the refusal does not echo what it was sent
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "MONITOR.example.org", "localhost."):
        assert get(port, "/api/feeds", host=host)[0] == 200, host
    status, headers, _ = get(port, "/", host=f"monitor.example.org:{port}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")


@pytest.mark.slow
def test_probes_answer_any_host_without_a_token(open_daemon: int, token_daemon: int) -> None:
    for port in (open_daemon, token_daemon):
        assert get(port, "/healthz", host="10.0.0.7:8787")[0] == 200
        assert get(port, "/metrics", host="monitor:8787")[0] == 200
        assert get(port, "/readyz", host="evil.example")[0] in (200, 503)  # ready or not: answered


@pytest.mark.slow
def test_a_request_without_host_is_refused(open_daemon: int) -> None:
    with socket.create_connection(("127.0.0.1", open_daemon), timeout=10) as sock:
        sock.sendall(b"GET /api/feeds HTTP/1.0\r\n\r\n")
        answer = sock.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.0 400") or answer.startswith(b"HTTP/1.1 400"), answer[:80]


@pytest.mark.slow
def test_the_token_is_asked_of_the_page_and_the_api(token_daemon: int) -> None:
    port = token_daemon
    for path in PAGES[:-1]:  # an unknown path is a 404 before any question of who asks
        status, headers, body = get(port, path)
        assert (status, headers.get("WWW-Authenticate")) == (401, 'Bearer realm="monitor"'), path
        assert TOKEN.encode() not in body
        assert get(port, path, token="s3cret-token-wrong-guess")[0] == 401
        assert get(port, path, token=TOKEN, scheme="Basic")[0] == 401
        assert get(port, path, token=TOKEN, host="evil.example")[0] == 421  # the token does not stand for the Host
    assert get(port, "/nowhere", token=TOKEN)[0] == 404
    status, _headers, body = get(port, "/api/feeds", token=TOKEN)
    assert status == 200 and json.loads(body) == {"feeds": []}
    assert get(port, "/", token=TOKEN, scheme="bearer")[0] == 200


def test_a_network_listen_address_needs_a_token(tmp_path: Path) -> None:
    exposed = write_config(tmp_path / "exposed", settings={"http": {"enabled": True, "listen": "0.0.0.0:8787"}})
    for command in ("check", "run"):
        result = run_monitor(command, "--config", str(exposed), *(("--once",) if command == "run" else ()))
        assert result.returncode == 2, result
        problem = f"{exposed / 'monitor.yaml'}:"
        assert problem in result.stdout + result.stderr
        assert "http.listen: 0.0.0.0:8787 is reachable from other machines: set MONITOR_HTTP_TOKEN" in (
            result.stdout + result.stderr)
    assert run_monitor("check", "--config", str(exposed), env={"MONITOR_HTTP_TOKEN": TOKEN}).returncode == 0

    loopback = write_config(tmp_path / "loopback", settings={"http": {"enabled": True}})
    result = run_monitor("check", "--config", str(loopback), env={"MONITOR_HTTP_LISTEN": "[::]:9100"})
    assert result.returncode == 2
    assert "$MONITOR_HTTP_LISTEN: listen: [::]:9100 is reachable" in result.stdout + result.stderr
    disabled = write_config(tmp_path / "off", settings={"http": {"enabled": False, "listen": "0.0.0.0:8787"}})
    assert run_monitor("check", "--config", str(disabled)).returncode == 0


def test_short_tokens_are_refused(tmp_path: Path) -> None:
    short = write_config(tmp_path / "short", settings={"http": {"enabled": True, "token": "hunter2"}})
    result = run_monitor("check", "--config", str(short))
    assert result.returncode == 2
    assert "monitor.yaml:6: http.token: a token needs at least 16 characters" in result.stdout + result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    port = free_port()
    config = write_config(tmp_path / "env", settings=daemon_settings(port=port))
    daemon = Daemon(config, env={"MONITOR_HTTP_TOKEN": "hunter2"})
    try:
        assert daemon.proc.wait(60) != 0
        assert "MONITOR_HTTP_TOKEN needs at least 16 characters" in "".join(daemon.lines) + daemon.stderr()
    finally:
        daemon.stop()


@pytest.mark.parametrize(("listen", "allowed", "host", "served"), [
    ("127.0.0.1:8787", (), "127.0.0.1:8787", True),
    ("127.0.0.1:8787", (), "[::1]:8787", True),
    ("127.0.0.1:8787", (), "attacker.example", False),
    ("0.0.0.0:8787", (), "0.0.0.0:8787", False),  # a wildcard is no name
    ("0.0.0.0:8787", ("monitor.example.org",), "monitor.example.org:443", True),
    ("10.1.2.3:8787", (), "10.1.2.3:8787", True),
    ("[fd00::5]:8787", (), "[fd00::5]:8787", True),
])
def test_served_names(listen: str, allowed: tuple[str, ...], host: str, served: bool) -> None:
    http = HttpSettings(listen=listen, allowed_hosts=allowed, token=TOKEN)
    reply = host_refusal(http, "/api/feeds", host)
    assert (reply is None) is served, reply
    assert all(host_refusal(http, probe, host) is None for probe in PROBES)


def test_allowed_hosts_are_names_without_ports() -> None:
    with pytest.raises(ValueError, match="without a port"):
        HttpSettings(allowed_hosts=("monitor.example.org:8787",))
    with pytest.raises(ValueError, match="without a port"):
        HttpSettings(allowed_hosts=("https://monitor.example.org",))
