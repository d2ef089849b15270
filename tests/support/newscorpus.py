"""Items from the shared news corpus, read the way the service reads feeds (monitor.feeds.parse)."""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path

from monitor.core.html import html_to_text
from monitor.domain import Item
from monitor.feeds.parse import parse_feed

NOW = datetime(2027, 1, 1, tzinfo=UTC)  # after every capture, so no publication date is clamped


@cache
def load_items(path: Path) -> tuple[Item, ...]:
    """Entries of one corpus file in document order; `feed` is the file's path under the corpus root."""
    name = "/".join(path.parts[-3:])
    if path.parent.name == "spz-xmls-content-feed":
        return _content_feed(path, name)
    return tuple(parse_feed(path.read_bytes(), feed=name, url=f"file:///{name}", now=NOW).items)


def _content_feed(path: Path, name: str) -> tuple[Item, ...]:
    """SPZ's custom <content-feed> captures: summaries are HTML escaped twice."""
    items = []
    for n, node in enumerate(ET.parse(path).getroot().iter("item")):
        title = html_to_text(node.findtext("title") or "")
        summary = html_to_text(html.unescape(node.findtext("summary") or ""))
        published = _date(node.findtext("published") or "")
        items.append(Item(uid=f"{name}#{n}", feed=name, title=title, link=node.findtext("link") or "",
                          summary=summary, published=published))
    return tuple(items)


def _date(text: str) -> datetime:
    try:
        value = parsedate_to_datetime(text)
    except ValueError:
        value = datetime.fromisoformat(text)
    return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)


def find_item(corpus: Path, file: str, title: str) -> Item:
    """The first entry of `file` (relative to the corpus root) whose title is exactly `title`."""
    for item in load_items(corpus / file):
        if item.title == title:
            return item
    raise LookupError(f"no item titled {title!r} in {file}")
