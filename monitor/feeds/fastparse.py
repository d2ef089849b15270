"""The fast path for the common document: well-formed UTF-8 RSS 2.0 or Atom 1.0 made only of elements whose
treatment by feedparser we reproduce exactly. It returns the same feed and entry fields feedparser would for
everything `monitor.feeds.parse` reads (a differential test over the corpus holds it to that), about seven
times cheaper: expat builds the tree in C, where feedparser calls Python for every tag and text chunk.

Anything it is not sure of (another encoding, a DOCTYPE, xml:base, markup inside a text element, a repeated
field, an element feedparser might map onto a field we read) makes it decline with None, and feedparser
parses the document as before. Declining is always safe; guessing is not.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from feedparser.datetimes import _parse_date  # feedparser's own date parser: the same dates, by construction
from feedparser.encodings import parse_content_type
from feedparser.html import _cp1252
from feedparser.urls import _urljoin

ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_SY = "{http://purl.org/rss/1.0/modules/syndication/}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# Never on the fast path: entity declarations and DTDs (feedparser rewrites some), xml:base (it changes how
# links resolve), CDATA inside text is fine. A byte search costs microseconds.
_DECLINE = (b"<!DOCTYPE", b"<!ENTITY", b"xml:base")
_XML_ENCODING = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_UTF8 = ("utf-8", "utf8")
_APPLICATION_XML = ("application/xml", "application/xml-dtd", "application/xml-external-parsed-entity")
_TEXT_XML = ("text/xml", "text/xml-external-parsed-entity")
_ENTITY_IN_LINK = re.compile("&([A-Za-z0-9_]+);")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_SHORT_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}

# Entry children feedparser files under keys we never read, and whose handlers touch no state we depend on.
# They may not hold elements (media:content can hold a media:title, which feedparser takes as the title).
_IGNORED = frozenset({
    "category", "author", "comments", "enclosure", "source",
    _DC + "creator", _DC + "subject", _DC + "identifier", _DC + "language", _DC + "rights", _DC + "publisher",
    _DC + "type", _DC + "format",
    _MEDIA + "content", _MEDIA + "thumbnail", _MEDIA + "credit", _MEDIA + "keywords", _MEDIA + "category",
    _MEDIA + "rating", _MEDIA + "copyright",
    "{http://wellformedweb.org/CommentAPI/}commentRss", "{http://wellformedweb.org/CommentAPI/}comment",
    "{http://purl.org/rss/1.0/modules/slash/}comments", "{http://rssnamespace.org/feedburner/ext/1.0}origLink",
    ATOM + "category", ATOM + "rights",
})
# Atom people: their children (name, email, uri) only fill author details.
_PEOPLE = frozenset({ATOM + "author", ATOM + "contributor"})
_PERSON_PARTS = frozenset({ATOM + "name", ATOM + "email", ATOM + "uri"})
_DATES = {"pubDate": "published", ATOM + "published": "published", ATOM + "updated": "updated",
          _DC + "date": "updated", "updated": "updated"}
# Channel children that feedparser maps onto the feed's title, link or language.
_CHANNEL_MAPPED = frozenset({"guid", "id", _DC + "title", _DC + "language", _MEDIA + "title", ATOM + "title",
                             ATOM + "id", "{http://purl.org/dc/terms/}title"})
_SINGLE = frozenset({"title", "description", "guid", "link", _CONTENT + "encoded", ATOM + "title", ATOM + "id",
                     ATOM + "summary", ATOM + "content", *_DATES})


class _Decline(Exception):
    """This document is feedparser's to read."""


@dataclass(frozen=True)
class RawFeed:
    """The part of feedparser's result that monitor.feeds.parse reads, from either parser."""

    feed: Mapping[str, Any]
    entries: Sequence[Mapping[str, Any]]
    version: str  # rss20, atom10, ... ; "" when no feed was found
    bozo: bool = False
    exception: Exception | None = None


