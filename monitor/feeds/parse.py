"""feedparser bytes -> normalised Items. CPU-bound: callers run it off the event loop (monitor.feeds.pool).

Robust to what real feeds do: not well-formed XML (feedparser's loose parser recovers entries: kept), wrong
or missing charsets (feedparser re-detects), entities, relative links (resolved against the final URL),
missing or repeated guids, missing, placeholder or future dates. Titles and summaries become plain text.
"""

from __future__ import annotations

import calendar
import hashlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from monitor.core.cadence import OLDEST_PLAUSIBLE
from monitor.core.html import collapse, html_to_text
from monitor.core.urls import canonical_url, is_article_url
from monitor.domain import Item
from monitor.feeds import fastparse
from monitor.feeds.fastparse import RawFeed

MAX_SUMMARY = 4000
MAX_TITLE = 1000  # a hostile feed's 9 MB title must not reach the database, the page or an alert
PARSERS = ("fast", "feedparser")  # which one read a document (ParsedFeed.parser, a metric's label)
MAX_UID = 500
# bozo reasons about the HTTP metadata, not the document: the entries are as good as in any other feed
_SOFT_BOZO = frozenset({"CharacterEncodingOverride", "CharacterEncodingUnknown", "NonXMLContentType"})


@dataclass(frozen=True)
class ParsedFeed:
    items: list[Item]
    bozo: bool = False
    bozo_message: str = ""
    title: str = ""
    ttl_seconds: float | None = None  # the feed's own <ttl> / sy:updatePeriod, a politeness floor
    version: str = ""  # rss20, atom10, ... ; "" when feedparser found no feed at all
    dates: tuple[datetime, ...] = ()  # the publication dates the feed really gave (for its cadence)
    skipped: int = 0  # entries with neither title nor text, or repeating an earlier entry
    bozo_kind: str = ""  # the bozo exception's class, e.g. SAXParseException, CharacterEncodingOverride
    parser: str = field(default="feedparser", compare=False)  # or "fast" (monitor.feeds.fastparse): a metric

    @property
    def broken(self) -> bool:
        """Not a document feedparser could read as a feed (rather than merely an untidy one)."""
        return not self.version or (self.bozo and self.bozo_kind not in _SOFT_BOZO)


@dataclass(frozen=True)
class _Entry:
    guid: str
    link: str
    canonical: str
    title: str
    summary: str
    published: datetime
    date_text: str  # as written: stable across polls, unlike a fallback of "now"


def parse_feed(content: bytes, *, feed: str, url: str, now: datetime, content_type: str = "",
               language: str | None = None, tags: tuple[str, ...] = (), fast: bool = True) -> ParsedFeed:
    """`fast`: try monitor.feeds.fastparse first (off only to compare it with feedparser)."""
    quick = fastparse.read(content, url=url, content_type=content_type) if fast else None
    raw = quick or _feedparser(content, url=url, content_type=content_type)
    lang = language or (raw.feed.get("language") or "").split("-")[0].lower() or None
    home = (raw.feed.get("link") or "").strip()
    entries = [e for entry in raw.entries if (e := _entry(entry, base=url, now=now)) is not None]
    items = _items(entries, feed=feed, ignore_guids={url, home}, language=lang, tags=tags)
    exception = raw.exception
    dates = tuple(e.published for e in entries if e.date_text and e.published < now)
    return ParsedFeed(items, raw.bozo, str(exception or "")[:500], collapse(raw.feed.get("title", "")),
                      _ttl(raw.feed), raw.version, dates, len(raw.entries) - len(items),
                      type(exception).__name__ if exception is not None else "",
                      "fast" if quick is not None else "feedparser")


def _feedparser(content: bytes, *, url: str, content_type: str) -> RawFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # No sanitising or URI rewriting inside markup: it is a third of feedparser's time and all markup is
    # turned into plain text below anyway (entry links are still resolved, against content-location).
    parsed = feedparser.parse(io.BytesIO(content), response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=False)
    return RawFeed(parsed.feed, parsed.entries, parsed.get("version") or "", bool(parsed.bozo),
                   parsed.get("bozo_exception") if parsed.bozo else None)


def _entry(entry: Any, *, base: str, now: datetime) -> _Entry | None:
    # Cut before and after the markup is removed: the cut before bounds the work, the one after the length.
    title = html_to_text((entry.get("title", "") or "")[:MAX_TITLE * 8])[:MAX_TITLE]
    summary = _summary(entry)
    if not title and not summary:
        return None
    link = (entry.get("link") or "").strip()
    if link and not link.startswith(("http://", "https://")):  # feedparser resolved most already
        link = urljoin(base, link)
    if urlsplit(link).scheme not in ("http", "https"):
        link = ""  # javascript:, data:, mailto: ... are no article links
    published, date_text = _published(entry, now)
    return _Entry(guid=str(entry.get("id") or "").strip(), link=link, canonical=canonical_url(link),
                  title=title or summary[:120], summary=summary, published=published, date_text=date_text)


def _items(entries: list[_Entry], *, feed: str, ignore_guids: set[str], language: str | None,
           tags: tuple[str, ...]) -> list[Item]:
    """One Item per distinct entry. A guid shared by entries that link different pages identifies none of
    them, so those fall back to their link (or a content hash); repeats of the same entry are dropped."""
    links_per_guid: dict[str, set[str]] = {}
    for e in entries:
        links_per_guid.setdefault(e.guid, set()).add(e.canonical or e.title)
    items: dict[str, Item] = {}
    for e in entries:
        reliable = e.guid and e.guid not in ignore_guids and len(links_per_guid[e.guid]) == 1
        uid = (e.guid if reliable else _fallback_uid(e))[:MAX_UID]
        if uid not in items:
            items[uid] = Item(uid=uid, feed=feed, title=e.title, link=e.link, summary=e.summary,
                              published=e.published, canonical_url=e.canonical, language=language, tags=tags)
    return list(items.values())


def _fallback_uid(e: _Entry) -> str:
    if e.canonical and is_article_url(e.canonical):
        return e.canonical
    digest = hashlib.sha1(f"{e.title}\x00{e.date_text}\x00{e.summary[:200]}".encode(), usedforsecurity=False)
    return "sha1:" + digest.hexdigest()


def _summary(entry: Any) -> str:
    for content in entry.get("content") or ():
        value = content.get("value")
        if value:
            return html_to_text(value)[:MAX_SUMMARY]
    return html_to_text(entry.get("summary", "") or "")[:MAX_SUMMARY]


def _published(entry: Any, now: datetime) -> tuple[datetime, str]:
    """(UTC date, the date as written). A missing or placeholder date (1970, year 1) becomes `now`; a future
    one is clamped to `now`: a feed's clock is not ours, and "published tomorrow" must not sort first."""
    for key in ("published", "updated", "created"):
        struct = entry.get(f"{key}_parsed")
        if not struct:
            continue
        try:
            when = datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
        except (OverflowError, ValueError, OSError):
            continue
        if when >= OLDEST_PLAUSIBLE:
            return min(when, now), str(entry.get(key, ""))
    return now, ""


def _ttl(feed: Any) -> float | None:
    try:
        if ttl := feed.get("ttl"):
            return float(ttl) * 60
        period = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000, "yearly": 31536000}
        if (unit := str(feed.get("sy_updateperiod", "")).strip().lower()) in period:
            return period[unit] / max(1.0, float(feed.get("sy_updatefrequency") or 1))
    except (TypeError, ValueError):
        return None
    return None
