"""Links in alert messages (issue 17): with http.public_url every message links to its story page and carries
signed one-click useful / noise / snooze links; without it, messages are as they were. Through the real delivery
path: a feed on loopback, the real database, email to a loopback SMTP server, Slack and a JSON webhook on a
loopback receiver."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apprise.plugins.slack import NotifySlack

from alerts.render import Renderer
from monitor.core.links import KEY_NAME, LinkError, alert_links, read_token
from monitor.domain import AlertMessage, Severity
from monitor.store.secrets import app_secret
from tests.alerts.helpers import Setup, serve_feed, watchlist
from tests.support.configdir import write_config
from tests.support.db import query
from tests.support.servers import HttpServer, SmtpServer, WebhookReceiver

BASE = "https://desk.example.org/monitor"
SLACK = "slack://T000AAA/B000BBB/SECRETTOKEN123"
LINK = re.compile(r"https://desk\.example\.org/monitor/l/(useful|noise|snooze)/([A-Za-z0-9_.\-]+)")


def _world(tmp_path: Path, feed_server: HttpServer, smtp: SmtpServer, webhook: WebhookReceiver,
           database_url: str, public_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Setup:
    monkeypatch.setattr(NotifySlack, "webhook_url", webhook.url("/services"))
    url = serve_feed(feed_server, [("a1", "NATO prepares for nuclear war, officials say")])
    http = {"enabled": False, **({"public_url": public_url} if public_url else {})}
    config = write_config(tmp_path / "config", feeds=[{"url": url, "name": "Wire", "tags": ["world"]}],
                          channels={"mail": {"urls": [smtp.url()]}, "slack": {"urls": [SLACK]},
                                    "hook": {"urls": [f"json://127.0.0.1:{webhook.port}/hook"]}},
                          watchlists={"escalation": watchlist(["mail", "slack", "hook"])},
                          settings={"http": http, "delivery": {"timeout": "2s", "lease": "1s"}},
                          database=database_url)
    return Setup(config)


@pytest.fixture
def linked(tmp_path: Path, feed_server: HttpServer, smtp: SmtpServer, webhook: WebhookReceiver,
           database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    s = _world(tmp_path, feed_server, smtp, webhook, database_url, BASE + "/", monkeypatch)  # the slash goes
    yield s
    s.close()


def _bodies(smtp: SmtpServer, webhook: WebhookReceiver) -> dict[str, str]:
    (mail,) = smtp.messages
    (slack,) = webhook.accepted("/services/")
    (hook,) = webhook.accepted("/hook")
    plain, html = mail.get_body(preferencelist=("plain",)), mail.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    return {"plain": plain.get_content(), "html": html.get_content(),
            "slack": json.loads(slack.body)["attachments"][0]["blocks"][1]["text"]["text"],
            "hook": json.loads(hook.body)["message"]}


def test_every_format_links_the_story_page_and_signed_one_click_actions(
        linked: Setup, smtp: SmtpServer, webhook: WebhookReceiver, database_url: str) -> None:
    linked.poll()
    assert linked.deliver().delivered == 3
    ((alert_id, story_id),) = query(database_url, "select id, story_id from alerts")
    page = f"{BASE}/stories/{story_id}"
    bodies = _bodies(smtp, webhook)
    assert f"Open in the console: {page}" in bodies["hook"]
    assert f'<a href="{page}">Open in the console</a>' in bodies["html"] and page in bodies["plain"]
    assert f"<{page}|Open in the console>" in bodies["slack"]
    assert "|Useful>" in bodies["slack"] and "|Snooze 24h>" in bodies["slack"]
    key = app_secret(linked.rt.engine, KEY_NAME)
    found = LINK.findall(bodies["hook"])
    assert sorted(action for action, _ in found) == ["noise", "snooze", "useful"]
    for action, token in found:
        claim = read_token(key, token, action)
        assert (claim.alert_id, claim.action) == (alert_id, action)
        for other in {"useful", "noise", "snooze"} - {action}:
            with pytest.raises(LinkError):
                read_token(key, token, other)  # single-purpose
    assert len({token for _, token in found}) == 3
    assert {a for a, _ in LINK.findall(bodies["html"])} == {"useful", "noise", "snooze"}


def test_without_a_public_url_messages_carry_no_links(
        tmp_path: Path, feed_server: HttpServer, smtp: SmtpServer, webhook: WebhookReceiver, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    s = _world(tmp_path, feed_server, smtp, webhook, database_url, None, monkeypatch)
    try:
        s.poll()
        assert s.deliver().delivered == 3
        for body in _bodies(smtp, webhook).values():
            assert "console" not in body and "/l/" not in body and "Useful" not in body
        assert query(database_url, "select count(*) from app_secrets") == [(0,)]  # no key made for nothing
    finally:
        s.close()


def _message(alert_id: int, story: str | None, *, key: str = "k" * 40) -> AlertMessage:
    return AlertMessage(alert_id=alert_id, watchlist="escalation", severity=Severity.WARNING, score=6.0,
                        title=f"Alert {alert_id}", link="http://news.invalid/a", feed="Wire",
                        published=datetime(2026, 3, 2, tzinfo=UTC), links=alert_links(BASE, key, alert_id, story))


def test_an_alert_about_no_story_links_its_own_page_and_cannot_be_snoozed() -> None:
    rendered = Renderer().alert(_message(41, None))
    assert f"Open in the console: {BASE}/alerts/41" in rendered.text
    assert "Useful: " in rendered.text and "Noise: " in rendered.text and "Snooze" not in rendered.text


def test_story_ids_are_quoted_in_the_page_url() -> None:
    links = alert_links(BASE, "k" * 40, 5, "url:ab/c?d")
    assert links.page == f"{BASE}/stories/url%3Aab%2Fc%3Fd"


def test_summaries_link_each_alert_to_its_page_where_the_format_has_room() -> None:
    rendered = Renderer().summary([_message(1, "s1"), _message(2, None)], "digest")
    assert f"console: {BASE}/stories/s1" in rendered.text and f"console: {BASE}/alerts/2" in rendered.text
    assert f'<a href="{BASE}/stories/s1">open in the console</a>' in rendered.html
    assert "/l/" not in rendered.text + rendered.html  # one-click actions only in a message about one alert
    assert BASE not in rendered.slack  # a Slack summary names alerts in one short line each


def test_a_page_url_that_is_not_http_is_not_linked() -> None:
    message = _message(3, "s1")
    hostile = AlertMessage(**{**{f: getattr(message, f) for f in message.__dataclass_fields__},
                              "links": alert_links("javascript:alert(1)//", "k" * 40, 3, "s1")})
    rendered = Renderer().alert(hostile)
    assert "javascript" not in rendered.text + rendered.html + rendered.slack
