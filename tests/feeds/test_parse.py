"""Parsing what real feeds send: broken XML, wrong charsets, entities, relative links, missing guids and
dates, markup and scripts in summaries. Each case is a small document written out in full."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.core.fingerprint import fingerprint_of
from monitor.domain import Contribution, Score, Severity, Watchlist
from monitor.feeds.parse import ParsedFeed, parse_feed
from monitor.feeds.pool import WORKER_NICENESS, CpuPool
from tests.support.polling import WATCHLIST

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
URL = "https://feeds.example.org/world/rss.xml"


def parse(doc: str | bytes, content_type: str = "application/rss+xml", url: str = URL) -> ParsedFeed:
    content = doc.encode() if isinstance(doc, str) else doc
    return parse_feed(content, feed="f", url=url, now=NOW, content_type=content_type)


def channel(items: str, extra: str = "") -> str:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{extra}{items}</channel></rss>'


def test_bozo_feed_keeps_recovered_items() -> None:
    doc = channel("<item><title>One &amp; only</title><link>/a/1</link></item>"
                  "<item><title>Broken & unescaped <b>bold</title><link>/a/2</link></item>")
    parsed = parse(doc)
    assert parsed.bozo and parsed.bozo_kind == "SAXParseException"  # not well-formed, yet entries recovered
    assert [i.title for i in parsed.items] == ["One & only", "Broken & unescaped bold"]


def test_wrong_charset_header_is_overridden() -> None:
    doc = channel("<item><title>Война и мир</title><link>https://example.ru/1</link></item>")
    doc = doc.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="windows-1251"?>')
    parsed = parse(doc.encode("windows-1251"), content_type="application/rss+xml; charset=utf-8")
    assert parsed.items[0].title == "Война и мир"
    assert not parsed.broken  # a charset complaint is about the headers, not the entries


def test_entities_markup_and_scripts_become_plain_text() -> None:
    doc = channel("<item><title>Talks &#8211; day 2 &amp;amp; counting</title><link>https://example.org/a</link>"
                  "<description>&lt;p&gt;Troops&amp;nbsp;moved.&lt;script&gt;alert(1)&lt;/script&gt;&lt;/p&gt;"
                  "&lt;p&gt;More   text&lt;/p&gt;&lt;img src=x onerror=alert(2)&gt;</description></item>")
    item = parse(doc).items[0]
    assert item.title == "Talks – day 2 & counting"
    assert item.summary == "Troops moved. More text"
    assert "<" not in item.summary and "alert" not in item.summary


def test_relative_links_resolve_against_the_final_url_and_bad_schemes_are_dropped() -> None:
    doc = channel("<item><title>a</title><link>../story/1?utm_source=rss</link></item>"
                  "<item><title>b</title><link>javascript:alert(1)</link></item>")
    a, b = parse(doc).items
    assert a.link == "https://feeds.example.org/story/1?utm_source=rss"
    assert a.canonical_url == "https://feeds.example.org/story/1"
    assert b.link == ""


def test_missing_guids_give_stable_ids_across_polls() -> None:
    doc = channel("<item><title>No guid, a link</title><link>https://example.org/x?utm_medium=rss</link></item>"
                  "<item><title>No guid, no link, no date</title><description>text</description></item>")
    first = [i.uid for i in parse(doc).items]
    later = [i.uid for i in parse_feed(doc.encode(), feed="f", url=URL, now=NOW + timedelta(hours=5)).items]
    assert first == later
    assert first[0] == "https://example.org/x" and first[1].startswith("sha1:")


def test_dates_missing_placeholder_and_future_are_clamped() -> None:
    doc = channel("<item><title>none</title><guid>1</guid></item>"
                  "<item><title>epoch</title><guid>2</guid><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>"
                  "<item><title>future</title><guid>3</guid><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>"
                  "<item><title>real</title><guid>4</guid><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>")
    parsed = parse(doc)
    assert [i.published for i in parsed.items] == [NOW, NOW, NOW, datetime(2026, 3, 2, 10, tzinfo=UTC)]
    assert parsed.dates == (datetime(2026, 3, 2, 10, tzinfo=UTC),)  # only real dates describe the cadence


def test_ttl_and_sy_update_period() -> None:
    assert parse(channel("", "<ttl>30</ttl>")).ttl_seconds == 1800
    sy = ('<?xml version="1.0"?><rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
          "<channel><title>T</title><sy:updatePeriod>daily</sy:updatePeriod>"
          "<sy:updateFrequency>4</sy:updateFrequency></channel></rss>")
    assert parse(sy).ttl_seconds == 21600


def test_atom_with_xml_base_and_html_title() -> None:
    doc = ('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://example.org/news/">'
           '<title>A</title><entry><title type="html">&lt;b&gt;NATO&lt;/b&gt; summit</title>'
           '<link href="2026/summit"/><id>tag:example.org,2026:1</id><updated>2026-03-01T09:00:00Z</updated>'
           '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Leaders <em>meet</em>.</p></div>'
           "</content></entry></feed>")
    item = parse(doc, content_type="application/atom+xml").items[0]
    assert (item.title, item.link, item.summary) == ("NATO summit", "https://example.org/news/2026/summit",
                                                     "Leaders meet.")


def test_not_a_feed_is_broken() -> None:
    assert parse("<!doctype html><html><body>Hello</body></html>", "text/html").broken
    assert parse(b"\x89PNG\r\n\x1a\n\0\0binary", "image/png").broken


def test_billion_laughs_and_external_entities_are_harmless() -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
              '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
              '<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>'
              '<rss version="2.0"><channel><title>T</title><item><title>&h;</title></item></channel></rss>')
    parsed = parse(laughs)
    assert all(len(i.title) < 10_000 for i in parsed.items)
    xxe = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<rss version="2.0"><channel><title>T</title><item><title>leak &x;</title></item></channel></rss>')
    assert all("root:" not in i.title for i in parse(xxe).items)


def test_items_survive_the_trip_to_a_worker_process() -> None:
    item = parse(channel("<item><title>x</title><guid>1</guid></item>")).items[0]
    assert pickle.loads(pickle.dumps(item)) == item
    score = Score("wl", 4.5, Severity.WATCH, (Contribution("keyword", "war", (0, 3), 4.5, "x"),), ("NATO",), ("war",))
    for value in (score, score.contributions[0]):
        copy = pickle.loads(pickle.dumps(value))
        assert copy == value and type(copy) is type(value)
    print_ = fingerprint_of("NATO warns of war", "Troops massed at the border")
    back = pickle.loads(pickle.dumps(print_))
    assert (back.title_norm, back.body) == (print_.title_norm, print_.body) and print_.keys is not None
    assert back.keys is not None
    assert [None if k is None else k.tolist() for k in back.keys] == \
        [None if k is None else k.tolist() for k in print_.keys]
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.value = 1.0  # type: ignore[misc]  # still frozen after the trip


@pytest.mark.parametrize("workers", [0, 2])
def test_cpu_pool_parses_and_scores_off_the_loop(workers: int) -> None:
    from monitor.config import WatchlistModel, build_watchlist
    from monitor.config.yamlfile import YamlDoc

    model = WatchlistModel.model_validate(WATCHLIST)
    watchlist: Watchlist = build_watchlist(model, YamlDoc(Path("w.yaml"), WATCHLIST), {})
    doc = channel("<item><title>NATO warns of missile strike</title><guid>1</guid></item>"
                  '<item><title>Old news</title><guid isPermaLink="false">old</guid></item>').encode()

    async def go() -> tuple[ParsedFeed, dict[str, list[float]], list[str], list[int]]:
        pool = CpuPool(workers, [watchlist])
        try:
            ingested = await pool.ingest(doc, known=frozenset({"old"}), feed="f", url=URL, now=NOW)
            parsed, scores = ingested.parsed, ingested.scores
            processes = getattr(pool._executor, "_processes", None) or {}
            niceness = [int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
                        for pid in processes]
            return (parsed, {uid: [s.value for s in per_item] for uid, per_item in scores.items()},
                    [fp.title_norm for fp in ingested.fingerprints.values()], niceness)
        finally:
            pool.close()
    parsed, scores, fingerprinted, niceness = asyncio.run(go())
    assert [i.title for i in parsed.items] == ["NATO warns of missile strike", "Old news"]
    assert list(scores) == [parsed.items[0].uid]  # the known item is not scored
    assert fingerprinted == ["nato warns of missile strike"]  # nor fingerprinted for story clustering
    # worker processes run below the daemon's priority, so the daemon's own thread keeps its core
    assert set(niceness) == ({os.nice(0) + WORKER_NICENESS} if workers else set())
    values = scores[parsed.items[0].uid]
    assert values and values[0] > 0


@pytest.mark.parametrize("workers", [0, 2])
def test_cpu_pool_starts_every_worker_before_the_first_job(workers: int) -> None:
    """A process pool starts workers on demand; the daemon starts them all before its first poll instead."""
    async def go() -> tuple[set[int], set[int]]:
        pool = CpuPool(workers, [])
        try:
            started = await pool.start()
            running = set(getattr(pool._executor, "_processes", None) or {})
            return started, running
        finally:
            pool.close()
    started, running = asyncio.run(go())
    assert len(started) == workers and os.getpid() not in started
    assert running == started  # the jobs reached every worker, and no more were spawned


def test_a_hostile_title_is_cut_to_max_title() -> None:
    """A 2 MB title (issue 16, row 5) is stored, shown and alerted as its first MAX_TITLE characters."""
    from monitor.feeds.parse import MAX_TITLE

    huge = "NATO " + "x" * 2_000_000
    doc = (f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><guid>a</guid>'
           f"<title>{huge}</title><description>short</description></item></channel></rss>").encode()
    [item] = parse_feed(doc, feed="f", url="http://example.org/", now=NOW).items
    assert len(item.title) == MAX_TITLE and item.title.startswith("NATO x")
