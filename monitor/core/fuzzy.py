"""Fuzzy actor aliases: "Siarto" for Szijjártó, "Lavrof" for Lavrov, when an actor asks for it.

Only single-word aliases of at least MIN_LENGTH letters take part (surnames, where misspellings and
transliterations happen; short words match everything). Aliases are folded and have doubled letters
collapsed (Szijjártó -> szijarto: transliterations often drop them), then compared with rapidfuzz's
normalised Indel similarity (`fuzz.ratio`, 0-100: "siarto" scores 86 against "szijarto") with the item's
folded words that start with the same letter and have a plausible length, found by one regex pass; a
misspelling rarely touches the first letter, and the filter keeps the comparisons few. An actor already
matched exactly in the item is not searched again.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from monitor.core.normalize import WordView, term_words
from monitor.domain import Actor

MIN_LENGTH = 5
MEMO_WORDS = 50_000  # candidate words remembered with their close aliases (a few MB)
_DOUBLED = re.compile(r"(\w)\1+")


def _skeleton(word: str) -> str:
    return _DOUBLED.sub(r"\1", word)


@dataclass(frozen=True, slots=True)
class FuzzyHit:
    owner: int  # watchlist index
    ref: int  # actor index in that watchlist
    start: int  # view [start, end) of the word
    end: int
    similarity: float


@dataclass(frozen=True, slots=True)
class _Alias:
    owner: int
    ref: int
    skeleton: str
    threshold: float


class FuzzyActors:
    def __init__(self, actors: Sequence[tuple[int, int, Actor]]) -> None:
        """`actors`: (watchlist index, actor index, actor) for every actor with fuzzy matching on."""
        aliases: dict[tuple[int, int, str], _Alias] = {}
        for owner, ref, actor in actors:
            for alias in (actor.name, *actor.aliases):
                words = term_words(alias)
                if len(words) == 1 and not words[0].endswith("*") and len(words[0]) >= MIN_LENGTH:
                    skeleton = _skeleton(words[0])
                    aliases[(owner, ref, skeleton)] = _Alias(owner, ref, skeleton, actor.fuzzy_threshold)
        self._aliases = tuple(aliases.values())
        self._by_initial: dict[str, list[_Alias]] = {}
        for entry in self._aliases:
            self._by_initial.setdefault(entry.skeleton[0], []).append(entry)
        # Candidate words: 4 letters up to twice the longest alias, starting with some alias's first letter.
        self._candidates: re.Pattern[str] | None = None
        if self._aliases:
            initials = "".join(sorted({re.escape(a.skeleton[0]) for a in self._aliases}))
            longest = max(len(a.skeleton) for a in self._aliases) * 2
            self._candidates = re.compile(f" ([{initials}][^ ]{{{MIN_LENGTH - 2},{longest}}})(?= )")
        # News repeats its words: each candidate word is compared with the aliases once, then looked up. Most are
        # like no alias: they are kept apart, so an item's candidates are dropped by one set difference.
        self._memo: dict[str, tuple[tuple[_Alias, float], ...]] = {}
        self._unlike: set[str] = set()

    def _similar(self, word: str) -> tuple[tuple[_Alias, float], ...]:
        """The aliases `word` is close enough to, with their similarity."""
        found = self._memo.get(word)
        if found is None:
            found = tuple((alias, similarity) for alias in self._by_initial[word[0]]
                          if (similarity := fuzz.ratio(alias.skeleton, word, score_cutoff=alias.threshold)))
            if len(self._memo) + len(self._unlike) >= MEMO_WORDS:
                self._memo.clear()  # a bound, not a policy: a hostile stream of new words costs one pass each
                self._unlike.clear()
            if found:
                self._memo[word] = found
            else:
                self._unlike.add(word)
        return found

    def __bool__(self) -> bool:
        return bool(self._aliases)

    def find(self, view: WordView, skip: Collection[tuple[int, int]], owners: Collection[int]) -> list[FuzzyHit]:
        """Fuzzy matches of actors not in `skip` ((owner, ref) already found) of watchlists in `owners`."""
        if self._candidates is None:
            return []
        words = set(self._candidates.findall(view.text)) - self._unlike
        like = {word: similar for word in words if (similar := self._similar(word))}
        if not like:
            return []
        best: dict[tuple[int, int, int], FuzzyHit] = {}
        for m in self._candidates.finditer(view.text):
            word = m.group(1)
            if word not in like:
                continue
            start = m.start(1)
            for alias, similarity in like[word]:
                if alias.owner not in owners or (alias.owner, alias.ref) in skip:
                    continue
                key = (alias.owner, alias.ref, start)
                if key not in best or similarity > best[key].similarity:
                    best[key] = FuzzyHit(alias.owner, alias.ref, start, start + len(word), similarity)
        return sorted(best.values(), key=lambda h: (h.start, h.owner, h.ref))
