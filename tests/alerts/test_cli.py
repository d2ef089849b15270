"""The operator's commands, as subprocesses: channels test, alerts list/show/retry, check without secrets."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.alerts.helpers import serve_feed, watchlist
from tests.conftest import run_monitor
from tests.support.configdir import write_config
from tests.support.servers import HttpServer, Response, WebhookReceiver

pytestmark = pytest.mark.slow


def test_channels_test_reports_each_url_and_keeps_tokens_out(tmp_path: Path, webhook: WebhookReceiver) -> None:
    webhook.routes["/down"] = Response(500, b"no")
    config = write_config(tmp_path / "config", channels={
        "team": {"urls": ["${SLACK_URL}", f"json://127.0.0.1:{webhook.port}/up"]},
        "broken": {"urls": [f"json://127.0.0.1:{webhook.port}/down"]}})
    env = {"SLACK_URL": "slack://T000AAA/B000BBB/SECRETTOKEN123"}
    ok = run_monitor("channels", "test", "team", "--config", str(config), env=env,
                     slack_base=webhook.url("/services"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count("ok  ") == 2 and "SECRETTOKEN123" not in ok.stdout + ok.stderr
    assert len(webhook.accepted("/services/T000AAA/B000BBB/SECRETTOKEN123")) == 1
    assert "Test message" in webhook.accepted("/up")[0].body.decode()

    bad = run_monitor("channels", "test", "broken", "--config", str(config), env=env)
    assert bad.returncode == 1 and "FAILED" in bad.stdout and "HTTP 500" in bad.stdout
    unknown = run_monitor("channels", "test", "nope", "--config", str(config), env=env)
    assert unknown.returncode == 2 and "team" in unknown.stderr


def test_failed_alert_is_listed_shown_and_retried(tmp_path: Path, feed_server: HttpServer,
                                                  webhook: WebhookReceiver) -> None:
    webhook.routes["/hook"] = Response(500, b"down")
    url = serve_feed(feed_server, [("r1", "NATO war alert")])
    config = write_config(tmp_path / "config", feeds=[{"url": url, "name": "Wire"}],
                          channels={"hook": {"urls": [f"json://127.0.0.1:{webhook.port}/hook"]}},
                          watchlists={"w": watchlist(["hook"])}, settings={"delivery": {"max_attempts": 1}})
    assert run_monitor("run", "--once", "--config", str(config)).returncode == 0
    listing = run_monitor("alerts", "list", "--status", "failed", "--config", str(config))
    assert "hook=failed" in listing.stdout and "HTTP" not in listing.stdout
    shown = run_monitor("alerts", "show", "1", "--config", str(config))
    assert shown.returncode == 0 and "failed" in shown.stdout and "error=500" in shown.stdout

    webhook.routes["/hook"] = Response(200, b"ok")
    usage = run_monitor("alerts", "retry", "--config", str(config))
    assert usage.returncode == 2
    missing = run_monitor("alerts", "retry", "9999", "--config", str(config))  # like `alerts show 9999`
    assert missing.returncode == 2 and "no alert 9999" in missing.stderr and "queued" not in missing.stdout
    queued = run_monitor("alerts", "retry", "1", "--config", str(config))
    assert "1 failed delivery queued again" in queued.stdout and webhook.accepted("/hook") == []
    # queued already, so nothing to queue again, but --send still sends what is pending
    retried = run_monitor("alerts", "retry", "1", "--send", "--config", str(config))
    assert retried.returncode == 0, retried.stderr
    assert "0 failed deliveries queued again" in retried.stdout and "delivered 1" in retried.stdout
    assert len(webhook.accepted("/hook")) == 1
    listing = run_monitor("alerts", "list", "--config", str(config))
    assert "hook=delivered" in listing.stdout


def test_check_never_prints_secrets(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config", channels={"bad": {"urls": ["nosuchscheme://admin:${PW}@host/x"]}})
    result = run_monitor("check", "--config", str(config), env={"PW": "hunter2secret"})
    assert result.returncode == 2
    assert "hunter2secret" not in result.stdout + result.stderr and "channels.bad.urls[0]" in result.stderr


def test_failing_slack_channel_keeps_its_token_out_of_logs_and_the_database(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver) -> None:
    webhook.default = Response(500, b"internal_error")
    url = serve_feed(feed_server, [("s1", "NATO war alert")])
    config = write_config(tmp_path / "config", feeds=[{"url": url, "name": "Wire"}],
                          channels={"team": {"urls": ["${SLACK_URL}"]}}, watchlists={"w": watchlist(["team"])},
                          settings={"log": {"level": "debug", "format": "json"}})
    env = {"SLACK_URL": "https://hooks.slack.com/services/T000AAA/B000BBB/SECRETTOKEN123"}
    result = run_monitor("run", "--once", "--config", str(config), env=env, slack_base=webhook.url("/services"))
    assert result.returncode == 0 and "alert_delivery_failed" in result.stdout
    assert "SECRETTOKEN123" not in result.stdout + result.stderr
    with sqlite3.connect(config / "monitor.db") as db:
        stored = " ".join(str(v) for row in db.execute("select last_error from deliveries union all "
                                                       "select error from delivery_attempts") for v in row)
    assert "500" in stored and "SECRETTOKEN123" not in stored
