"""Every way a feed fails, in one poll cycle with a healthy feed beside them: the cycle completes, each feed's
stored health says what happened, and its next poll follows the rules (backoff, Retry-After, 410 disables)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from monitor.usecases.context import Runtime
from tests.support.polling import START, Clock, cycle, db, feed_row, make_runtime, news_items, rss, when
from tests.support.rawserver import RawServer, endless, slow_headers, trickle
from tests.support.servers import HttpServer, Response

INTERVAL, MIN, MAX = 600, 60, 3600
# The healthy feeds answer from this process's own server threads, which share the GIL with the endless stream and
# the poll itself: a 0.5 s read timeout once timed out two of them in CI. 1.5 s is still far below the 5 s of silence
# and the never-ending trickle that must time out.
SETTINGS = {"polling": {"timeout": "1.5s", "deadline": "3s", "max_bytes": 100_000, "max_redirects": 3,
                        "interval": INTERVAL, "min_interval": MIN, "max_interval": MAX, "per_host": 16,
                        "adaptive": False}}
GOOD = rss(news_items(3))

# name -> (stored kind, HTTP status or None)
FAILING = {
    "slow-headers": ("timeout", None),
    "never-ends": ("timeout", None),
    "endless-stream": ("too_large", 200),
    "over-cap": ("too_large", 200),
    "gzip-bomb": ("too_large", 200),
    "redirect-loop": ("redirects", 302),
    "not-found": ("http", 404),
    "server-error": ("http", 500),
    "throttled-seconds": ("throttled", 429),
    "throttled-date": ("throttled", 503),
    "html-page": ("parse", 200),
    "empty-200": ("empty", 200),
}


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer().start()
    yield server
    server.stop()


def serve(http: HttpServer, raw: RawServer) -> list[dict[str, str]]:
    bomb = gzip.compress(b"\0" * 20_000_000, 1)
    retry_date = format_datetime(START + timedelta(seconds=2400), usegmt=True)
    http.routes.update({
        "/healthy": Response(200, GOOD, {"Content-Type": "application/rss+xml"}),
        "/moved": Response(301, b"", {"Location": "/moved-here"}),
        "/moved-here": Response(200, rss(news_items(2, prefix="moved"))),
        "/temporary": Response(307, b"", {"Location": "/temporary-here"}),
        "/temporary-here": Response(200, rss(news_items(2, prefix="temp"))),
        "/gone": Response(410, b"gone"),
        "/over-cap": Response(200, b"<rss>" + b" " * 200_000),
        "/gzip-bomb": Response(200, bomb, {"Content-Encoding": "gzip"}),
        "/redirect-loop": Response(302, b"", {"Location": "/redirect-loop-2"}),
        "/redirect-loop-2": Response(302, b"", {"Location": "/redirect-loop"}),
        "/not-found": Response(404, b"no"),
        "/server-error": Response(500, b"oops"),
        "/throttled-seconds": Response(429, b"slow down", {"Retry-After": "1800"}),
        "/throttled-date": Response(503, b"later", {"Retry-After": retry_date}),
        "/html-page": Response(200, b"<!doctype html><html><body><p>Hello</p></body></html>",
                               {"Content-Type": "text/html"}),
        "/empty-200": Response(200, b""),
        "/empty-feed": Response(200, rss([])),
    })
    raw.routes.update({"/slow-headers": slow_headers(5), "/never-ends": trickle(0.05), "/endless-stream": endless()})
    on_raw = {"slow-headers", "never-ends", "endless-stream"}
    names = [*FAILING, "healthy", "moved", "temporary", "gone", "empty-feed"]
    return [{"name": n, "url": (raw if n in on_raw else http).url(f"/{n}")} for n in names]


@pytest.fixture
def rt(tmp_path: Path, feed_server: HttpServer, raw: RawServer) -> Runtime:
    return make_runtime(tmp_path / "config", serve(feed_server, raw), settings=SETTINGS, clock=Clock(START))


def delay(rt: Runtime, name: str) -> float:
    next_poll = when(feed_row(rt, name)["next_poll_at"])
    assert next_poll is not None, name
    return (next_poll - rt.clock()).total_seconds()


def test_each_failure_is_recorded_and_backs_off(rt: Runtime, feed_server: HttpServer) -> None:
    outcomes = cycle(rt)
    assert len(outcomes) == len(FAILING) + 5  # every feed was polled in the one cycle

    healthy = feed_row(rt, "healthy")
    assert outcomes["healthy"].new_items == 3 and healthy["consecutive_failures"] == 0
    assert healthy["last_error"] is None and when(healthy["last_success_at"]) == START
    assert INTERVAL * 0.9 <= delay(rt, "healthy") <= INTERVAL * 1.1

    for name, (kind, status) in FAILING.items():
        row = feed_row(rt, name)
        assert outcomes[name].status == "failed", name
        assert (row["last_error_kind"], row["consecutive_failures"], row["status"]) == (kind, 1, "active"), name
        if status is not None and kind not in ("parse", "empty", "too_large", "redirects"):
            assert f"HTTP {status}" in row["last_error"], name
        assert when(row["last_error_at"]) == START and row["last_success_at"] is None
        if name == "throttled-seconds":
            assert delay(rt, name) == 1800  # Retry-After wins over the shorter backoff
        elif name == "throttled-date":
            assert delay(rt, name) == 2400
        else:
            assert INTERVAL * 0.75 <= delay(rt, name) <= INTERVAL, name  # first step of the backoff

    with db(rt) as c:
        per_feed = dict(c.execute("select f.name, count(i.id) from feeds f left join items i on i.feed_id = f.id "
                                  "group by f.name").fetchall())
    assert per_feed["healthy"] == 3 and per_feed["moved"] == 2 and per_feed["temporary"] == 2
    assert all(per_feed[name] == 0 for name in FAILING)


def test_status_specific_rules(rt: Runtime, feed_server: HttpServer) -> None:
    cycle(rt)
    moved, temporary, gone = (feed_row(rt, n) for n in ("moved", "temporary", "gone"))
    assert moved["url"] == feed_server.url("/moved-here") and moved["config_url"] == feed_server.url("/moved")
    assert temporary["url"] == feed_server.url("/temporary")  # 307: keep asking the original URL
    assert gone["status"] == "gone" and gone["next_poll_at"] is None and "410" in gone["last_error"]
    empty = feed_row(rt, "empty-feed")
    assert empty["consecutive_failures"] == 0 and empty["last_error_kind"] == "empty"
    assert "no entries in a well-formed rss20 document" in empty["last_error"]


def test_the_cycle_keeps_running_and_backoff_grows(rt: Runtime, feed_server: HttpServer) -> None:
    cycle(rt)
    rt.clock.advance(MAX + 1)  # type: ignore[attr-defined]
    second = cycle(rt)
    assert "gone" not in second  # disabled: never polled again
    assert feed_server.hits("/moved") == feed_server.hits("/moved")[:1]  # the new URL is used directly
    assert len(feed_server.hits("/moved-here")) == 2
    assert len(feed_server.hits("/temporary")) == 2
    for name in FAILING:
        row = feed_row(rt, name)
        assert row["consecutive_failures"] == 2, name
        if not name.startswith("throttled"):
            assert INTERVAL * 2 * 0.75 <= delay(rt, name) <= INTERVAL * 2, name
    assert feed_row(rt, "healthy")["consecutive_failures"] == 0


def test_one_success_resets_the_backoff(tmp_path: Path, feed_server: HttpServer) -> None:
    feed_server.routes["/flaky"] = Response(500, b"down")
    rt = make_runtime(tmp_path / "c", [{"name": "flaky", "url": feed_server.url("/flaky")}], settings=SETTINGS)
    for _ in range(4):
        rt.clock.advance(MAX + 1)  # type: ignore[attr-defined]
        cycle(rt)
    assert feed_row(rt, "flaky")["consecutive_failures"] == 4
    assert MAX * 0.75 <= delay(rt, "flaky") <= MAX  # 600 * 2^3 = 4800, capped at the max interval
    rt.clock.advance(MAX + 1)  # type: ignore[attr-defined]
    feed_server.routes["/flaky"] = Response(200, GOOD)
    cycle(rt)
    row = feed_row(rt, "flaky")
    assert row["consecutive_failures"] == 0 and row["last_error"] is None
    assert INTERVAL * 0.9 <= delay(rt, "flaky") <= INTERVAL * 1.1


def test_a_defect_in_one_feeds_refresh_fails_that_feed_alone(tmp_path: Path, feed_server: HttpServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug of ours met by one feed's document (stood in for by a step that raises for that feed: the real path
    has no known one) is that feed's failure in the outcome and the log; the round's other feeds are recorded."""
    from monitor.usecases import poll

    real = poll.read_articles

    async def defective(rt: Runtime, feed: Any, *args: Any) -> Any:
        if feed.name == "buggy":
            raise RuntimeError("a defect met by this feed")
        return await real(rt, feed, *args)

    monkeypatch.setattr(poll, "read_articles", defective)
    feed_server.routes.update({"/good": Response(200, GOOD), "/buggy": Response(200, rss(news_items(2, prefix="b")))})
    rt = make_runtime(tmp_path / "c", [{"name": n, "url": feed_server.url(f"/{n}")} for n in ("good", "buggy")],
                      settings=SETTINGS)
    with capture_logs() as logs:
        outcomes = cycle(rt)
    assert outcomes["good"].status == "ok" and outcomes["good"].new_items == 3
    assert outcomes["buggy"].status == "failed" and "a defect met by this feed" in (outcomes["buggy"].error or "")
    assert [e["feed"] for e in logs if e["event"] == "feed_refresh_crashed"] == ["buggy"]
