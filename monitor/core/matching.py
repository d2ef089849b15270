"""One compiled matcher for every watchlist term, actor alias and negation/hedge cue at once.

Terms are folded (normalize.fold) and looked up in the item's WordView, where words are separated by
single spaces: the automaton key for "war" is " war ", so it cannot match inside "award", "warm" or
"Warsaw", and Cyrillic letters are word characters like any other. A trailing `*` makes the last word a
prefix (" escalat" then extended to the end of the word); a `*` on an earlier word ("ядерн* удар*") keys
the automaton on the literal part and checks the rest with a small regex at that one position.

Aho-Corasick (pyahocorasick) makes the cost one pass over the text plus the matches found, whatever
the number of terms. Keywords given as regular expressions (Keyword.regex) are the exception: each is
searched separately over the folded text, so they are for the rare term that needs one; they run on RE2
(core.patterns), in time linear in the text, so a user's pattern cannot stall a worker.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NamedTuple

import ahocorasick

from monitor.core.cues import Cue
from monitor.core.fuzzy import FuzzyActors
from monitor.core.normalize import Folded, WordView, term_words
from monitor.core.patterns import Gate, Pattern, compile_pattern
from monitor.domain import Watchlist

HitKind = Literal["keyword", "actor", "place", "cue"]
CUE_OWNER = -1  # cues belong to no watchlist


class Hit(NamedTuple):
    """One match. Positions: folded text [start, end) and words [first, last) of the WordView.

    A named tuple, not a frozen dataclass: an item makes several, and a tuple is made in a third of the time."""

    owner: int  # watchlist index, or CUE_OWNER
    kind: HitKind
    ref: int  # index into the watchlist's keywords or actors, or into the cue list
    start: int
    end: int
    first: int
    last: int
    similarity: float = 100.0  # below 100 for a fuzzy actor match


@dataclass(frozen=True, slots=True)
class _Entry:
    owner: int
    kind: HitKind
    ref: int
    prefix: bool  # the last word of the key is a prefix of the word in the text
    verify: re.Pattern[str] | None  # for wildcards before the last word
    words: int  # how many words a match covers, known when compiled; 0 for a `verify` match, which is counted


@dataclass(frozen=True, slots=True)
class CompiledTerm:
    key: str  # " nuclear strike " or, for a prefix, " escalat"
    prefix: bool
    verify: re.Pattern[str] | None


NUMBER = "{number}"  # in a term: any run of digits ("day {number} of")


@lru_cache(maxsize=200_000)  # a watchlist's draft recompiles its version's terms (and the gazetteer's places)
def compile_term(term: str) -> CompiledTerm | None:
    """The automaton key for a term, or None if it has no word characters at all (or, with NUMBER, none
    before it: the automaton starts from a literal)."""
    if NUMBER in term:
        before, after = term.split(NUMBER, 1)
        head, tail = term_words(before), term_words(after)
        if not head or any(w.endswith("*") for w in (*head, *tail)):
            return None
        rest = " ".join([*map(re.escape, head), r"\d+", *map(re.escape, tail)])
        return CompiledTerm(" " + " ".join(head) + " ", True, re.compile(" " + rest + "(?= )"))
    words = term_words(term)
    if not words:
        return None
    star = next((i for i, w in enumerate(words) if w.endswith("*")), None)
    if star is None:
        return CompiledTerm(" " + " ".join(words) + " ", False, None)
    key = " " + " ".join([*words[:star], words[star][:-1]])
    if star == len(words) - 1:
        return CompiledTerm(key, True, None)
    rest = " ".join(re.escape(w[:-1]) + "[^ ]*" if w.endswith("*") else re.escape(w) for w in words)
    return CompiledTerm(key, True, re.compile(" " + rest + "(?= )"))


class Matcher:
    """Compiled once per set of watchlists (the Scorer holds one); `find` is called per item."""

    def __init__(self, watchlists: Sequence[Watchlist], cues: Sequence[Cue]) -> None:
        entries: dict[str, list[_Entry]] = {}

        def add(term: str, owner: int, kind: HitKind, ref: int) -> None:
            compiled = compile_term(term)
            if compiled is not None:
                # A match of the key alone covers the key's words (a trailing `*` ends its word); one that `verify`
                # extends is counted when found.
                words = 0 if compiled.verify is not None else compiled.key.strip(" ").count(" ") + 1
                entry = _Entry(owner, kind, ref, compiled.prefix, compiled.verify, words)
                entries.setdefault(compiled.key, []).append(entry)

        self._regexes: list[tuple[int, int, str | None, Pattern]] = []
        for owner, wl in enumerate(watchlists):
            for ref, kw in enumerate(wl.keywords):
                if kw.regex:
                    language = kw.language.split("-")[0].lower() if kw.language else None
                    self._regexes.append((owner, ref, language, compile_pattern(kw.term)))
                else:
                    add(kw.term, owner, "keyword", ref)
            for ref, actor in enumerate(wl.actors):
                for alias in dict.fromkeys((actor.name, *actor.aliases)):
                    add(alias, owner, "actor", ref)
                for place in actor.places:
                    add(place, owner, "place", ref)
        for ref, cue in enumerate(cues):
            add(cue.phrase, CUE_OWNER, "cue", ref)
        self._gate = Gate([pattern for *_, pattern in self._regexes])
        self._fuzzy = FuzzyActors([(owner, ref, actor) for owner, wl in enumerate(watchlists)
                                   for ref, actor in enumerate(wl.actors) if actor.fuzzy])
        self._automaton = ahocorasick.Automaton()
        for key, group in entries.items():  # a key's watchlist entries and its cues apart: most matches are cues
            self._automaton.add_word(key, (len(key), tuple(e for e in group if e.owner != CUE_OWNER),
                                           tuple(e for e in group if e.owner == CUE_OWNER)))
        self._owners = len(watchlists)
        self.size = len(entries)
        if entries:
            self._automaton.make_automaton()

    def find(self, folded: Folded, view: WordView, owners: Collection[int], language: str | None = None) -> list[Hit]:
        """Every match in the item for the watchlists in `owners`, plus every cue, in text order; no cue when
        nothing of a watchlist matched (a cue alone changes no score, and most items match nothing).

        `language` (a base code such as "de") skips regex keywords tagged with another language; the scorer
        filters the other language-tagged matches itself.
        """
        hits = self._regex(folded, view, owners, language) if self._regexes else []
        if self.size:
            hits.extend(self._exact(view, owners, cues_wanted=bool(hits)))
        if self._fuzzy:
            known = {(h.owner, h.ref) for h in hits if h.kind in ("actor", "place")}
            for f in self._fuzzy.find(view, known, owners):
                start, end = view.folded_span(f.start, f.end)
                first = view.word_index(f.start)
                hits.append(Hit(f.owner, "actor", f.ref, start, end, first, first + 1, f.similarity))
        hits.sort(key=lambda h: (h.start, -h.end, h.owner, h.kind, h.ref))
        return hits

    def _exact(self, view: WordView, owners: Collection[int], *, cues_wanted: bool) -> list[Hit]:
        """The automaton's matches for `owners`; cues only if one of them matched (or `cues_wanted`): they are
        set aside as found and made into hits at the end, so an item that matches nothing costs no cue hit."""
        text = view.text
        found: list[tuple[int, int, tuple[_Entry, ...]]] = []
        cued: list[tuple[int, int, tuple[_Entry, ...]]] = []
        for last, (length, terms, cues) in self._automaton.iter(text):
            start = last - length + 2  # the first character after the leading space
            if terms:
                found.append((start, last, terms))
            if cues:
                cued.append((start, last, cues))
        if not found and not cues_wanted:
            return []
        every = len(owners) == self._owners  # owners are distinct watchlist indexes: all of them, or a few
        hits: list[Hit] = []
        locate, find, new = view.locate, text.find, tuple.__new__  # the loop below runs for every match
        for matches in (found, cued):
            for start, last, entries in matches:
                for e in entries:
                    if not every and e.owner != CUE_OWNER and e.owner not in owners:
                        continue
                    if e.verify is not None:
                        m = e.verify.match(text, start - 1)
                        if m is None:
                            continue
                        end = m.end()
                        words = text.count(" ", start, end) + 1
                    elif e.prefix:
                        end, words = find(" ", last), e.words
                    else:
                        end, words = last, e.words  # `last`: the trailing space of the key
                    first, folded_start, folded_end = locate(start, end)
                    # tuple.__new__ is Hit(...) without the named tuple's Python-level __new__: a third of the time
                    hits.append(new(Hit, (e.owner, e.kind, e.ref, folded_start, folded_end, first, first + words,
                                          100.0)))
            if not hits and not cues_wanted:
                return []  # no watchlist of `owners` matched: no cue either
        return hits

    def _regex(self, folded: Folded, view: WordView, owners: Collection[int], language: str | None) -> list[Hit]:
        hits: list[Hit] = []
        for index in self._gate.candidates(folded.text):
            owner, ref, pattern_language, pattern = self._regexes[index]
            if owner not in owners or (language and pattern_language and language != pattern_language):
                continue
            for start, end in pattern.spans(folded.text):
                first = view.word_index(view.from_folded(start))
                last = max(first + 1, view.word_index(view.from_folded(end)))
                hits.append(Hit(owner, "keyword", ref, start, end, first, last))
        return hits
