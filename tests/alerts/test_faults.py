"""Channels that fail, and the outbox riding it out: retries with backoff, Retry-After, hangs,
servers that accept and then stall, fallbacks. The clock is the test's; the network is real."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from tests.alerts.helpers import START, serve_feed, setup
from tests.support.servers import HttpServer, Response, Sequenced, SmtpServer, WebhookReceiver, free_port

ONE = [("a1", "NATO says war is near")]


def test_smtp_refusing_connections_then_recovering_delivers_once(tmp_path: Path, feed_server: HttpServer) -> None:
    port = free_port()  # nothing listens here yet: connection refused
    s = setup(tmp_path, serve_feed(feed_server, ONE), {"mail": {"urls": [
        f"mailto://127.0.0.1:{port}?from=monitor@example.org&to=desk@example.org&mode=insecure"]}})
    try:
        s.poll()
        assert s.deliver().retrying == 1
        (error,) = s.rows("select last_error from deliveries")[0]
        assert error  # the reason is kept
        smtp = SmtpServer(port=port).start()
        try:
            s.clock.advance(2)  # the first retry is due within backoff (1s) .. 2 x backoff
            assert s.deliver().delivered == 1
            s.clock.advance(60)
            assert s.deliver().messages == 0
            assert len(smtp.messages) == 1
        finally:
            smtp.stop()
        assert s.rows("select outcome from delivery_attempts order by id") == [("failed",), ("ok",)]
    finally:
        s.close()


def test_webhook_500_then_429_then_hang_then_recovers_without_duplicates(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver) -> None:
    webhook.routes["/hook"] = Sequenced(
        Response(500, b"boom"),
        Response(429, b"slow down", {"Retry-After": "120"}),
        Response(200, b"ok", delay=4.0),  # hangs past the 2 s timeout: the client gives up, nothing delivered
        Response(200, b"ok"),
    )
    s = setup(tmp_path, serve_feed(feed_server, ONE), {"hook": {"urls": [f"json://127.0.0.1:{webhook.port}/hook"]}})
    try:
        s.poll()
        s.deliver()  # 500
        due_at = _next_attempt(s)
        assert due_at > s.clock.now
        s.clock.now = due_at
        s.deliver()  # 429, Retry-After: 120
        assert _next_attempt(s) >= s.clock.now + timedelta(seconds=120)
        s.clock.advance(60)
        assert s.deliver().messages == 0 and len(webhook.posts("/hook")) == 2  # Retry-After is honoured
        s.clock.now = _next_attempt(s)
        s.deliver()  # hangs, times out
        s.clock.now = _next_attempt(s)
        assert s.deliver().delivered == 1
        s.clock.advance(3600)
        assert s.deliver().messages == 0
    finally:
        s.close()
    assert len(webhook.posts("/hook")) == 4
    assert len(webhook.accepted("/hook")) == 1  # exactly one message reached the service
    attempts = s.rows("select outcome, error from delivery_attempts order by id")
    assert [a[0] for a in attempts] == ["failed", "rate_limited", "failed", "ok"]
    assert "500" in attempts[0][1] and "429" in attempts[1][1]
    assert s.rows("select http_status, retry_after from sends order by id")[:2] == [(500, None), (429, 120.0)]


def _next_attempt(s: object) -> datetime:
    (value,) = s.rows("select next_attempt_at from deliveries")[0]  # type: ignore[attr-defined]
    return datetime.fromisoformat(value).replace(tzinfo=START.tzinfo)


def test_smtp_accepted_then_stalled_is_not_sent_again(tmp_path: Path, feed_server: HttpServer) -> None:
    """The server says 250 to the message, then never answers QUIT: the client times out after the
    message was accepted. That is a delivery, and it must not be repeated."""
    smtp = SmtpServer(quit_delay=6.0).start()
    s = setup(tmp_path, serve_feed(feed_server, ONE), {"mail": {"urls": [smtp.url()]}})
    try:
        s.poll()
        assert s.deliver().delivered == 1
        s.clock.advance(3600)
        assert s.deliver().messages == 0
        assert len(smtp.messages) == 1
    finally:
        s.close()
        smtp.stop()


def test_a_channel_failing_for_long_hands_alerts_to_its_fallback(tmp_path: Path, feed_server: HttpServer,
                                                                 webhook: WebhookReceiver) -> None:
    webhook.routes["/primary"] = Response(503, b"down")
    hook = f"json://127.0.0.1:{webhook.port}"
    s = setup(tmp_path, serve_feed(feed_server, ONE), {
        "primary": {"urls": [f"{hook}/primary"], "fallback": {"channel": "backup", "after": "5m"}},
        "backup": {"urls": [f"{hook}/backup"]},
    }, delivery={"max_attempts": 50})
    # The watchlist notifies both; this test is about the primary, so the backup starts with nothing of its own.
    try:
        s.poll()
        s.rows("delete from deliveries where channel = 'backup'")
        for _ in range(12):  # retries back off (1 s doubling, capped at 10 s); 5 minutes of failure
            s.clock.advance(30)
            s.deliver()
        statuses = dict(s.rows("select channel, status from deliveries"))
        assert statuses == {"primary": "rerouted", "backup": "delivered"}
        assert len(webhook.accepted("/backup")) == 1
        (via,) = s.rows("select via from deliveries where channel = 'backup'")[0]
        assert via == "primary"
        assert s.rows("select status from alerts") == [("delivered",)]
    finally:
        s.close()


def test_multi_url_channel_retries_only_the_url_that_failed(tmp_path: Path, feed_server: HttpServer,
                                                            webhook: WebhookReceiver) -> None:
    webhook.routes["/b"] = Sequenced(Response(500, b"no"), Response(200, b"ok"))
    hook = f"json://127.0.0.1:{webhook.port}"
    s = setup(tmp_path, serve_feed(feed_server, ONE), {"both": {"urls": [f"{hook}/a", f"{hook}/b"]}})
    try:
        s.poll()
        assert s.deliver().retrying == 1
        s.clock.advance(30)
        assert s.deliver().delivered == 1
    finally:
        s.close()
    assert len(webhook.accepted("/a")) == 1 and len(webhook.accepted("/b")) == 1
    assert len(json.loads(s.rows("select done_urls from deliveries")[0][0])) == 2
