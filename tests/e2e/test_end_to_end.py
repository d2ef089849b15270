"""The whole service, no mocks in the path: loopback feed, real SMTP, real HTTP receiver for Slack."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_monitor
from tests.support.configdir import write_config
from tests.support.db import query, scalar
from tests.support.servers import HttpServer, Response, SmtpServer, WebhookReceiver

pytestmark = pytest.mark.slow

SEED_TITLE = "Urgent Warnings: NATO Prepares for Imminent Russia-West Conflict as Tensions Reach Crisis Point"


def _setup(tmp_path: Path, feed_server: HttpServer, channels: dict[str, dict[str, list[str]]], database: str) -> Path:
    feed_server.routes["/world.xml"] = Response(200, (ROOT / "seeds" / "demo-feed.xml").read_bytes(),
                                                {"Content-Type": "application/rss+xml; charset=utf-8"})
    config = write_config(
        tmp_path / "config",
        feeds=[{"url": feed_server.url("/world.xml"), "name": "World Desk", "tags": ["world"]}],
        channels=channels, shipped_watchlists=True, database=database,
        settings={"delivery": {"backoff": "1s", "max_attempts": 3}},
    )
    # The shipped watchlist notifies `console`; these tests route it to the real channels instead.
    path = config / "watchlists" / "russia-nato.yaml"
    text = path.read_text(encoding="utf-8")
    names = ", ".join(channels)
    path.write_text(text.replace("channels: [console]", f"channels: [{names}]"), encoding="utf-8")
    return config


def test_seed_article_alerts_once_by_email_and_slack(tmp_path: Path, feed_server: HttpServer, smtp: SmtpServer,
                                                      webhook: WebhookReceiver, database_url: str) -> None:
    config = _setup(tmp_path, feed_server, {
        "desk-email": {"urls": [smtp.url()]},
        "desk-slack": {"urls": ["slack://T000AAA/B000BBB/SECRETTOKEN123"]},
    }, database_url)
    first = run_monitor("run", "--once", "--config", str(config), slack_base=webhook.url("/services"))
    assert first.returncode == 0, first.stderr + first.stdout

    assert len(smtp.messages) == 1, first.stdout
    mail = smtp.messages[0]
    assert SEED_TITLE in mail["Subject"]
    assert "russia-nato" in mail["Subject"] and "CRITICAL" in mail["Subject"].upper()
    body = mail.get_body(preferencelist=("html", "plain")).get_content()
    assert "http://demo.invalid/world/nato-russia-imminent-conflict" in body
    for expected in ("Mark Rutte", "Sergei Lavrov", "Vladimir Putin", "NATO"):
        assert expected in body, expected

    posts = webhook.posts("/services/T000AAA/B000BBB/SECRETTOKEN123")
    assert len(posts) == 1
    payload = json.loads(posts[0].body)
    slack_text = json.dumps(payload, ensure_ascii=False)
    assert "russia-nato" in slack_text and "Imminent" in slack_text
    assert "demo.invalid/world/nato-russia-imminent-conflict" in slack_text
    assert "Mark Rutte" in slack_text and "critical" in slack_text.lower()

    # The token never reaches the logs.
    assert "SECRETTOKEN123" not in first.stdout + first.stderr

    assert scalar(database_url, "select count(*) from items") == 5
    assert query(database_url, "select count(*), min(status) from alerts") == [(1, "delivered")]
    assert scalar(database_url, "select count(*) from deliveries where status='delivered'") == 2

    second = run_monitor("run", "--once", "--config", str(config), slack_base=webhook.url("/services"))
    assert second.returncode == 0, second.stderr
    assert len(smtp.messages) == 1
    assert len(webhook.posts("/services")) == 1
    assert scalar(database_url, "select count(*) from alerts") == 1


def test_channels_down_keep_the_alert_recorded_as_not_delivered(tmp_path: Path, feed_server: HttpServer,
                                                                 webhook: WebhookReceiver, database_url: str) -> None:
    from tests.support.servers import free_port

    webhook.routes["/hook"] = Response(500, b"boom")
    refused = f"mailto://127.0.0.1:{free_port()}?from=monitor@example.org&to=desk@example.org&mode=insecure"
    config = _setup(tmp_path, feed_server, {
        "desk-email": {"urls": [refused]},
        "desk-hook": {"urls": [f"json://127.0.0.1:{webhook.port}/hook"]},
    }, database_url)
    result = run_monitor("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr + result.stdout
    assert len(webhook.posts("/hook")) >= 1  # it was really tried
    assert scalar(database_url, "select count(*) from items") == 5
    assert query(database_url, "select status from alerts") == [("pending",)]
    rows = dict(query(database_url, "select channel, last_error from deliveries where status='pending'"))
    assert set(rows) == {"desk-email", "desk-hook"}
    assert all(rows.values()), rows  # the reason is recorded per channel

    listing = run_monitor("alerts", "list", "--config", str(config))
    assert listing.returncode == 0 and "desk-hook=pending" in listing.stdout


def test_demo_prints_the_seed_alert() -> None:
    result = run_monitor("demo", timeout=120)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "1 alert(s)" in result.stdout
    assert SEED_TITLE in result.stdout
    assert "Award-winning" not in result.stdout.split("alert(s)")[1]
