"""The same article through two feeds is stored once (canonical link, tracking stripped); a front page
shared by unrelated items is no reason to drop them."""

from __future__ import annotations

from pathlib import Path

from tests.support.polling import cycle, db, make_runtime, rss
from tests.support.servers import HttpServer, Response


def test_cross_feed_duplicates_are_dropped(tmp_path: Path, feed_server: HttpServer) -> None:
    feed_server.routes["/a"] = Response(200, rss([
        {"title": "Missile strike reported", "guid": "a-1",
         "link": "https://www.example.org/world/strike?utm_source=feedA&utm_medium=rss"},
        {"title": "Front page item A", "guid": "a-2", "link": "https://example.org/"},
    ]))
    feed_server.routes["/b"] = Response(200, rss([
        {"title": "Missile strike reported (syndicated)", "guid": "b-1",
         "link": "https://example.org/world/strike?xtor=RSS-1#top"},
        {"title": "Front page item B", "guid": "b-2", "link": "https://example.org/"},
        {"title": "Only in B", "guid": "b-3", "link": "https://example.org/world/other"},
    ]))
    rt = make_runtime(tmp_path / "c", [{"name": "a", "url": feed_server.url("/a")}])
    assert cycle(rt)["a"].new_items == 2
    rt2 = make_runtime(tmp_path / "c", [{"name": "a", "url": feed_server.url("/a")},
                                        {"name": "b", "url": feed_server.url("/b")}])
    outcome = cycle(rt2)["b"]
    assert outcome.parsed == 3 and outcome.new_items == 2
    with db(rt2) as c:
        rows = c.execute("select f.name, i.title, i.canonical_url from items i join feeds f on f.id = i.feed_id "
                         "order by i.id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("a", "Missile strike reported"), ("a", "Front page item A"),
                                            ("b", "Front page item B"), ("b", "Only in B")]
    assert rows[0][2] == "https://example.org/world/strike"


def test_duplicates_within_one_document(tmp_path: Path, feed_server: HttpServer) -> None:
    feed_server.routes["/f"] = Response(200, rss([
        {"title": "Same entry twice", "guid": "g-1", "link": "https://example.org/a"},
        {"title": "Same entry twice", "guid": "g-1", "link": "https://example.org/a"},
        {"title": "Lazy CMS reuses a guid", "guid": "shared", "link": "https://example.org/b"},
        {"title": "for different pages", "guid": "shared", "link": "https://example.org/c"},
    ]))
    rt = make_runtime(tmp_path / "c", [{"name": "f", "url": feed_server.url("/f")}])
    assert cycle(rt)["f"].new_items == 3
    with db(rt) as c:
        uids = [r[0] for r in c.execute("select uid from items order by id")]
    # (feedparser resolves an RSS guid, a permalink by default, against the feed URL)
    assert uids == [feed_server.url("/g-1"), "https://example.org/b", "https://example.org/c"]
