"""OPML, the feed readers' subscription list: read outlines into feed entries, write feeds out as outlines.

Folders become tags (as do `category` attributes); everything without an http(s) xmlUrl is skipped.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from monitor.errors import MonitorError


class OpmlError(MonitorError):
    pass


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    name: str
    tags: tuple[str, ...] = ()


def read_opml(content: bytes) -> list[OpmlFeed]:
    # OPML never needs a DTD; refusing one rules out entity expansion and external entities outright.
    if re.search(rb"<!(DOCTYPE|ENTITY)", content, re.IGNORECASE):
        raise OpmlError("OPML with a DOCTYPE or ENTITY declaration is refused")
    try:
        root = ET.fromstring(content)  # noqa: S314 (no DTD, checked above: nothing left to expand or fetch)
    except ET.ParseError as exc:
        raise OpmlError(f"not well-formed XML: {exc}") from None
    body = root.find("body") if root.tag.lower() == "opml" else None
    if body is None:
        raise OpmlError("not an OPML document (no <opml><body>)")
    seen: dict[str, OpmlFeed] = {}
    for feed in _outlines(body, ()):
        seen.setdefault(feed.url, feed)
    return list(seen.values())


def _outlines(parent: ET.Element, folders: tuple[str, ...]) -> Iterator[OpmlFeed]:
    for outline in parent.findall("outline"):
        attrs = {k.lower(): v.strip() for k, v in outline.attrib.items()}
        label = attrs.get("title") or attrs.get("text") or ""
        url = attrs.get("xmlurl", "")
        if url:
            if re.match(r"^https?://[^\s/]+", url):
                categories = [c.strip("/").split("/")[-1] for c in attrs.get("category", "").split(",")]
                tags = tuple(dict.fromkeys(_tag(t) for t in (*folders, *categories) if _tag(t)))
                yield OpmlFeed(url, label or url, tags)
        else:
            yield from _outlines(outline, (*folders, label) if label else folders)


def _tag(text: str) -> str:
    return re.sub(r"[^\w-]+", "-", text.strip().lower()).strip("-")


def write_opml(feeds: Iterable[OpmlFeed], *, title: str, now: datetime) -> bytes:
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = now.strftime("%a, %d %b %Y %H:%M:%S GMT")
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {"type": "rss", "text": feed.name, "title": feed.name, "xmlUrl": feed.url}
        if feed.tags:
            attrs["category"] = ",".join(feed.tags)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + xml + b"\n"
