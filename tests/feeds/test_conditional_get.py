"""Conditional GET and unchanged feeds: validators are sent back, a 304 costs no parse and no item rows."""

from __future__ import annotations

from pathlib import Path

from monitor.feeds.fetch import FetchResult
from monitor.store import repo
from monitor.store.db import session
from monitor.usecases import bookkeeping
from tests.support.polling import cycle, db, feed_row, make_runtime, news_items, rss
from tests.support.servers import HttpServer, Request, Response


def _items(rt: object) -> list[tuple[int, str]]:
    with db(rt) as c:  # type: ignore[arg-type]
        return [tuple(r) for r in c.execute("select id, uid from items order by id")]


def test_second_poll_of_an_unchanged_feed_is_a_304_with_no_writes(tmp_path: Path, feed_server: HttpServer) -> None:
    body = rss(news_items(5))
    validators = {"ETag": '"abc"', "Last-Modified": "Mon, 02 Mar 2026 11:00:00 GMT"}

    def route(req: Request) -> Response:
        if req.headers.get("if-none-match") == '"abc"':
            return Response(304, b"", {"ETag": '"abc"'})
        return Response(200, body, {"Content-Type": "application/rss+xml", **validators})

    feed_server.routes["/f"] = route
    rt = make_runtime(tmp_path / "c", [{"name": "f", "url": feed_server.url("/f")}])
    first = cycle(rt)["f"]
    assert (first.status, first.new_items) == ("ok", 5)
    stored = _items(rt)
    row = feed_row(rt, "f")
    assert (row["etag"], row["last_modified"]) == ('"abc"', validators["Last-Modified"])

    rt.clock.advance(3600)  # type: ignore[attr-defined]
    second = cycle(rt)["f"]
    assert second.status == "not_modified" and second.new_items == 0 and second.parsed == 0
    sent = feed_server.hits("/f")[1].headers
    assert sent["if-none-match"] == '"abc"' and sent["if-modified-since"] == validators["Last-Modified"]
    assert _items(rt) == stored  # not one item row written
    after = feed_row(rt, "f")
    assert after["last_polled_at"] > row["last_polled_at"] and after["etag"] == '"abc"'
    assert after["next_poll_at"] > row["next_poll_at"]


def test_a_server_ignoring_validators_but_sending_the_same_bytes_costs_no_parse(
        tmp_path: Path, feed_server: HttpServer) -> None:
    feed_server.routes["/f"] = Response(200, rss(news_items(3)))
    rt = make_runtime(tmp_path / "c", [{"name": "f", "url": feed_server.url("/f")}])
    assert cycle(rt)["f"].new_items == 3
    rt.clock.advance(3600)  # type: ignore[attr-defined]
    assert cycle(rt)["f"].status == "not_modified"


def test_a_changed_feed_stores_only_the_new_item(tmp_path: Path, feed_server: HttpServer) -> None:
    items = news_items(4)
    feed_server.routes["/f"] = Response(200, rss(items[1:]), {"ETag": '"v1"'})
    rt = make_runtime(tmp_path / "c", [{"name": "f", "url": feed_server.url("/f")}])
    assert cycle(rt)["f"].new_items == 3
    feed_server.routes["/f"] = Response(200, rss(items), {"ETag": '"v2"'})
    rt.clock.advance(3600)  # type: ignore[attr-defined]
    outcome = cycle(rt)["f"]
    assert (outcome.new_items, outcome.parsed) == (1, 4)
    assert feed_row(rt, "f")["etag"] == '"v2"'
    assert [uid for _, uid in _items(rt)][-1] == "urn:story:0"


def test_many_unchanged_feeds_are_written_together_and_each_keeps_its_own_state(
        tmp_path: Path, feed_server: HttpServer) -> None:
    """The 304s of a round share transactions (group commit); every feed still gets its own validators and next
    poll, and a feed whose row vanished meanwhile fails alone."""
    for n in range(12):
        tag = f'"v{n}"'

        def route(req: Request, tag: str = tag, n: int = n) -> Response:
            if req.headers.get("if-none-match") == tag:
                return Response(304, b"", {"ETag": tag})
            return Response(200, rss(news_items(2, prefix=f"f{n}-")), {"Content-Type": "application/rss+xml",
                                                                           "ETag": tag})
        feed_server.routes[f"/f{n}"] = route
    rt = make_runtime(tmp_path / "c", [{"name": f"f{n}", "url": feed_server.url(f"/f{n}")} for n in range(12)])
    assert {o.status for o in cycle(rt).values()} == {"ok"}
    before = {n: feed_row(rt, f"f{n}")["last_polled_at"] for n in range(12)}
    rt.clock.advance(3600)  # type: ignore[attr-defined]
    second = cycle(rt)
    assert {o.status for o in second.values()} == {"not_modified"}
    for n in range(12):
        row = feed_row(rt, f"f{n}")
        assert row["etag"] == f'"v{n}"' and row["last_polled_at"] > before[n] and row["claimed_by"] is None

    # the batch writer itself, with one feed gone from the database
    with session(rt.engine) as s:
        rows = sorted(repo.feeds_by_id(s, [1, 2]).values(), key=lambda r: r.id or 0)
    ghost = rows[1].model_copy(update={"id": 999, "name": "ghost"})
    out = bookkeeping.record_unchanged(rt, [(rows[0], FetchResult(304, rows[0].url)), (ghost, FetchResult(304, "x"))])
    assert out[0].id == rows[0].id  # type: ignore[union-attr]
    assert isinstance(out[1], LookupError) and "ghost" in str(out[1])