def read(content: bytes, *, url: str, content_type: str) -> RawFeed | None:
    """The document's feed and entries as feedparser would give them, or None when it must be feedparser's."""
    if not _utf8(content, content_type) or any(marker in content for marker in _DECLINE):
        return None
    try:
        # S314: no DTD reaches expat (refused above), so no entity can expand or fetch anything
        root = ET.fromstring(content)  # noqa: S314
        if root.tag == "rss" and root.get("version", "").startswith("2."):
            return _rss(root, url)
        if root.tag == ATOM + "feed":
            return _atom(root, url)
    except (ET.ParseError, _Decline, ValueError, LookupError):  # LookupError: an encoding expat lacks
        return None
    return None


def _utf8(content: bytes, content_type: str) -> bool:
    """True when feedparser would decode the document as UTF-8 without complaint (RFC 3023, as it applies it)
    and expat would too. No Content-Type makes feedparser flag the document, so it declines as well."""
    if content[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in content[:4]:
        return False  # UTF-16 or UTF-32, which expat would detect on its own whatever the header says
    media, charset = parse_content_type(content_type)
    match = _XML_ENCODING.match(content[:200])
    declared = match.group(1).decode("ascii", "replace").lower() if match else ""
    if declared not in ("", *_UTF8):
        return False
    if media in _APPLICATION_XML or (media.startswith("application/") and media.endswith("+xml")):
        return (charset or declared or "utf-8").lower() in _UTF8
    if media in _TEXT_XML or (media.startswith("text/") and media.endswith("+xml")):
        return charset.lower() in _UTF8 or (not charset and content.isascii())  # RFC 3023 says us-ascii
    return False


def _text(value: str | None) -> str:
    """What feedparser's pop() makes of an element's text, short of URI resolution (callers do that first)."""
    return _finish((value or "").strip())


def _finish(text: str) -> str:
    if text.isascii():  # neither repair below changes ASCII; str.translate looked up every character
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):  # as feedparser: UTF-8 read as Latin-1
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_cp1252)


def _plain(element: ET.Element) -> str:
    """The text of an element that holds no markup: with child elements feedparser keeps the markup."""
    if len(element):
        raise _Decline
    return element.text or ""


def _rss(root: ET.Element, base: str) -> RawFeed:
    channels = list(root)
    if len(channels) != 1 or channels[0].tag != "channel":
        raise _Decline
    feed: dict[str, Any] = {}
    if lang := root.get(_XML_LANG) or root.get("lang"):
        feed["language"] = lang.replace("_", "-")
    entries = []
    for child in channels[0]:
        tag = child.tag
        if tag == "item":
            entries.append(_entry(child, base))
        elif tag == "title" and "title" not in feed:
            feed["title"] = _text(_plain(child))
        elif tag == "link" and not child.attrib:
            feed["link"] = _link_text(_plain(child), base, entry=False)
        elif tag in ("language", "ttl"):
            feed[tag] = _text(_plain(child))
        elif tag in (_SY + "updatePeriod", _SY + "updateFrequency"):
            feed["sy_" + tag[len(_SY):].lower()] = _text(_plain(child))
        elif tag in _CHANNEL_MAPPED or (tag == ATOM + "link" and child.get("rel", "alternate").lower() == "alternate"):
            raise _Decline  # another source for a field we read: feedparser's precedence is not worth copying
    _only_these_entries(root, len(entries))
    return RawFeed(feed, entries, "rss20")


def _atom(root: ET.Element, base: str) -> RawFeed:
    feed: dict[str, Any] = {}
    if lang := root.get(_XML_LANG) or root.get("lang"):
        feed["language"] = lang.replace("_", "-")
    entries = []
    for child in root:
        tag = child.tag
        if tag == ATOM + "entry":
            entries.append(_entry(child, base))
        elif tag == ATOM + "title" and "title" not in feed:
            _textual(child)
            feed["title"] = _text(_plain(child))
        elif tag == ATOM + "link":
            _atom_link(child, base, feed)
        elif tag == ATOM + "id":
            _guid(child, base, feed)
        elif tag in _CHANNEL_MAPPED:
            raise _Decline
    _only_these_entries(root, len(entries))
    return RawFeed(feed, entries, "atom10")


