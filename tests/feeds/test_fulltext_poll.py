"""Full text for candidates on the poll's path (issue 18), on loopback servers and a real database: candidates'
articles are read and scored before anything is stored, others are left alone, a failure costs one item its
article (and says so), a story's copies are fetched once, a slow site cannot stall a poll, and retention removes
the text."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.core.fulltext import ArticleText
from monitor.errors import ConfigError
from monitor.usecases import retention
from monitor.usecases.article_cache import ArticleCache
from monitor.usecases.context import Runtime
from tests.support.configdir import write_config
from tests.support.db import query
from tests.support.polling import START, Clock, cycle, make_runtime, rss
from tests.support.servers import HttpServer, Response

HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}


def news_page(headline: str, paragraphs: list[str]) -> bytes:
    """A news site's article page: navigation, share tools, the story, related links and comments whose words
    (war! nuclear!) must not count."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{headline} | Herald</title></head>
<body><header><nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/war">War
</a></li><li><a href="/sport">Sport</a></li></ul></nav></header>
<main><article><h1>{headline}</h1><div class="byline">By Staff Reporter</div>
<div class="share"><a href="#">Share</a> <a href="#">Email</a></div><div class="story-body">{body}</div></article>
<section class="related"><h2>Related</h2><ul><li><a href="/r1">Nuclear strike fears grow</a></li>
<li><a href="/r2">Missile strike on depot</a></li></ul></section>
<section class="comments"><h2>Comments</h2><div class="comment"><p>Nuclear war is coming, missile strike after
missile strike!</p></div><div class="comment"><p>Troops everywhere, this is war.</p></div></section></main>
<footer>(c) 2026 Herald</footer></body></html>""".encode()


REPORT = [
    "Russia launched a missile strike on a port city overnight, officials said, hours after NATO warned of escalation.",
    "The defence ministry in Moscow said its forces had hit military targets and threatened a nuclear response to any "
    "retaliation.",
    "Troops were seen moving towards the border, and air raid sirens sounded across the region until morning.",
    "Diplomats said the strike was the most serious in months and that talks planned for next week were in doubt.",
]
BENIGN = ["The bakery on Main Street won the regional prize for its rye bread, the third time in five years.",
          "Its owner said the secret was patience, and a starter kept alive since her grandmother's day."]


def item(n: int, title: str, link: str, description: str = "") -> dict[str, str]:
    return {"title": title, "link": link, "guid": f"urn:item:{n}", "description": description,
            "pubDate": format_datetime(START - timedelta(minutes=n))}


def runtime(tmp_path: Path, database_url: str, feeds: list[dict[str, Any]], **fulltext: Any) -> Runtime:
    return make_runtime(tmp_path / "config", feeds, clock=Clock(),
                        settings={"database": database_url, "polling": {"fulltext": fulltext} if fulltext else {}})


def scores_of(database_url: str, uid: str) -> tuple[float, int, list[dict[str, Any]]]:
    value, severity, contributions = query(database_url, "select s.value, s.severity, s.contributions from scores s "
                                                         "join items i on i.id = s.item_id where i.uid = :uid",
                                           uid=uid)[0]
    return value, severity, contributions if isinstance(contributions, list) else json.loads(contributions)


def article_of(database_url: str, uid: str) -> tuple[str | None, str | None]:
    (row,) = query(database_url, "select article_status, article_text from items where uid = :uid", uid=uid)
    return row[0], row[1]


def test_a_candidates_article_is_read_and_decides_its_alert(tmp_path: Path, feed_server: HttpServer,
                                                            database_url: str) -> None:
    feed_server.routes["/world/strike"] = Response(200, news_page("Port city hit overnight", REPORT), HTML)
    feed_server.routes["/local/bakery"] = Response(200, news_page("Bakery wins prize", BENIGN), HTML)
    feed_server.routes["/world/gone"] = Response(404, b"gone")
    feed_server.routes["/feed.xml"] = Response(200, rss([
        item(1, "Overnight events in the port city, Russia says", feed_server.url("/world/strike"),
             "Officials spoke to reporters."),
        item(2, "Bakery wins regional prize", feed_server.url("/local/bakery"), "Rye bread again."),
        item(3, "NATO comments on Russia", feed_server.url("/world/gone"), "A statement."),
    ]), RSS)
    rt = runtime(tmp_path, database_url, [{"name": "Herald", "url": feed_server.url("/feed.xml")}])
    outcome = cycle(rt)["Herald"]
    assert (outcome.new_items, outcome.articles, outcome.articles_read, outcome.alerts) == (3, 2, 1, 1)
    assert feed_server.hits("/local/bakery") == []  # no candidate: its publisher is not asked

    status, text = article_of(database_url, "urn:item:1")
    assert status == "read" and text == "\n".join(REPORT)  # the story, not the comments or related links
    value, severity, contributions = scores_of(database_url, "urn:item:1")
    assert severity == 3 and value >= 10  # critical on the full text; on its headline and summary, watch (3.75)
    assert {c["part"] for c in contributions} >= {"headline", "article"}
    article_terms = {c["term"] for c in contributions if c["part"] == "article"}
    assert article_terms >= {"launched a missile strike on", "nuclear", "NATO"}  # the knowledge's act, whole
    (message,) = [m for (m,) in query(database_url, "select message from alerts")]
    message = message if isinstance(message, dict) else json.loads(message)
    assert any(c["part"] == "article" for c in message["contributions"])

    status, text = article_of(database_url, "urn:item:3")
    assert status is not None and status.startswith("failed: http: HTTP 404") and text is None
    _, _, contributions = scores_of(database_url, "urn:item:3")
    (note,) = [c for c in contributions if c["kind"] == "fulltext"]
    assert note["value"] == 0 and "scored on the headline and summary" in note["detail"]
    assert article_of(database_url, "urn:item:2") == (None, None)


def test_fulltext_never_and_always(tmp_path: Path, feed_server: HttpServer, database_url: str) -> None:
    feed_server.routes["/a/strike"] = Response(200, news_page("Strike", REPORT), HTML)
    feed_server.routes["/a/bakery"] = Response(200, news_page("Bakery", BENIGN), HTML)
    feed_server.routes["/never.xml"] = Response(200, rss([item(1, "Russia missile strike", feed_server.url(
        "/a/strike"))]), RSS)
    feed_server.routes["/always.xml"] = Response(200, rss([item(2, "Bakery wins prize", feed_server.url(
        "/a/bakery"))]), RSS)
    rt = runtime(tmp_path, database_url, [
        {"name": "never", "url": feed_server.url("/never.xml"), "fulltext": "never"},
        {"name": "always", "url": feed_server.url("/always.xml"), "fulltext": "always"}])
    cycle(rt)
    assert feed_server.hits("/a/strike") == [] and len(feed_server.hits("/a/bakery")) == 1
    assert article_of(database_url, "urn:item:1") == (None, None)
    assert article_of(database_url, "urn:item:2") == ("read", "\n".join(BENIGN))
    assert query(database_url, "select name, fulltext from feeds order by name") == [("always", "always"),
                                                                                     ("never", "never")]


def test_a_storys_copies_are_fetched_once(tmp_path: Path, feed_server: HttpServer, database_url: str) -> None:
    feed_server.routes["/world/strike"] = Response(200, news_page("Strike", REPORT), HTML)
    link = feed_server.url("/world/strike?utm_source=rss")  # the same canonical URL under every feed's tracking
    for n in range(4):
        feed_server.routes[f"/feed{n}.xml"] = Response(200, rss([item(n, "Russia missile strike on port", link)]), RSS)
    feeds = [{"name": f"feed{n}", "url": feed_server.url(f"/feed{n}.xml")} for n in range(3)]
    cycle(runtime(tmp_path, database_url, feeds))  # three feeds at once: one read, shared
    assert len(feed_server.hits("/world/strike")) == 1
    # A copy arriving later through another feed, in another process (a fresh runtime: nothing cached): another
    # feed stored the article already, so it is not read again (nor stored).
    later = runtime(tmp_path, database_url, [*feeds, {"name": "feed3", "url": feed_server.url("/feed3.xml")}])
    cycle(later)
    assert len(feed_server.hits("/feed3.xml")) == 1 and len(feed_server.hits("/world/strike")) == 1
    assert query(database_url, "select count(*) from items where article_status = 'read'") == [(1,)]


def test_a_slow_site_costs_its_items_their_article_not_the_poll(tmp_path: Path, feed_server: HttpServer,
                                                                database_url: str) -> None:
    feed_server.routes["/slow"] = Response(200, news_page("Strike", REPORT), HTML, delay=4.0)
    feed_server.routes["/feed.xml"] = Response(200, rss([item(1, "Russia missile strike", feed_server.url("/slow"),
                                                              "Missiles hit the port.")]), RSS)
    rt = runtime(tmp_path, database_url, [{"name": "Herald", "url": feed_server.url("/feed.xml")}], budget="1s")
    started = time.monotonic()
    outcome = cycle(rt)["Herald"]
    assert time.monotonic() - started < 3.5 and outcome.new_items == 1 and outcome.articles_read == 0
    status, _ = article_of(database_url, "urn:item:1")
    assert status == "skipped: the poll's 1 s for articles ran out"
    _, severity, contributions = scores_of(database_url, "urn:item:1")
    assert severity >= 1 and contributions[-1]["kind"] == "fulltext"


def test_retention_removes_the_article_text(tmp_path: Path, feed_server: HttpServer, database_url: str) -> None:
    feed_server.routes["/world/strike"] = Response(200, news_page("Strike", REPORT), HTML)
    feed_server.routes["/feed.xml"] = Response(200, rss([item(1, "Russia missile strike", feed_server.url(
        "/world/strike"))]), RSS)
    rt = runtime(tmp_path, database_url, [{"name": "Herald", "url": feed_server.url("/feed.xml")}])
    cycle(rt)
    assert query(database_url, "select count(*) from items where article_text is not null") == [(1,)]
    counts = retention.run_retention(rt.engine, 86400.0, "w1", rt.clock() + timedelta(days=3))
    assert counts is not None
    # the item stays while its alert waits for delivery, but its article text goes with the retention period
    assert query(database_url, "select count(*), count(article_text) from items") == [(1, 0)]
    assert counts["article_texts"] == 1


def test_a_wrong_fulltext_mode_names_the_file_line_and_field(tmp_path: Path) -> None:
    directory = write_config(tmp_path / "config")
    (directory / "feeds.yaml").write_text("feeds:\n  - url: https://example.org/rss\n    fulltext: sometimes\n",
                                          encoding="utf-8")
    (directory / "monitor.yaml").write_text(
        f"database: sqlite:///{directory / 'monitor.db'}\npolling:\n  fulltext:\n    budget: soon\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(directory, env={})
    messages = [str(p) for p in caught.value.problems]
    assert any("feeds.yaml:3:" in m and "feeds[0].fulltext" in m for m in messages), messages
    assert any("monitor.yaml:4:" in m and "polling.fulltext.budget" in m for m in messages), messages


def test_the_article_cache_keeps_what_another_try_would_repeat_within_its_bounds() -> None:
    now = [0.0]
    cache = ArticleCache(max_chars=10, ttl=60, clock=lambda: now[0])

    async def read(key: str, article: ArticleText) -> ArticleText | asyncio.Task[ArticleText]:
        async def reader() -> ArticleText:
            await asyncio.sleep(0)
            return article
        got = cache.read(key, reader)
        if isinstance(got, asyncio.Task):
            assert cache.read(key, reader) is got  # a read in progress is shared
            await got
        return got

    async def go() -> None:
        first = ArticleText("read", "x" * 6)
        assert isinstance(await read("a", first), asyncio.Task)
        assert await read("a", ArticleText("read", "other")) == first  # kept
        assert isinstance(await read("f", ArticleText("failed", detail="timeout")), asyncio.Task)
        assert isinstance(await read("f", ArticleText("read", "y")), asyncio.Task)  # a failure was not kept
        await read("b", ArticleText("read", "z" * 6))  # 6 + 6 > 10 characters: the least recently used goes
        assert isinstance(await read("a", first), asyncio.Task)
        assert await read("a", ArticleText("read", "other")) == first
        now[0] += 61
        assert isinstance(await read("a", first), asyncio.Task)  # expired
    asyncio.run(go())


def test_a_read_shared_by_two_polls_goes_on_until_the_last_one_gives_up() -> None:
    """Two feeds carry one story: the second poll joins the read the first started. When the first poll's budget runs
    out, the read goes on for the second, whose budget has time left; it is cancelled once nobody waits for it."""
    cache = ArticleCache()

    async def go() -> list[bool]:
        release = asyncio.Event()

        async def reader() -> ArticleText:
            await release.wait()
            return ArticleText("read", "the article")

        first = cache.read("a", reader)
        second = cache.read("a", reader)
        alone = cache.read("b", reader)
        assert isinstance(first, asyncio.Task) and first is second and isinstance(alone, asyncio.Task)
        cache.give_up("a", first)  # the first poll's budget ran out
        cache.give_up("b", alone)  # nobody else waits for this one
        await asyncio.sleep(0)
        states = [first.cancelled(), alone.cancelled()]
        release.set()
        states.append((await second).read)  # the second poll gets the article
        third = cache.read("c", reader)
        cache.read("c", reader)  # one poll listing the story twice waits twice
        assert isinstance(third, asyncio.Task)
        cache.give_up("c", third)
        cache.give_up("c", third)
        await asyncio.sleep(0)
        return [*states, third.cancelled()]
    assert asyncio.run(go()) == [False, True, True, True]

