"""Full text for candidates end to end (issue 18): the seed article served as a news site's HTML page behind a
one-line RSS item, through `monitor run --once` with the shipped watchlist. On its headline and one line the item
is a warning; its article makes it critical, and the explanation shows the contributions that came from it."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, run_monitor
from tests.support.configdir import write_config
from tests.support.db import drop_database, new_database, query
from tests.support.servers import HttpServer, Response

pytestmark = pytest.mark.slow

SEED = (ROOT / "seeds" / "000_4c9c1f4a05372baa.txt").read_text(encoding="utf-8")
HEADLINE, _, BODY = SEED.partition("\n")
PARAGRAPHS = [p.strip() for p in BODY.split("\n") if p.strip()]
ONE_LINE = "NATO's secretary-general spoke in Brussels on Monday."


def seed_page() -> bytes:
    """The seed article as a news site serves it: chrome around it whose words must not count."""
    story = "".join(f"<p>{html.escape(p)}</p>" for p in PARAGRAPHS)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(HEADLINE)} - World
Desk</title></head><body><div class="cookie-consent">We value your privacy. <button>Accept</button></div>
<header><a href="/">World Desk</a><nav><ul><li><a href="/world">World</a></li><li><a href="/europe">Europe</a></li>
<li><a href="/defence">Defence</a></li><li><a href="/markets">Markets</a></li></ul></nav></header>
<main><article><h1>{html.escape(HEADLINE)}</h1><p class="byline">By the World Desk staff</p>
<div class="article-content">{story}</div></article>
<aside class="related"><h2>More on this</h2><ul><li><a href="/1">Nuclear war games in the north</a></li>
<li><a href="/2">Missile strike kills 12</a></li></ul></aside>
<section class="comments"><h3>Reader comments</h3><div class="comment"><p>Mobilisation now, before the invasion!
</p></div></section></main><footer>World Desk · Terms · Privacy</footer></body></html>""".encode()


def one_line_feed(link: str) -> bytes:
    return f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>World Desk</title>
<link>{link}</link><item><title>{html.escape(HEADLINE)}</title><link>{link}?utm_source=rss</link>
<guid>urn:worlddesk:seed</guid><description>{ONE_LINE}</description>
<pubDate>Mon, 02 Mar 2026 08:00:00 GMT</pubDate></item></channel></rss>""".encode()


def run_once(directory: Path, feed_server: HttpServer, database: str, fulltext: str) -> dict[str, Any]:
    config = write_config(directory, feeds=[{"url": feed_server.url("/world.xml"), "name": "World Desk",
                                             "fulltext": fulltext}], shipped_watchlists=True, database=database)
    result = run_monitor("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr + result.stdout
    (item,) = query(database, "select article_status, article_text from items")
    ((value, severity, contributions),) = query(database, "select value, severity, contributions from scores")
    alerts = [(sev, m if isinstance(m, dict) else json.loads(m))
              for sev, m in query(database, "select severity, message from alerts")]
    return {"item": item, "value": value, "severity": severity, "alerts": alerts,
            "contributions": contributions if isinstance(contributions, list) else json.loads(contributions)}


def test_the_seed_article_behind_a_one_line_item_reaches_the_severity_its_full_text_gives(
        tmp_path: Path, feed_server: HttpServer, database_url: str) -> None:
    feed_server.routes["/world/nato-russia"] = Response(200, seed_page(), {"Content-Type": "text/html; charset=utf-8"})
    feed_server.routes["/world.xml"] = Response(200, one_line_feed(feed_server.url("/world/nato-russia")),
                                                {"Content-Type": "application/rss+xml"})
    other = new_database(tmp_path / "without")
    try:
        without = run_once(tmp_path / "without", feed_server, other, "never")
    finally:
        drop_database(other)
    assert feed_server.hits("/world/nato-russia") == []
    assert without["item"] == (None, None) and without["severity"] == 2  # warning on headline and one line

    full = run_once(tmp_path / "with", feed_server, database_url, "auto")
    assert len(feed_server.hits("/world/nato-russia")) == 1
    status, text = full["item"]
    assert status == "read" and text == "\n".join(PARAGRAPHS)  # the article, not the related links or comments
    assert full["severity"] == 3 and full["value"] > 2 * without["value"]  # critical: what the article says
    article = [c for c in full["contributions"] if c["part"] == "article"]
    assert {c["term"] for c in article} >= {"Sergei Lavrov", "Vladimir Putin", "invasion"}
    assert all(c["span"][0] > len(HEADLINE) for c in article)
    assert any(c["part"] == "headline" and "title x1.5" in c["detail"] for c in full["contributions"])
    ((severity, message),) = full["alerts"]
    assert severity == 3 and message["severity"] == "critical"
    assert any(c["part"] == "article" for c in message["contributions"])  # the alert shows where it came from