def _only_these_entries(root: ET.Element, count: int) -> None:
    """feedparser starts an entry at any element named item or entry, in any case and any namespace."""
    found = sum(1 for e in root.iter() if isinstance(e.tag, str) and e.tag.rpartition("}")[2].lower()
                in ("item", "entry"))
    if found != count:
        raise _Decline


def _entry(item: ET.Element, base: str) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    seen: set[str] = set()
    for child in item:
        tag = child.tag
        if tag in _SINGLE:
            if tag in seen:
                raise _Decline  # feedparser treats a second description as content, a second title as nothing
            seen.add(tag)
        if tag in ("title", ATOM + "title"):
            _textual(child)
            entry["title"] = _text(_plain(child))
        elif tag in ("description", ATOM + "summary"):
            _textual(child)
            entry["summary"] = _text(_plain(child))
        elif tag in (_CONTENT + "encoded", ATOM + "content"):
            _content(child, entry)
        elif tag in _DATES:
            key = _DATES[tag]
            value = _text(_plain(child))
            entry[key], entry[key + "_parsed"] = value, _parse_date(value)
        elif tag in ("guid", ATOM + "id"):
            _guid(child, base, entry)
        elif tag == "link":
            if child.attrib:
                raise _Decline
            entry["link"] = _link_text(_plain(child), base)
        elif tag == ATOM + "link":
            _atom_link(child, base, entry)
        elif tag in _PEOPLE:
            if any(part.tag not in _PERSON_PARTS or len(part) for part in child):
                raise _Decline
        elif tag not in _IGNORED or len(child):
            raise _Decline
    return entry


def _content(child: ET.Element, entry: dict[str, Any]) -> None:
    kind = _textual(child)
    if child.tag == _CONTENT + "encoded":
        kind = "text/html"  # its fixed type (_textual refused any attribute that could say otherwise)
    value = _text(_plain(child))
    entry.setdefault("content", []).append({"value": value})
    if kind in ("text/plain", *_HTML_TYPES):
        entry.setdefault("summary", value)


def _textual(element: ET.Element) -> str:
    """The content type of a text construct: plain text or HTML are read as text; XHTML and the rest decline."""
    if any(key not in ("type", _XML_LANG) for key in element.attrib):
        raise _Decline  # mode (Atom 0.3's base64 and escaped), src, or something feedparser may act on
    kind = _content_type(element.get("type", "text"))
    if kind not in ("text/plain", "text/html"):
        raise _Decline
    return kind


def _content_type(value: str) -> str:
    """As feedparser's map_content_type: Atom's short names as media types."""
    kind = value.lower()
    return _SHORT_TYPES.get(kind, kind)


def _guid(element: ET.Element, base: str, entry: dict[str, Any]) -> None:
    """A guid (or Atom id) is a link unless isPermaLink says otherwise, and is resolved like one."""
    attrs = {key.lower(): value for key, value in element.attrib.items()}
    is_link = attrs.get("ispermalink", "true") == "true"
    value = _plain(element).strip()
    if value and is_link:
        value = _urljoin(base, value)
    value = _finish(value)
    entry["id"] = value
    if is_link:
        entry.setdefault("link", value)


def _link_text(text: str, base: str, *, entry: bool = True) -> str:
    value = text.strip()
    if value:
        value = _urljoin(base, value)
    value = _finish(value)
    if entry:
        value = value.replace("&amp;", "&")
    return _ENTITY_IN_LINK.sub(r"&\g<1>", value)  # feedparser's repair of "?a=1&b;=2"


def _atom_link(element: ET.Element, base: str, into: dict[str, Any]) -> None:
    """An Atom link element: its href becomes the link when it is an alternate HTML page."""
    if len(element):
        raise _Decline
    attrs = {key.lower(): value for key, value in element.attrib.items()}
    href = attrs.get("url", attrs.get("uri", attrs.get("href")))
    if not href:
        raise _Decline  # a link given as text: rare, and handled differently
    rel = attrs.get("rel", "alternate").lower()
    kind = _content_type(attrs.get("type", "application/atom+xml" if rel == "self" else "text/html"))
    if rel == "alternate" and kind in _HTML_TYPES:
        into["link"] = _urljoin(base, href)
