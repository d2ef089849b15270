"""feedparser bytes -> normalised Items. CPU-bound: callers run it off the event loop."""

from __future__ import annotations

import calendar
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.core.html import collapse, html_to_text
from monitor.core.urls import canonical_url
from monitor.domain import Item

MAX_SUMMARY = 4000


@dataclass(frozen=True)
class ParsedFeed:
    items: list[Item]
    bozo: bool = False
    bozo_message: str = ""
    title: str = ""
    ttl_seconds: float | None = None  # the feed's own <ttl> / sy:updatePeriod, a politeness floor


def parse_feed(content: bytes, *, feed: str, url: str, now: datetime, content_type: str = "",
               language: str | None = None, tags: tuple[str, ...] = ()) -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(io.BytesIO(content), response_headers=headers)
    lang = language or (parsed.feed.get("language") or "").split("-")[0].lower() or None
    items = [item for entry in parsed.entries
             if (item := _item(entry, feed=feed, base=url, now=now, language=lang, tags=tags)) is not None]
    message = str(parsed.get("bozo_exception", "")) if parsed.bozo else ""
    return ParsedFeed(items, bool(parsed.bozo), message, collapse(parsed.feed.get("title", "")), _ttl(parsed.feed))


def _item(entry: Any, *, feed: str, base: str, now: datetime, language: str | None,
          tags: tuple[str, ...]) -> Item | None:
    title = html_to_text(entry.get("title", ""))
    summary = _summary(entry)
    link = entry.get("link") or ""
    link = urljoin(base, link.strip()) if link else ""
    if not title and not summary:
        return None
    published = _published(entry, now)
    canonical = canonical_url(link)
    guid = (entry.get("id") or "").strip()
    if not guid or guid == base:
        guid = canonical or "sha1:" + hashlib.sha1(
            f"{title}\x00{published.isoformat()}\x00{summary[:200]}".encode(), usedforsecurity=False).hexdigest()
    if not title:
        title = summary[:120]
    return Item(uid=guid[:500], feed=feed, title=title, link=link, summary=summary, published=published,
                canonical_url=canonical, language=language, tags=tags)


def _summary(entry: Any) -> str:
    for content in entry.get("content") or ():
        value = content.get("value")
        if value:
            return html_to_text(value)[:MAX_SUMMARY]
    return html_to_text(entry.get("summary", "") or "")[:MAX_SUMMARY]


def _published(entry: Any, now: datetime) -> datetime:
    """UTC; missing dates become `now`, future dates are clamped to `now` (a feed's clock is not ours)."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        struct = entry.get(key)
        if struct:
            try:
                when = datetime.fromtimestamp(calendar.timegm(struct), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
            return min(when, now)
    return now


def _ttl(feed: Any) -> float | None:
    try:
        if ttl := feed.get("ttl"):
            return float(ttl) * 60
        period = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000, "yearly": 31536000}
        if (unit := feed.get("sy_updateperiod")) in period:
            return period[unit] / max(1.0, float(feed.get("sy_updatefrequency") or 1))
    except (TypeError, ValueError):
        return None
    return None
