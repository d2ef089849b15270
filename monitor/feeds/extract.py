"""The main text of an article page (issue 18): trafilatura keeps the article's paragraphs and drops what a news
site puts around them (navigation, share buttons, related links, comments, the footer and the cookie banner).

CPU work (lxml's parse and trafilatura's heuristics: a few milliseconds for a typical page, more for a large
one), so the poll runs it in a parse worker (monitor.feeds.pool.CpuPool.run), never on the event loop. A pure
function of its arguments: trafilatura is given the page, never a URL to fetch.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import html
import re
from configparser import ConfigParser

from monitor.core.fulltext import ArticleText, bounded

MAX_TREE = 100_000  # elements: a page past this is no article, and trafilatura would spend seconds on it
MIN_TEXT = 100  # characters: less is a caption or a "Watch" under a video, not the reporting the item stands for
_CHARSET = re.compile(rb"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_PAYWALL = re.compile(rb"[\"']?isAccessibleForFree[\"']?\s*(?::|content=)\s*[\"']?false", re.IGNORECASE)
# Where a page names its headline; quantifiers bounded, and only the page's head searched, so a hostile page of
# unclosed <h1> tags costs linear time.
_HEADLINES = tuple(re.compile(pattern, re.IGNORECASE | re.DOTALL) for pattern in (
    r"<h1\b[^>]{0,500}>(.{0,500}?)</h1>", r"<title\b[^>]{0,200}>(.{0,500}?)</title>",
    r"property=[\"']og:title[\"']\s+content=[\"']([^\"']{0,500})"))
_HEAD = 300_000  # characters searched for the headline
_TAG = re.compile(r"<[^>]*>")
_TITLE_SEPARATORS = (" |", " -", " \u2013", " \u2014", " :", " ::")  # "Headline | Site name"


def read_page(content: bytes, url: str, content_type: str, max_bytes: int) -> ArticleText:
    """What the page gives: its main text ("read"), nothing an extractor recognises as one ("no_text": a video or
    gallery page, a front page), or a paywall's teaser ("paywalled": the page says so in the schema.org markup
    news sites give search engines; a teaser says no more than the feed's summary)."""
    if _PAYWALL.search(content):
        return ArticleText("paywalled", detail="the page says isAccessibleForFree: false")
    text = main_text(content, url, content_type, max_bytes)
    if len(text) < MIN_TEXT:
        return ArticleText("no_text", detail=f"{len(text)} characters of main text" if text else "")
    return ArticleText("read", text)


def main_text(content: bytes, url: str, content_type: str, max_bytes: int) -> str:
    """The article's main text without its headline (the item has it), paragraphs on lines of their own, at most
    `max_bytes` of UTF-8; "" if there is none."""
    import trafilatura  # here, not at the top: ~120 ms of imports only the processes that extract should pay

    page = _decoded(content, content_type)
    text = trafilatura.extract(page, url=url, include_comments=False, favor_precision=True, with_metadata=False,
                               config=_config())
    return bounded(_without_headline(_BLANK_LINES.sub("\n", text or "").strip(), page), max_bytes)


def warm_extractor() -> None:
    """Import trafilatura and build its configuration now: a parse worker does it as it starts, so the first article
    of a round does not wait for it (several hundred milliseconds of CPU on a busy 2-core machine)."""
    _config()


@functools.cache
def _config() -> ConfigParser:
    from trafilatura.settings import use_config

    config = use_config()
    config["DEFAULT"]["MAX_TREE_SIZE"] = str(MAX_TREE)
    return config


def _decoded(content: bytes, content_type: str) -> str:
    """The page as text: in the charset the server declared, else the one the page declares in its first
    kilobytes (<meta charset>), else UTF-8; undecodable bytes become U+FFFD rather than failing the page."""
    declared = _CHARSET.search(content_type.encode("latin-1", "replace")) or _CHARSET.search(content[:4096])
    codec = "utf-8"
    if declared:
        with contextlib.suppress(LookupError):  # a charset Python does not know: UTF-8 is the likeliest then
            codec = codecs.lookup(declared.group(1).decode("ascii", "replace")).name
    # lxml refuses a str that still carries an XML declaration naming an encoding (XHTML pages)
    return _XML_DECLARATION.sub("", content.decode(codec, errors="replace"), count=1)


def _without_headline(text: str, page: str) -> str:
    """Extractors keep the <h1> when it sits inside the article's container; the item's own title says it."""
    first, _, rest = text.partition("\n")
    line = _plain(first)
    for pattern in _HEADLINES:
        match = pattern.search(page, 0, _HEAD)
        headline = _plain(match.group(1)) if match else ""
        if line and (headline == line or headline.startswith(tuple(line + s for s in _TITLE_SEPARATORS))):
            return rest
    return text


def _plain(markup: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", markup)).split()).casefold()
