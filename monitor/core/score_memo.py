"""Scores remembered by watchlist version and item text, for replays that score the same texts again: a story's
copies through many feeds often carry one text, and the watchlist editor replays the same week once per draft
against one current version (issue 17).

Exact, not approximate: a watchlist's score is a pure function of that watchlist, the document, its tags and its
language (monitor.core.scoring), and does not depend on which other watchlists share the Scorer (each is matched
and explained on its own), so a remembered score is the one scoring again would give.

Scores are kept without their contributions (the explanation): a replay reads value, severity, actors and terms,
and the explanations are most of the memory (measured: two versions of 50,000 distinct texts, 83 MB with them,
20 MB without).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache

from monitor.core.scoring import Scorer
from monitor.domain import Document, Keyword, Score, Severity, Watchlist

Entry = tuple[Document, tuple[str, ...], str | None]  # a document, its feed's tags, its language
Scored = tuple[Score | None, ...]  # per watchlist, in order; None where it does not apply (tags)
Probes = Sequence[tuple[Keyword, ...]]
# score_group's signature: a caller with worker processes passes one that splits the entries among them
GroupScorer = Callable[[Sequence[Watchlist], Sequence[Entry], Probes], list[tuple[Scored, tuple[bool, ...]]]]
Table = dict[bytes, Score | None]  # text key -> the watchlist's score
_MISSING = Score("", 0.0, Severity.NONE)  # a sentinel no table holds


class ScoreMemo:
    """Tables of scores per watchlist version, bounded: the `versions` most recently used watchlists (a new one
    drops the oldest), `per_version` texts each (past that, texts are scored and not kept). Thread-safe: two
    previews may run at once; both would write the same score for a text."""

    def __init__(self, versions: int = 2, per_version: int = 100_000) -> None:
        self.per_version = per_version
        self._versions = versions
        self._tables: OrderedDict[Watchlist, Table] = OrderedDict()
        self._lock = threading.Lock()

    def table(self, watchlist: Watchlist) -> Table:
        """The table of this version (the whole watchlist is the key, its name included), made the newest."""
        with self._lock:
            table = self._tables.pop(watchlist, None)
            self._tables[watchlist] = table = {} if table is None else table
            while len(self._tables) > self._versions:
                self._tables.popitem(last=False)
            return table

    def clear(self) -> None:
        with self._lock:
            self._tables.clear()


def score_group(watchlists: Sequence[Watchlist], entries: Sequence[Entry],
                probes: Probes = ()) -> list[tuple[Scored, tuple[bool, ...]]]:
    """Each entry scored by one Scorer over `watchlists` (each text matched once for all of them), the scores
    without their contributions; with, per probe (a set of keywords), whether any of them matches the entry (or
    may: see `_Run.borrow`), found in the same pass over the text."""
    names = [f"probe {k}" for k in range(len(probes))]
    scorer = _scorer((*watchlists, *(Watchlist(name, keywords=keywords) for name, keywords in zip(names, probes,
                                                                                                 strict=True))))
    out: list[tuple[Scored, tuple[bool, ...]]] = []
    for doc, tags, language in entries:
        scored = {s.watchlist: s for s in scorer.score(doc, tags=tags, language=language)}
        out.append((tuple(_unexplained(scored.get(w.name)) for w in watchlists),
                    tuple(bool(scored[name].contributions) for name in names)))
    return out


@lru_cache(maxsize=2)
def _scorer(watchlists: tuple[Watchlist, ...]) -> Scorer:
    """A Scorer kept for the next replay of the same watchlists (keyed by value: a watchlist is immutable). The
    editor's previews score the current version, then each draft: compiling the shipped watchlist with its places
    takes half a second. Two, as the memo keeps two versions: a Scorer of the shipped watchlist is about 15 MB."""
    return Scorer(watchlists)


PlainEntry = tuple[str, str, str, tuple[str, ...], str | None]  # an Entry as plain values: title, body, article, ...


def plain(entries: Sequence[Entry]) -> list[PlainEntry]:
    """Entries as plain values, for a worker process: a tuple of strings pickles 15 times faster than a Document
    (25,000 entries: 0.02 s against 0.3 s there and back)."""
    return [(doc.title, doc.body, doc.article, tags, language) for doc, tags, language in entries]


def score_plain(watchlists: Sequence[Watchlist], rows: Sequence[PlainEntry],
                probes: Probes = ()) -> list[tuple[Scored, tuple[bool, ...]]]:
    """score_group of entries sent as `plain` values (in a worker process)."""
    return score_group(watchlists, [(Document(title, body, article), tags, language)
                                    for title, body, article, tags, language in rows], probes)


def _unexplained(score: Score | None) -> Score | None:
    if score is None or not score.contributions:
        return score
    # Not dataclasses.replace: a replay makes tens of thousands, and it costs three times as much.
    return Score(score.watchlist, score.value, score.severity, (), score.actors, score.terms)


def score_each(entries: Sequence[Entry], watchlists: Sequence[Watchlist], memo: ScoreMemo | None = None,
               score_groups: GroupScorer = score_group) -> list[Scored]:
    """Per entry, each watchlist's score as `Scorer(watchlists).score(doc, tags=tags, language=language)` gives
    it (without its contributions), each distinct text scored once per watchlist version: the watchlists the memo
    has no score of a text for are scored together (one Scorer per such group, usually one), and their scores
    kept. A watchlist that differs from an earlier one only in keywords (a draft that adds or drops a term)
    takes the earlier one's score for every text none of those keywords matches (`_borrow`). `score_groups` scores
    what is missing (score_group here; the editor's preview spreads it over the daemon's worker processes)."""
    if len({w.name for w in watchlists}) != len(watchlists):
        raise ValueError("watchlists scored together need distinct names")
    memo = memo if memo is not None else ScoreMemo(versions=len(watchlists))
    tables = [memo.table(w) for w in watchlists]
    tagged = tuple(bool(w.tags) for w in watchlists)  # only a tag-scoped watchlist's score depends on the tags
    keys = [_keys(doc, tags, language, tagged) for doc, tags, language in entries]
    found = [[table.get(key, _MISSING) for table, key in zip(tables, k, strict=True)] for k in keys]
    run = _Run(entries, watchlists, keys, found, tables, memo.per_version, score_groups)
    borrowers = _borrowers(watchlists)
    # The borrowers' probes ride along the first pass: the texts it scores are not folded and matched again.
    run.score_missing([i for i in range(len(watchlists)) if i not in borrowers],
                      {i: changed for i, (_, changed) in borrowers.items()})
    for i, (base, changed) in borrowers.items():
        run.borrow(i, base, changed)
    run.score_missing(list(borrowers))
    return [tuple(scores) for scores in found]


def keyword_change(a: Watchlist, b: Watchlist) -> tuple[Keyword, ...] | None:
    """The keywords in one of `a` and `b` and not in the other, when the two differ in nothing else (names
    aside); None when they do."""
    if replace(a, name=b.name, keywords=b.keywords) != b:
        return None
    return tuple(set(a.keywords) ^ set(b.keywords))


def _borrowers(watchlists: Sequence[Watchlist]) -> dict[int, tuple[int, tuple[Keyword, ...]]]:
    """Watchlist index -> (an earlier watchlist it differs from only in keywords, those keywords)."""
    out: dict[int, tuple[int, tuple[Keyword, ...]]] = {}
    for i, watchlist in enumerate(watchlists):
        for j in range(i):
            if j not in out and (changed := keyword_change(watchlists[j], watchlist)) is not None:
                out[i] = (j, changed)
                break
    return out


class _Run:
    """One score_each call: the entries, their keys, the scores found so far per entry and watchlist."""

    def __init__(self, entries: Sequence[Entry], watchlists: Sequence[Watchlist], keys: list[tuple[bytes, ...]],
                 found: list[list[Score | None]], tables: list[Table], per_version: int,
                 score_groups: GroupScorer) -> None:
        self.entries, self.watchlists, self.keys, self.found = entries, watchlists, keys, found
        self.tables, self.per_version, self.score_groups = tables, per_version, score_groups
        self.probed: dict[tuple[int, int], bool] = {}  # (entry, borrower) -> a changed keyword matches it

    def keep(self, n: int, i: int, score: Score | None) -> None:
        self.found[n][i] = score
        if len(self.tables[i]) < self.per_version:
            self.tables[i][self.keys[n][i]] = score

    def score_missing(self, only: Sequence[int], probes: dict[int, tuple[Keyword, ...]] | None = None) -> None:
        """Score what the memo lacks of the watchlists `only`; `probes` (borrower -> its changed keywords): also
        note, for each entry scored, whether the borrower's probe matches it."""
        todo: dict[tuple[int, ...], list[int]] = {}  # a group of watchlists -> the entries they are to score
        for n, scores in enumerate(self.found):
            if group := tuple(i for i in only if scores[i] is _MISSING):
                todo.setdefault(group, []).append(n)
        probing = list((probes or {}).items())
        for group, waiting in todo.items():
            texts = {tuple(self.keys[n][i] for i in group): n for n in waiting}  # one entry per distinct text
            scored = self.score_groups([self.watchlists[i] for i in group],
                                       [self.entries[n] for n in texts.values()], [changed for _, changed in probing])
            fresh = dict(zip(texts, scored, strict=True))
            for n in waiting:
                values, matched = fresh[tuple(self.keys[n][i] for i in group)]
                for i, score in zip(group, values, strict=True):
                    self.keep(n, i, score)
                for (borrower, _), match in zip(probing, matched, strict=True):
                    self.probed[(n, borrower)] = match

    def borrow(self, i: int, base: int, changed: tuple[Keyword, ...]) -> None:
        """Watchlist i's score of each entry it lacks is `base`'s, renamed, where none of the `changed` keywords
        matches the entry: the explanation is built from the matches alone (each keyword's weight, language and
        specificity are its own), so without a match of theirs the two score alike. Where one matches, the entry
        is left to be scored. The probe is a watchlist of those keywords, scored as any (`score_group`): in the
        pass that scored the base's texts just now (`probed`), or here for the texts the memo had."""
        name = self.watchlists[i].name
        waiting = [n for n in range(len(self.entries)) if self.found[n][i] is _MISSING]
        if changed:
            texts = {self.keys[n][i]: n for n in waiting if (n, i) not in self.probed}  # one per distinct text
            if texts:
                scored = self.score_groups([], [self.entries[n] for n in texts.values()], [changed])
                matched = {key: probes[0] for key, (_, probes) in zip(texts, scored, strict=True)}
                for n in waiting:
                    if (n, i) not in self.probed:
                        self.probed[(n, i)] = matched[self.keys[n][i]]
        for n in waiting:
            if changed and self.probed[(n, i)]:
                continue
            score = self.found[n][base]
            self.keep(n, i, None if score is None else Score(name, score.value, score.severity, score.contributions,
                                                             score.actors, score.terms))


def _keys(doc: Document, tags: tuple[str, ...], language: str | None, tagged: tuple[bool, ...]) -> tuple[bytes, ...]:
    """The entry's key in each watchlist's table: its text and language, with its tags where the watchlist is
    scoped by tags."""
    plain = _key(doc, language, ())
    scoped = _key(doc, language, tags) if tags and any(tagged) else plain
    return tuple(scoped if t else plain for t in tagged)


def _key(doc: Document, language: str | None, tags: Sequence[str]) -> bytes:
    """128 bits of the text, language and tags; the parts' lengths first, so no two different texts join the same
    way."""
    language = language or ""
    head = f"{len(doc.title)}:{len(doc.body)}:{len(doc.article)}:{len(language)}:{len(tags)}:"
    tail = "".join(f"{len(tag)}:{tag}" for tag in tags) if tags else ""
    joined = head + doc.title + doc.body + doc.article + language + tail
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=16).digest()
