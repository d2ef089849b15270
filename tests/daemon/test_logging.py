"""Logs: secrets never appear, JSON off a terminal and console on one, level from the configuration."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import structlog
from structlog.testing import capture_logs

from monitor.runtime.logging import redact_processor, redact_rendered
from tests.support.configdir import write_config
from tests.support.daemonproc import ROOT, Daemon, GrowingFeed, daemon_settings, watchlist
from tests.support.servers import HttpServer, Response, WebhookReceiver

StartDaemon = Callable[..., Daemon]

SECRETS = ("hunter2pass", "SLACKTOKEN123", "xoxb-1234-abcd", "sk-live-9999")


def test_redaction_processor_masks_secret_keys_and_credentials_in_nested_values() -> None:
    log = structlog.get_logger("test")
    with capture_logs(processors=[redact_processor]) as logs:
        log.info("channel_failed", url="json://bot:hunter2pass@hooks.example.org/x",
                 password="hunter2pass", smtp_password="hunter2pass",
                 errors=["https://hooks.slack.com/services/T0/B0/SLACKTOKEN123", ("xoxb-1234-abcd",)],
                 context={"api_key": "sk-live-9999", "target": "mailto://u:hunter2pass@smtp.example.org"},
                 count=3)
    [event] = logs
    assert event["url"] == "json://bot:***@hooks.example.org/x"
    assert event["password"] == event["smtp_password"] == "***"
    assert event["context"]["api_key"] == "***"
    assert event["context"]["target"] == "mailto://u:***@smtp.example.org"
    assert event["errors"][0] == "https://hooks.slack.com/services/***"
    assert event["errors"][1] == ("xox*-***",)
    assert event["count"] == 3 and event["event"] == "channel_failed"
    assert not any(secret in repr(event) for secret in SECRETS)


def test_rendered_lines_are_redacted_too() -> None:
    """Tracebacks and reprs only exist after rendering; the last processor cleans the finished line."""
    line = 'Traceback ... ConnectError("json://bot:hunter2pass@127.0.0.1/hook")'
    assert redact_rendered(None, "error", line) == 'Traceback ... ConnectError("json://bot:***@127.0.0.1/hook")'


def test_a_call_below_the_level_is_dropped_and_a_level_change_applies_at_once(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The level check comes first in the chain (nothing is stamped or redacted for a dropped call), and the
    loggers cached on first use still follow a level set later (a reload)."""
    import logging

    from monitor.runtime import logging as logsetup

    handlers, level = logging.getLogger().handlers[:], logging.getLogger().level
    try:
        logsetup.configure("warning", "json")
        log = structlog.get_logger("monitor.test")
        log.info("quiet_event", n=1)
        log.warning("loud_event", n=2)
        logsetup.set_level("info")
        log.info("now_heard", n=3)
        logsetup.set_level("error")
        log.warning("quiet_again", n=4)
        events = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers[:] = handlers
        logging.getLogger().setLevel(level)
    assert events == ["loud_event", "now_heard"]


@pytest.mark.slow
def test_a_real_daemon_keeps_channel_secrets_out_of_its_log(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, start_daemon: StartDaemon) -> None:
    feed = GrowingFeed()
    feed.add("Alpha units reported near the border")
    feed_server.routes["/a.xml"] = feed
    webhook.routes["/hook"] = Response(500, b"down")  # the failure message is where apprise repeats URLs
    secret_url = f"json://bot:hunter2pass@127.0.0.1:{webhook.port}/hook?token=sk-live-9999"
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/a.xml"), "name": "A"}],
                          channels={"hook": {"urls": ["${HOOK_URL}"]}},
                          watchlists={"test": watchlist("alpha", channels=("hook",))},
                          settings=daemon_settings(log={"level": "debug", "format": "auto"}))
    daemon = start_daemon(config, env={"HOOK_URL": secret_url})
    failed = daemon.wait_for("alert_delivery_failed")
    assert "bot:***@127.0.0.1" in failed["error"]
    assert webhook.posts("/hook")  # really sent, with the credentials, to the receiver
    assert daemon.stop() == 0
    output = "".join(daemon.lines) + daemon.stderr()
    assert not any(secret in output for secret in SECRETS)
    # stdout is a pipe here, so "auto" means one JSON object per line, each with the contract's fields.
    for line in daemon.lines:
        event = json.loads(line)
        assert {"event", "level", "timestamp"} <= set(event)


@pytest.mark.slow
def test_console_format_on_a_terminal_and_level_from_config(tmp_path: Path, feed_server: HttpServer) -> None:
    feed_server.routes["/a.xml"] = GrowingFeed()
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/a.xml"), "name": "A"}],
                          watchlists={"test": watchlist("alpha")},
                          settings=daemon_settings(log={"level": "info", "format": "auto"}))
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)], cwd=ROOT, env=env,
                            stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary)
    os.close(secondary)
    try:
        seen = _read_until(primary, "daemon_started", timeout=30)
        proc.send_signal(signal.SIGTERM)
        seen += _read_until(primary, "daemon_stopped", timeout=30)  # keep reading: a full terminal blocks it
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        os.close(primary)
    line = next(x for x in seen.splitlines() if "daemon_started" in x)
    assert not line.lstrip().startswith("{")  # console renderer, not JSON
    assert "info" in line
    assert "Traceback" not in seen and "CancelledError" not in seen  # a clean stop is quiet

    # Level from config: at `warning`, info events are not written at all.
    (config / "monitor.yaml").write_text((config / "monitor.yaml").read_text().replace("level: info",
                                                                                      "level: warning"))
    quiet = subprocess.run([sys.executable, "-m", "monitor", "run", "--once", "--config", str(config)], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=60)
    assert quiet.returncode == 0, quiet.stderr
    assert "cycle_done" not in quiet.stdout and "feed_refreshed" not in quiet.stdout


def _read_until(fd: int, needle: str, timeout: float) -> str:
    out, deadline = b"", time.monotonic() + timeout
    while needle.encode() not in out:
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not seen on the terminal; got:\n{out.decode(errors='replace')}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                break
    return out.decode(errors="replace")
