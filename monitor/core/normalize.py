"""Text folding: one canonical form for watchlist terms and item text, with a way back to the original.

`fold()` lowercases (full case folding), applies NFKC, strips the Latin/Greek/Cyrillic diacritics
(U+0300-U+036F after decomposition: Orbán = Orban, Szijjártó = Szijjarto, ё = е) but keeps й and ї, which
are letters of their own, deletes invisible characters (soft hyphen, zero-width space, variation selectors,
Hangul fillers: core.confusables), reads a word that mixes Latin with Cyrillic or Greek look-alikes in its
majority script ("Rоssia" with a Cyrillic о is "russia"), unifies
whitespace and typographic punctuation (’ -> ', « -> ", — -> -) and turns other non-ASCII symbols into
spaces, so that the only non-word characters left are ASCII ones.

The folded text has the same length as the original for nearly all news text, so the map back is the
identity; where a character expands (ß -> ss) or disappears, a few breakpoints record it, and explanations
still point at the original characters. `WordView` then reduces the folded text to its words, so a
matcher can demand whole words by matching " war " instead of "war".

Speed matters here (every item passes through): the common path is `str.lower()` plus one regex
substitution for the rare characters that fold further; only unnormalised (decomposed) text takes a
per-character path.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cache

from monitor.core.confusables import IGNORABLE, OTHER_LETTER, mixed_words, unmix

_MARKS = re.compile("[\u0300-\u036f]")  # the diacritics of Latin, Greek and Cyrillic, after NFKD
_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_SPECIAL: dict[str, str] = {
    # letters, not letters-with-diacritics, in Russian, Ukrainian and Belarusian
    "й": "й", "Й": "й", "ї": "ї", "Ї": "ї", "ў": "ў", "Ў": "ў",
    # one apostrophe, one double quote, one dash, whatever the typography
    **dict.fromkeys("‘’‚‛′ʼ`´", "'"), **dict.fromkeys("“”„‟«»″", '"'), **dict.fromkeys("‐‑‒–—―−⁃", "-"),
    "…": ".",  # NFKC would make three characters of it; one full stop keeps the text length
}


@cache
def fold_char(char: str) -> str:
    """The folded form of one character: usually one character, sometimes none (soft hyphen) or two (ß)."""
    if char in _SPECIAL:
        return _SPECIAL[char]
    if char in IGNORABLE:  # drawn as nothing (or a blank): inside a word, it must not split or hide it
        return ""
    if char.isspace():
        return "\n" if char in _LINE_BREAKS else " "
    if unicodedata.category(char) == "Cf":  # soft hyphen, zero-width joiners, BOM: invisible inside words
        return ""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", char).casefold())
    folded = unicodedata.normalize("NFC", _MARKS.sub("", folded))
    # Symbols and punctuation beyond ASCII (•, €, ©, CJK full stops) separate words like a space does;
    # making them spaces leaves ASCII punctuation as the only non-word characters in folded text.
    return "".join(c if c.isascii() or _is_word_char(c) else " " for c in folded)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char) in ("Mn", "Mc", "Me")


def _char_class(chars: list[str]) -> str:
    """A compact regex character class ("[a-z...]") for a sorted list of characters."""
    parts: list[str] = []
    i = 0
    while i < len(chars):
        j = i
        while j + 1 < len(chars) and ord(chars[j + 1]) == ord(chars[j]) + 1:
            j += 1
        parts.append(re.escape(chars[i]) if i == j else f"{re.escape(chars[i])}-{re.escape(chars[j])}")
        i = j + 1
    return "[" + "".join(parts) + "]"


@dataclass(frozen=True, slots=True)
class _Tables:
    unit: re.Pattern[str]  # characters whose fold is one different character
    unit_map: dict[str, str]
    other: re.Pattern[str]  # characters whose fold is empty or longer, and everything beyond the BMP


@cache
def _tables() -> _Tables:
    """Built once, on first use (about 30 ms): the whole Basic Multilingual Plane, classified."""
    unit: dict[str, str] = {}
    other: list[str] = []
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        folded = fold_char(char)
        if folded != char:
            if len(folded) == 1:
                unit[char] = folded
            else:
                other.append(char)
    other_class = _char_class(other)[:-1] + "\U00010000-\U0010ffff]"
    return _Tables(re.compile(_char_class(sorted(unit))), unit, re.compile(other_class))


@dataclass(frozen=True, slots=True)
class _SpanMap:
    """Positions in a derived string -> [start, end) in its source, as sorted segments.

    A segment starting at derived position `at` is either linear (source = source_start + offset, one
    character each) or a cluster (every derived character in it comes from source[start:end]).
    """

    at: tuple[int, ...]
    start: tuple[int, ...]
    end: tuple[int, ...]  # -1 for a linear segment

    def char(self, pos: int) -> tuple[int, int]:
        k = bisect_right(self.at, pos) - 1
        if self.end[k] < 0:
            src = self.start[k] + pos - self.at[k]
            return src, src + 1
        return self.start[k], self.end[k]

    def span(self, start: int, end: int) -> tuple[int, int]:
        if end <= start:
            pos = self.char(start)[0]
            return pos, pos
        return self.char(start)[0], self.char(end - 1)[1]


@dataclass(frozen=True, slots=True)
class Folded:
    """The folded text and the way back: `span(start, end)` gives the original [start, end)."""

    original: str
    text: str
    maps: tuple[_SpanMap, ...] = ()  # applied in order: folded -> (composed ->) original

    def span(self, start: int, end: int) -> tuple[int, int]:
        for span_map in self.maps:
            start, end = span_map.span(start, end)
        return start, end

    @property
    def length_preserving(self) -> bool:
        return not self.maps


def fold(text: str) -> Folded:
    """Fold `text` for matching (see the module docstring); spans map back with `Folded.span`."""
    if text.isascii():
        return _fold_composed(text)
    folded = _fold_composed(text) if unicodedata.is_normalized("NFC", text) else _fold_decomposed(text)
    if OTHER_LETTER.search(folded.text) and (words := mixed_words(folded.text)):
        return _unmixed(folded, words)
    return folded


def _unmixed(folded: Folded, words: list[tuple[int, int]]) -> Folded:
    """Mixed-script words read in their majority script; one letter for one, so the maps stay as they are."""
    text = folded.text
    pieces, done = [], 0
    for start, end in words:
        original = "".join(folded.original[folded.span(i, i + 1)[0]] for i in range(start, end))
        pieces += [text[done:start], unmix(text[start:end], original)]
        done = end
    return Folded(folded.original, "".join([*pieces, text[done:]]), folded.maps)


def _fold_composed(text: str) -> Folded:
    source = text.replace("İ", "I") if "İ" in text else text  # the one character whose lower() grows
    tables = _tables()
    lowered = tables.unit.sub(lambda m: tables.unit_map[m.group()], source.lower())
    if tables.other.search(lowered) is None:
        return Folded(text, lowered)
    folded, span_map = _expand(lowered, tables.other)
    return Folded(text, folded, (span_map,))


def _expand(lowered: str, other: re.Pattern[str]) -> tuple[str, _SpanMap]:
    """Fold the characters that change length, recording where the positions shift."""
    pieces: list[str] = []
    at, start, end = [0], [0], [-1]
    prev = out = 0
    for m in other.finditer(lowered):
        i = m.start()
        replacement = fold_char(lowered[i])
        pieces.append(lowered[prev:i])
        out += i - prev
        if replacement:
            at.append(out)
            start.append(i)
            end.append(i + 1)
            pieces.append(replacement)
            out += len(replacement)
        at.append(out)  # linear again after the character (a later segment at the same position wins)
        start.append(i + 1)
        end.append(-1)
        prev = i + 1
    pieces.append(lowered[prev:])
    return "".join(pieces), _SpanMap(tuple(at), tuple(start), tuple(end))


def _fold_decomposed(text: str) -> Folded:
    """Text not in NFC (e.g. "Orba\u0301n"): compose it cluster by cluster, then fold that."""
    pieces: list[str] = []
    at: list[int] = []
    start: list[int] = []
    end: list[int] = []
    out = i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and unicodedata.combining(text[j]):
            j += 1
        cluster = text[i:j]
        composed = unicodedata.normalize("NFC", cluster)
        at.append(out)
        start.append(i)
        end.append(-1 if len(composed) == len(cluster) else j)
        pieces.append(composed)
        out += len(composed)
        i = j
    inner = _fold_composed("".join(pieces))  # not fold(): Hangul jamo compose across clusters, stay unNFC
    outer = _SpanMap(tuple(at), tuple(start), tuple(end)) if at else _SpanMap((0,), (0,), (-1,))
    return Folded(text, inner.text, (*inner.maps, outer))


# --- words ---

# After folding, the only non-word characters are ASCII ones: these. "_" and "*" are among them.
_ASCII_SEPARATORS = "".join(chr(c) for c in range(128) if not chr(c).isalnum())
_SEPARATOR_BYTES = bytes.maketrans(_ASCII_SEPARATORS.encode(), b" " * len(_ASCII_SEPARATORS))
_SPACE_RUN = re.compile("  +")
_TERM_WORD = re.compile("[^" + re.escape(_ASCII_SEPARATORS) + "]+\\*?")


_LONG_VIEW = 4096  # above this length, word positions are indexed once instead of counted per match
_SPACE = re.compile(" ")


@dataclass(slots=True)
class WordView:
    """The folded text as words joined by single spaces, padded: " putin warns of war ".

    Word boundaries become plain spaces, so whole-word matching is substring matching on " term ", and
    punctuation or doubled whitespace between the words of a phrase no longer matters. Positions map back
    to the folded text lazily (only documents with matches pay for it).
    """

    folded: str
    text: str = field(init=False)
    _spaced: str = field(init=False, default="")  # the folded text with every separator a space
    _lead: int = field(init=False, default=0)
    _breaks: tuple[list[int], list[int], list[int]] | None = field(init=False, default=None)
    _spaces: list[int] | None = field(init=False, default=None)  # word boundaries of a long text, for bisect

    def __post_init__(self) -> None:
        folded = self.folded
        # Separators are ASCII, so a byte-level translation (UTF-8 keeps ASCII bytes as they are) replaces
        # them with spaces without disturbing other characters; split() then collapses the runs.
        spaced = folded.encode().translate(_SEPARATOR_BYTES).decode()  # 7x str.translate's dict, even for ASCII
        self._spaced = spaced
        self._lead = len(spaced) - len(spaced.lstrip(" "))
        self.text = " " + " ".join(spaced.split()) + " "

    def _shifts(self) -> tuple[list[int], list[int], list[int]]:
        """(view positions, folded positions, shift) where each run of 2+ separators ends."""
        if self._breaks is None:
            view_at, folded_at, shifts = [0], [0], [0]
            shift = 0
            # Separators are spaces in `_spaced`, at the same positions: a run of spaces is found much faster
            # than a run of a character class.
            for m in _SPACE_RUN.finditer(self._spaced):
                if m.start() < self._lead:
                    continue  # the leading run is dropped, not shortened
                shift += m.end() - m.start() - 1
                folded_at.append(m.end())
                view_at.append(m.end() + 1 - self._lead - shift)
                shifts.append(shift)
            self._breaks = (view_at, folded_at, shifts)
        return self._breaks

    def to_folded(self, pos: int) -> int:
        """Folded position of the word character at view position `pos`."""
        view_at, _, shifts = self._breaks or self._shifts()
        return pos - 1 + self._lead + shifts[bisect_right(view_at, pos) - 1]

    def from_folded(self, pos: int) -> int:
        """View position of folded position `pos` (exact for word characters and word ends)."""
        _, folded_at, shifts = self._breaks or self._shifts()
        return max(0, pos + 1 - self._lead - shifts[bisect_right(folded_at, pos) - 1])

    def locate(self, start: int, end: int) -> tuple[int, int, int]:
        """(word index, folded start, folded end) of the words at view [start, end): `word_index` and
        `folded_span` in one call, for the matcher's every hit."""
        view_at, _, shifts = self._breaks or self._shifts()
        text = self.text
        first = text.count(" ", 0, start + 1) - 1 if len(text) < _LONG_VIEW else self.word_index(start)
        lead = self._lead - 1
        if len(view_at) == 1:  # no run of separators: the view is the folded text shifted by its lead
            return first, start + lead, end + lead
        return (first, start + lead + shifts[bisect_right(view_at, start) - 1],
                end + lead + shifts[bisect_right(view_at, end - 1) - 1])

    def folded_span(self, start: int, end: int) -> tuple[int, int]:
        """Folded [start, end) of the words at view [start, end)."""
        return self.to_folded(start), self.to_folded(end - 1) + 1

    def word_index(self, pos: int) -> int:
        """How many words come before view position `pos` (the index of the word starting there)."""
        if len(self.text) < _LONG_VIEW:
            return self.text.count(" ", 0, pos + 1) - 1  # a short text: counting is cheaper than an index
        if self._spaces is None:
            self._spaces = [m.start() for m in _SPACE.finditer(self.text)]
        return bisect.bisect_right(self._spaces, pos) - 1


def term_words(term: str) -> list[str]:
    """A watchlist term as folded words, keeping a trailing `*` (prefix wildcard) on each word."""
    return _TERM_WORD.findall(fold(term).text)
