"""Real channels on loopback: aiosmtpd for email, apprise's Slack plugin against an HTTP receiver,
a generic json:// webhook. Feed -> poll -> score -> outbox -> apprise -> receiver, nothing mocked
but Slack's public host (a class attribute pointed at the receiver)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from apprise.plugins.slack import NotifySlack

from tests.alerts.helpers import Setup, serve_feed, setup
from tests.support.servers import HttpServer, SmtpServer, WebhookReceiver

SLACK = "slack://T000AAA/B000BBB/SECRETTOKEN123"
HOSTILE = ("NATO war <!channel> <!here> <@U123> <http://evil.example|click> *bold* _it_ ~x~ `code` "
           "<script>alert(1)</script> & done\r\nBcc: victim@example.org")


@pytest.fixture
def slack_host(webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> WebhookReceiver:
    monkeypatch.setattr(NotifySlack, "webhook_url", webhook.url("/services"))
    return webhook


@pytest.fixture
def world(tmp_path: Path, feed_server: HttpServer, smtp: SmtpServer, slack_host: WebhookReceiver) -> Iterator[Setup]:
    url = serve_feed(feed_server, [("a1", "NATO prepares for nuclear war, officials say"), ("a2", "Weather is mild")])
    s = setup(tmp_path, url, {"desk-email": {"urls": [smtp.url()]}, "desk-slack": {"urls": [SLACK]},
                              "desk-hook": {"urls": [f"json://127.0.0.1:{slack_host.port}/hook"]}})
    yield s
    s.close()


def test_one_alert_reaches_email_slack_and_webhook_once(world: Setup, smtp: SmtpServer,
                                                        slack_host: WebhookReceiver) -> None:
    world.poll()
    stats = world.deliver()
    assert stats.delivered == 3 and stats.messages == 3
    (alert_id,) = [r[0] for r in world.rows("select id from alerts")]

    (mail,) = smtp.messages
    assert mail["Subject"] == "[CRITICAL] escalation: NATO prepares for nuclear war, officials say"
    assert mail["From"].endswith("monitor@example.org>") or "monitor@example.org" in mail["From"]
    assert mail["X-Monitor-Alerts"] == str(alert_id) and mail["X-Monitor-Send"]
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(preferencelist=("plain",)).get_content()
    rich = mail.get_body(preferencelist=("html",)).get_content()
    for body in (plain, rich):
        assert "NATO prepares for nuclear war" in body and "http://news.invalid/a/a1" in body
        assert "escalation" in body and "NATO" in body and "nuclear" in body
    assert '<a href="http://news.invalid/a/a1">' in rich

    (post,) = slack_host.accepted("/services/T000AAA/B000BBB/SECRETTOKEN123")
    blocks = json.loads(post.body)["attachments"][0]["blocks"]
    header = {"type": "plain_text", "text": "CRITICAL · escalation", "emoji": True}
    assert blocks[0] == {"type": "header", "text": header}
    section = blocks[1]["text"]
    assert section["type"] == "mrkdwn"
    lines = section["text"].splitlines()
    assert lines[0].startswith("*CRITICAL* · escalation · score ")
    assert lines[1] == "<http://news.invalid/a/a1|NATO prepares for nuclear war, officials say>"
    assert lines[2].startswith("Source: Wire · 2026-03-02 11:00 UTC")
    assert "Actors: NATO" in section["text"] and "keyword 'nuclear'" in section["text"]

    (hook,) = slack_host.accepted("/hook")
    payload = json.loads(hook.body)
    assert payload["title"].startswith("[CRITICAL] escalation: NATO prepares")
    assert "http://news.invalid/a/a1" in payload["message"]
    assert hook.headers["x-monitor-alerts"] == str(alert_id)

    assert world.rows("select status, count(*) from deliveries group by status") == [("delivered", 3)]
    assert world.rows("select outcome, count(*) from delivery_attempts group by outcome") == [("ok", 3)]
    # Nothing is sent twice: another cycle finds nothing due.
    assert world.deliver().messages == 0
    assert len(smtp.messages) == 1 and len(slack_host.posts()) == 2


def test_hostile_feed_title_arrives_as_literal_text(tmp_path: Path, feed_server: HttpServer, smtp: SmtpServer,
                                                    slack_host: WebhookReceiver) -> None:
    url = serve_feed(feed_server, [("h1", HOSTILE)])
    s = setup(tmp_path, url, {"desk-email": {"urls": [smtp.url()]}, "desk-slack": {"urls": [SLACK]},
                              "desk-hook": {"urls": [f"json://127.0.0.1:{slack_host.port}/hook"]}})
    try:
        s.poll()
        assert s.deliver().delivered == 3
    finally:
        s.close()
    flat = "NATO war <!channel> <!here> <@U123> <http://evil.example|click> *bold* _it_ ~x~ `code` " \
           "<script>alert(1)</script> & done Bcc: victim@example.org"
    (mail,) = smtp.messages
    assert mail["Subject"] == f"[WARNING] escalation: {flat}"
    assert mail["Bcc"] is None and "victim" not in str(mail.get("To"))  # CR/LF did not start a header
    rich = mail.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in rich and "&lt;script&gt;alert(1)&lt;/script&gt;" in rich
    assert flat in mail.get_body(preferencelist=("plain",)).get_content()

    section = json.loads(slack_host.accepted("/services")[0].body)["attachments"][0]["blocks"][1]["text"]["text"]
    assert re.findall(r"<[^>]*>", section) == [section.splitlines()[1]]  # the title link is the only <...>
    assert "<!channel>" not in section and "<@U123>" not in section and "*bold*" not in section
    shown = (section.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("\u2217", "*")
             .replace("\u02cd", "_").replace("\u223c", "~").replace("\u02cb", "`").replace("\u2223", "|"))
    assert flat in shown  # reads as written

    payload = json.loads(slack_host.accepted("/hook")[0].body)
    assert flat in payload["message"] and payload["title"] == f"[WARNING] escalation: {flat}"
