"""Stories: near-duplicate items (the same text from several feeds, edited or truncated) grouped within a window.

Pure: the caller passes every time in and persists what it needs; the index is a cache it can rebuild from
stored items (`restore` each stored story, then `add` its items in the window with `story_id=`).

How an item finds its story (docs/stories.md has the measurements):
1. exact: the same normalised title + lead (first LEAD_WORDS words of the summary) as a text in the window;
2. candidates: MinHash LSH over word 3-shingles of title + lead, and over the words of the title alone (so a
   title-only copy finds the full item, and a reordered or edited headline still matches);
3. confirmation: rapidfuzz token_set_ratio >= CONFIRM on the titles (both at least MIN_TITLE_WORDS words), or
   on title + lead when the titles are at least TITLE_FLOOR alike; the best confirmed candidate wins, otherwise
   the item starts a new story named after its key.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime

from monitor.core.fingerprint import Fingerprint, Keys, prepare, signatures_of
from monitor.core.neardup import BandIndex, BandKeys, similarity
from monitor.domain import Score

CONFIRM = 90.0
TITLE_FLOOR = 60.0  # a copy confirmed by its title + lead still needs titles this close
MAX_CANDIDATES = 32  # confirmed in order of shared bands; bounds the cost of a crowded bucket




@dataclass(frozen=True, slots=True)
class StoryAssignment:
    story_id: str
    is_new_story: bool
    sources_count: int
    new_source: bool  # this item brought a source the story did not have
    items: int  # items of the story in the window, this one included
    matched: str | None = None  # key of the item whose text confirmed the match (None: new or restored)
    similarity: float = 0.0  # the confirming score, 0-100 (100: the same normalised text)


@dataclass(frozen=True, slots=True)
class Story:
    """A snapshot. `title` is the title of the highest-scoring item (the first item's until one scores)."""

    id: str
    first_seen: datetime
    last_seen: datetime
    title: str
    sources: tuple[str, ...]  # distinct, in order of first appearance
    items: int  # items whose text is in the window (a text stays while copies of it keep arriving)
    scores: Mapping[str, Score]  # watchlist -> the highest item score

    @property
    def best_score(self) -> float:
        return max((s.value for s in self.scores.values()), default=0.0)


class _Story:
    __slots__ = ("first_seen", "id", "items", "last_seen", "scores", "sources", "texts", "title", "title_score")

    def __init__(self, story_id: str, at: datetime, title: str) -> None:
        self.id, self.first_seen, self.last_seen, self.title = story_id, at, at, title
        self.title_score = 0.0
        self.sources: dict[str, None] = {}
        self.scores: dict[str, Score] = {}
        self.items = 0
        self.texts = 0  # live texts; the story closes when none is left

    def snapshot(self) -> Story:
        return Story(self.id, self.first_seen, self.last_seen, self.title, tuple(self.sources), self.items,
                     dict(self.scores))


_UNFILED = _Story("", datetime.min, "")  # the story of a text until its search has decided it (StoryIndex._find)


class _Text:
    """One distinct normalised text in the window and the items that carried it."""

    __slots__ = ("body", "body_keys", "keys", "last_at", "live", "story", "title", "title_keys", "title_norm")

    def __init__(self, story: _Story, title: str, title_norm: str, body: str) -> None:
        self.story, self.title, self.title_norm, self.body = story, title, title_norm, body
        self.keys: list[str] = []
        self.last_at: datetime | None = None
        self.title_keys: BandKeys | None = None
        self.body_keys: BandKeys | None = None
        self.live = True


class StoryIndex:
    """Items -> stories within a window. Cost per item depends on its near neighbours, not on the window size.
    Not thread-safe: one caller at a time.

    `places`: normalised place names (monitor.config.gazetteer.place_tokens). Two titles that name different
    places, or different numbers, report different events however alike the rest ("Russian missile strike hits
    apartment block in Kharkiv" / "... in Lviv"); see `distinct_events`."""

    def __init__(self, places: Collection[str] = frozenset()) -> None:
        self._places = places
        self._stories: dict[str, _Story] = {}
        self._items: dict[str, _Text] = {}
        self._exact: dict[str, _Text] = {}
        self._by_title: BandIndex[_Text] = BandIndex()
        self._by_body: BandIndex[_Text] = BandIndex()
        self._expiry: list[tuple[datetime, int, _Text]] = []
        self._seq = 0
        self._restored: dict[str, _Story] = {}  # restored stories still without an item

    def __len__(self) -> int:
        return len(self._stories)

    def __contains__(self, item_key: str) -> bool:
        return item_key in self._items

    @property
    def items(self) -> int:
        return len(self._items)

    def story(self, story_id: str) -> Story | None:
        found = self._stories.get(story_id)
        return found.snapshot() if found else None

    def story_of(self, item_key: str) -> str | None:
        text = self._items.get(item_key)
        return text.story.id if text else None

    def stories(self) -> Iterator[Story]:
        return (s.snapshot() for s in self._stories.values())

    def add(self, key: str, *, title: str, summary: str, source: str, at: datetime,
            story_id: str | None = None, fingerprint: Fingerprint | None = None) -> StoryAssignment:
        """File one item. `at`: when it entered the window (its fetch time is the robust choice; feeds lie about
        publication dates). `source`: what corroboration counts (a feed name, or better the publisher's host).
        `story_id`: put the item in that story without clustering (rebuilding from stored assignments; then
        `is_new_story` only says the index had not seen the story). Adding a key already in the index changes
        nothing and returns its current assignment. `fingerprint`: of this title and summary, computed earlier."""
        if key in self._items:
            known = self._items[key].story
            return StoryAssignment(known.id, False, len(known.sources), False, known.items, key, 100.0)
        title_norm, body = (fingerprint.title_norm, fingerprint.body) if fingerprint else prepare(title, summary)
        matched: _Text | None = None
        score = 0.0
        filed: _Text | None = None  # a new text the search already put in the LSH buckets
        keys = fingerprint.keys if fingerprint else None
        story = self._stories.get(story_id) if story_id is not None else None
        if story_id is None and body:
            matched, score, filed = self._find(title, title_norm, body, keys)
            story = matched.story if matched else None
        created = story is None
        if story is None:
            story = self._new_story(story_id if story_id is not None else self._free_id(key), at, title)
        copy = self._exact.get(body) if body and filed is None else None
        if filed is not None:
            text = self._adopt(filed, story)
        elif copy is not None and copy.story is story:
            text = copy
        else:
            text = self._new_text(story, title, title_norm, body, keys)
        new_source = source not in story.sources
        self._attach(text, key, source, at)
        return StoryAssignment(story.id, created, len(story.sources), new_source, story.items,
                               matched.keys[0] if matched else None, score)

    def record_score(self, item_key: str, score: Score) -> Story:
        """Keep the story's highest score per watchlist; the best-scoring item gives the story its title.
        KeyError if the item is not in the window."""
        text = self._items[item_key]
        story = text.story
        best = story.scores.get(score.watchlist)
        if best is None or score.value > best.value:
            story.scores[score.watchlist] = score
        if score.value > story.title_score:
            story.title, story.title_score = text.title, score.value
        return story.snapshot()

    def restore(self, story: Story) -> None:
        """Bring back a stored story's state (first seen, sources, title, scores) before re-adding its items."""
        state = self._stories.get(story.id)
        if state is None:
            state = self._restored[story.id] = self._new_story(story.id, story.first_seen, story.title)
        state.first_seen = min(state.first_seen, story.first_seen)
        state.last_seen = max(state.last_seen, story.last_seen)
        state.sources.update(dict.fromkeys(story.sources))
        state.scores.update(story.scores)
        state.title = story.title
        state.title_score = story.best_score

    def expire(self, before: datetime) -> list[Story]:
        """Forget texts last seen before `before`; return the stories left with no item in the window."""
        closed: dict[str, _Story] = {}
        while self._expiry and self._expiry[0][0] < before:
            at, _, text = heapq.heappop(self._expiry)
            if not text.live or text.last_at != at:
                continue  # superseded by a later copy of the same text
            self._drop(text)
            if text.story.texts == 0:
                closed[text.story.id] = text.story
        for story in list(self._restored.values()):
            if story.texts == 0 and story.last_seen < before:
                closed[story.id] = story  # restored, and no item of it came back
        for story_id in closed:
            self._restored.pop(story_id, None)
            del self._stories[story_id]
        return [s.snapshot() for s in closed.values()]

    # --- internals ---

    def _find(self, title: str, title_norm: str, body: str,
              keys: Keys | None) -> tuple[_Text | None, float, _Text | None]:
        """(best confirmed text, its score, the new text filed in the LSH buckets on the way, if any). A text
        with no exact copy is always new, so it is filed in the same pass that looks for its neighbours."""
        exact = self._exact.get(body)
        if exact is not None:
            return exact, 100.0, None
        text = _Text(_UNFILED, title, title_norm, body)
        text.title_keys, text.body_keys = keys or signatures_of(title_norm, body)
        candidates = dict.fromkeys(self._by_body.file(text.body_keys, text, MAX_CANDIDATES))
        if text.title_keys is not None:
            candidates.update(dict.fromkeys(self._by_title.file(text.title_keys, text, MAX_CANDIDATES)))
        best: _Text | None = None
        best_score = 0.0
        for candidate in candidates:
            score = _confirm(title_norm, body, candidate, titled=text.title_keys is not None)
            if score > best_score and not distinct_events(title_norm, candidate.title_norm, self._places):
                best, best_score = candidate, score
        return best, best_score, text

    def _free_id(self, key: str) -> str:
        """A new story is named after its first item; a key reused after its story outlived it gets a suffix."""
        story_id, n = key, 1
        while story_id in self._stories:
            n += 1
            story_id = f"{key}~{n}"
        return story_id

    def _new_story(self, story_id: str, at: datetime, title: str) -> _Story:
        story = self._stories[story_id] = _Story(story_id, at, title)
        return story

    def _new_text(self, story: _Story, title: str, title_norm: str, body: str, keys: Keys | None) -> _Text:
        text = _Text(story, title, title_norm, body)
        if body:  # an item without words is a story of its own and never a candidate
            text.title_keys, text.body_keys = keys or signatures_of(title_norm, body)
            if text.title_keys is not None:
                self._by_title.insert(text.title_keys, text)
            self._by_body.insert(text.body_keys, text)
        return self._adopt(text, story)

    def _adopt(self, text: _Text, story: _Story) -> _Text:
        text.story = story
        if text.body:
            self._exact.setdefault(text.body, text)
        story.texts += 1
        return text

    def _attach(self, text: _Text, key: str, source: str, at: datetime) -> None:
        story = text.story
        self._restored.pop(story.id, None)
        text.keys.append(key)
        self._items[key] = text
        story.items += 1
        story.sources.setdefault(source)
        story.first_seen, story.last_seen = min(story.first_seen, at), max(story.last_seen, at)
        if text.last_at is None or at > text.last_at:
            text.last_at = at
            self._seq += 1
            heapq.heappush(self._expiry, (at, self._seq, text))

    def _drop(self, text: _Text) -> None:
        text.live = False
        if text.title_keys is not None:
            self._by_title.remove(text.title_keys, text)
        if text.body_keys is not None:
            self._by_body.remove(text.body_keys, text)
        if self._exact.get(text.body) is text:
            del self._exact[text.body]
        for key in text.keys:
            del self._items[key]
        text.story.items -= len(text.keys)
        text.story.texts -= 1


def distinct_events(a: str, b: str, places: Collection[str]) -> bool:
    """Two normalised titles that each name a place (or a number) the other does not report different events: a
    template filled in for another city, another death toll. Copies and paraphrases name the same places and
    numbers, or leave some out on one side only."""
    if a == b:
        return False
    words_a, words_b = set(a.split()), set(b.split())
    for pick in (_numbers, _places_in):
        found_a, found_b = pick(words_a, places), pick(words_b, places)
        if found_a - found_b and found_b - found_a:
            return True
    return False


def _numbers(words: set[str], _places: Collection[str]) -> set[str]:
    return {w for w in words if w.isdigit()}


def _places_in(words: set[str], places: Collection[str]) -> set[str]:
    """Place names among the words; an inflected Cyrillic form is found by its stem ("харькове" -> "харьков")."""
    if not places:
        return set()
    found: set[str] = set()
    for word in words:
        if word in places:
            found.add(word)
        elif len(word) > 5 and not word.isascii():
            stem = next((word[:-n] for n in (1, 2) if word[:-n] in places), None)
            if stem is not None:
                found.add(stem)
    return found


def _confirm(title_norm: str, body: str, candidate: _Text, *, titled: bool) -> float:
    """The match score if the candidate is the same text, else 0: titles agree (both long enough to identify a
    story), or title + lead agree and the titles are not unrelated (some feeds fill every summary with the
    same boilerplate, which alone would make every pair of their items agree)."""
    title_score = similarity(title_norm, candidate.title_norm)
    if titled and candidate.title_keys is not None and title_score >= CONFIRM:
        return max(title_score, similarity(body, candidate.body))
    if title_score >= TITLE_FLOOR:
        body_score = similarity(body, candidate.body)
        if body_score >= CONFIRM:
            return body_score
    return 0.0
