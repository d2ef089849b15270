"""The fast parser path against feedparser: wherever it takes a document, parse_feed must give exactly what it
gives with feedparser alone (items, dates, title, ttl, version, bozo); wherever it is unsure, it must decline."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.feeds import fastparse
from monitor.feeds.parse import ParsedFeed, parse_feed

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
URL = "http://news.example.org/feeds/world.xml"
RSS_UTF8 = "application/rss+xml; charset=utf-8"


def both(content: bytes, content_type: str = RSS_UTF8) -> tuple[ParsedFeed, ParsedFeed]:
    kw = {"feed": "f", "url": URL, "now": NOW, "content_type": content_type}
    return parse_feed(content, **kw), parse_feed(content, fast=False, **kw)  # type: ignore[arg-type]


def taken(content: bytes, content_type: str = RSS_UTF8) -> bool:
    return fastparse.read(content, url=URL, content_type=content_type) is not None


def rss(items: str, channel: str = "<title>World</title><link>https://news.example.org/</link>",
        root: str = '<rss version="2.0"', decl: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return f"{decl}{root}><channel>{channel}{items}</channel></rss>".encode()


ITEM = ("<item><title>Troops massed at the border</title><link>https://news.example.org/a?id=1&amp;utm_source=x"
        "</link><guid isPermaLink=\"false\">a-1</guid><pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate>"
        "<description>&lt;p&gt;NATO &amp;amp; allies &lt;b&gt;warn&lt;/b&gt;&lt;/p&gt;</description></item>")


@pytest.mark.corpus
@pytest.mark.parametrize("content_type", [RSS_UTF8, "application/xml", "text/xml; charset=UTF-8"])
def test_corpus_news_fast_path_equals_feedparser(corpus: Path, content_type: str) -> None:
    paths = sorted(p for p in (corpus / "news").rglob("*") if p.is_file())
    fast = [p for p in paths if taken(p.read_bytes(), content_type)]
    # most captured news feeds are plain RSS 2.0; a change that makes the fast path decline them all fails here
    assert len(fast) >= 0.8 * len(paths)
    items = 0
    for path in fast:
        quick, slow = both(path.read_bytes(), content_type)
        assert quick == slow, path
        items += len(quick.items)
    assert items > 5000


@pytest.mark.corpus
def test_corpus_robustness_fast_path_equals_feedparser(corpus: Path) -> None:
    """feedparser's own edge cases (entities, encodings, relative links, Atom constructs): taken or declined,
    never different."""
    checked = 0
    for path in sorted(p for p in (corpus / "robustness").rglob("*") if p.is_file()):
        content = path.read_bytes()
        for content_type in ("application/xml", "text/xml"):
            if taken(content, content_type):
                quick, slow = both(content, content_type)
                assert quick == slow, (path, content_type)
                checked += 1
    assert checked > 1200


def test_plain_rss_is_taken_and_matches() -> None:
    content = rss(ITEM * 1 + ITEM.replace("a-1", "a-2").replace("id=1", "id=2"))
    assert taken(content)
    quick, slow = both(content)
    assert quick == slow
    assert (quick.parser, slow.parser) == ("fast", "feedparser")  # what the daemon's metric counts
    assert [i.title for i in quick.items] == ["Troops massed at the border"] * 2
    assert quick.items[0].summary == "NATO & allies warn"
    assert quick.items[0].link == "https://news.example.org/a?id=1&utm_source=x"


@pytest.mark.parametrize("content", [
    # a guid that is a permalink by default is resolved like a link, and becomes the link when there is none
    rss("<item><title>t</title><guid>story/7</guid></item>"),
    # Atom: the id is the link until an alternate HTML link says otherwise, whichever comes first
    b'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de_DE"><title type="html">A &amp;lt;b&amp;gt;</title>'
    b'<id>tag:x,2026:feed</id><entry><id>tag:x,2026:1</id><title>One</title>'
    b'<updated>2026-03-01T10:00:00Z</updated><summary type="html">&lt;i&gt;s&lt;/i&gt;</summary></entry>'
    b'<entry><title>Two</title><link rel="alternate" href="/two"/><link rel="enclosure" href="/x.mp3"/>'
    b'<id>urn:uuid:2</id><content type="html">&lt;p&gt;c&lt;/p&gt;</content><summary>s</summary>'
    b'<published>2026-03-01T09:00:00+01:00</published><author><name>A</name></author></entry></feed>',
    # UTF-8 that was read as Latin-1 somewhere upstream, and windows-1252 punctuation in the C1 range
    rss("<item><title>Kyiv \u00c3\u00a9t\u00c3\u00a9</title><description>\u0093quoted\u0094 \u0080</description>"
        "<guid>https://x.example/1</guid></item>"),
    # query strings written with entity-like fragments
    rss("<item><title>t</title><link>https://x.example/a?b=1&amp;amp;c=2&amp;d;=3</link></item>"),
    # content:encoded wins over description whatever their order; an empty one does not
    rss("<item><content:encoded>&lt;p&gt;full&lt;/p&gt;</content:encoded><title>t</title>"
        "<description>short</description></item><item><title>u</title><content:encoded></content:encoded>"
        "<description>only this</description></item>",
        root='<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'),
    # dates feedparser reads in its own ways, and none at all
    rss("<item><title>a</title><pubDate>2026-03-01</pubDate></item><item><title>b</title>"
        "<dc:date>2026-03-01T08:00:00+02:00</dc:date></item><item><title>c</title><pubDate>soon</pubDate></item>",
        root='<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'),
    # channel language, ttl, sy:updatePeriod and a feed-level xml:lang
    rss(ITEM, channel='<title>W</title><language>fr-FR</language><ttl>30</ttl><sy:updatePeriod>daily'
        '</sy:updatePeriod><sy:updateFrequency>4</sy:updateFrequency>',
        root='<rss version="2.0" xml:lang="ru" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'),
    # a UTF-8 byte order mark
    b"\xef\xbb\xbf" + rss(ITEM),
    # text/xml without a charset is us-ascii by RFC 3023: taken when the document is ASCII
    rss(ITEM, decl=""),
])
def test_edge_cases_match_feedparser(content: bytes) -> None:
    bare = not content.startswith((b"<?xml", b"\xef\xbb\xbf<?xml", b"<feed"))  # the one without a declaration
    content_type = "text/xml" if bare else RSS_UTF8
    assert taken(content, content_type)
    quick, slow = both(content, content_type)
    assert quick == slow


@pytest.mark.parametrize(("content", "content_type"), [
    (rss(ITEM, decl='<?xml version="1.0" encoding="iso-8859-1"?>'), RSS_UTF8),  # a declaration that disagrees
    (rss(ITEM.replace("Troops", "Trupp\u00e9s"), decl=""), "text/xml"),  # us-ascii by RFC 3023, and not ASCII
    (rss(ITEM), ""),  # no Content-Type: feedparser flags the document
    (rss(ITEM), "text/html"),
    (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY w "war">]>' + rss(ITEM, decl="").replace(b"Troops", b"&w;"),
     RSS_UTF8),
    (rss(ITEM, root='<rss version="2.0" xml:base="http://elsewhere.example/"'), RSS_UTF8),
    (rss(ITEM.replace("</title>", "</title><title>Second</title>")), RSS_UTF8),  # repeated field
    (rss(ITEM.replace("<title>", '<title type="xhtml">')), RSS_UTF8),
    (rss(ITEM.replace("</title>", "</title><media:title>Other</media:title>"),
         root='<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"'), RSS_UTF8),
    (rss(ITEM.replace("</title>", "</title><media:content url='x'><media:title>O</media:title></media:content>"),
         root='<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"'), RSS_UTF8),
    (rss(ITEM.replace("</title>", "</title><x:summary xmlns:x='urn:x'>s</x:summary>")), RSS_UTF8),
    (rss(ITEM.replace("<title>Troops", "<title>Troops <b>x</b>")), RSS_UTF8),  # markup inside a text element
    (rss("<wrapper>" + ITEM + "</wrapper>"), RSS_UTF8),  # an item feedparser finds and a tree walk would not
    (rss(ITEM, root='<rss version="0.91"'), RSS_UTF8),
    (rss(ITEM)[:-20], RSS_UTF8),  # not well-formed: feedparser's loose parser recovers what it can
    (("<?xml version='1.0' encoding='utf-16'?>" + rss(ITEM, decl="").decode()).encode("utf-16"), RSS_UTF8),
    (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>t</title><content type="xhtml"><div '
     b'xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>', "application/atom+xml"),
])
def test_unsure_documents_are_left_to_feedparser(content: bytes, content_type: str) -> None:
    assert not taken(content, content_type)
    declined = parse_feed(content, feed="f", url=URL, now=NOW, content_type=content_type)
    assert declined.parser == "feedparser"
    assert declined == parse_feed(content, feed="f", url=URL, now=NOW, content_type=content_type, fast=False)


_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)


@settings(max_examples=150, deadline=None)
@given(title=_TEXT, summary=_TEXT, link=_TEXT, guid=_TEXT, permalink=st.booleans(), date=_TEXT)
def test_any_text_in_the_common_fields_reads_as_feedparser_reads_it(
        title: str, summary: str, link: str, guid: str, permalink: bool, date: str) -> None:
    def esc(text: str) -> str:  # only what XML 1.0 allows in character data
        return html.escape("".join(c for c in text if c in "\t\n\r" or c >= " "), quote=False)

    item = (f"<item><title>{esc(title)}</title><link>{esc(link)}</link><guid isPermaLink=\"{str(permalink).lower()}"
            f"\">{esc(guid)}</guid><pubDate>{esc(date)}</pubDate><description>{esc(summary)}</description></item>")
    content = rss(item)
    assert taken(content)
    quick, slow = both(content)
    assert quick == slow
