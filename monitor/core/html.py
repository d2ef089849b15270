"""Feed HTML -> plain text. Feed markup is untrusted and never reaches a channel."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

_BLOCK = frozenset({"p", "br", "div", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                    "blockquote", "section", "article", "figure", "figcaption", "table", "hr"})
_DROP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg", "head", "title"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_NEWLINES = re.compile(r"\s*\n\s*")
# C0/C1 controls other than whitespace, bidi overrides and isolates, and BOMs: invisible in a channel, but they
# can reorder the text an analyst reads (and NUL breaks some channels outright). Joiners and LRM/RLM stay:
# Persian, Urdu and emoji need them.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self.dropping += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP:
            self.dropping = max(0, self.dropping - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Text content with markup, scripts and styles removed and whitespace collapsed (paragraphs kept as one space)."""
    if "<" not in markup and "&" not in markup:
        return collapse(markup)
    simple = _simple(markup)
    if simple is not None:
        return collapse(simple)
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return collapse("".join(parser.parts))


# A plain tag: a name of letters and digits, attributes with plain names and quoted or unquoted values. html.parser
# is pure Python, and a feed summary's few paragraphs, links and images were a quarter of a parse worker's time.
_TAG = re.compile(r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z][-a-zA-Z0-9_:.]*"""
                  r"""(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(/?)>""")


def _simple(markup: str) -> str | None:
    """What _Text makes of markup made only of plain tags (above) and text, or None for anything else (comments,
    CDATA, declarations, a stray "<", the elements whose content is dropped): html.parser reads those. A test
    holds the two equal on generated markup and on every summary of the corpus."""
    parts: list[str] = []
    at = 0
    for tag in _TAG.finditer(markup):
        text = markup[at:tag.start()]
        if "<" in text:
            return None
        parts.append(unescape(text) if "&" in text else text)
        closing, name, attributes, empty = tag.groups()
        name = name.lower()
        if name in _DROP or (closing and (attributes or empty)):
            return None
        if name in _BLOCK:
            parts.append("\n\n" if empty else "\n")  # <br/>: html.parser calls the start and the end handler
        at = tag.end()
    text = markup[at:]
    if "<" in text:
        return None
    parts.append(unescape(text) if "&" in text else text)
    return "".join(parts)


def collapse(text: str) -> str:
    """One line of plain text: control characters dropped, every run of whitespace one space."""
    if text.isascii():  # the same in two C calls: the ASCII whitespace left is what str.split splits on
        return " ".join(text.encode("ascii").translate(None, _ASCII_CONTROLS).decode("ascii").split())
    return _NEWLINES.sub(" ", _SPACES.sub(" ", _CONTROLS.sub("", text))).strip()


_ASCII_CONTROLS = bytes(c for c in range(128) if _CONTROLS.match(chr(c)))
