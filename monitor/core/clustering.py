"""Stories: near-duplicate items (the same text from several feeds, edited or truncated) grouped within a window.

Pure: the caller passes every time in and persists what it needs; the index is a cache it can rebuild from
stored items (`restore` each stored story, then `add` its items in the window with `story_id=`; or `load` the
whole window at once, which files the same index lazily).

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
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from monitor.core.fingerprint import Fingerprint, Keys, prepare, signatures_of
from monitor.core.neardup import BANDS, BandIndex, BandKeys, shingles, signatures, similarity
from monitor.domain import Score

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

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

    __slots__ = ("body", "body_keys", "keys", "last_at", "live", "ready", "row", "story", "title", "title_keys",
                 "title_norm")

    def __init__(self, story: _Story, title: str, title_norm: str, body: str) -> None:
        self.story, self.title, self.title_norm, self.body = story, title, title_norm, body
        self.keys: list[str] = []
        self.last_at: datetime | None = None
        self.title_keys: BandKeys | None = None
        self.body_keys: BandKeys | None = None
        self.live = True
        self.row = -1  # a text of the loaded window (StoryIndex.load): its first item's row there
        self.ready = True  # its title and normalised texts are here (a loaded text's are read when needed)


class Window(NamedTuple):
    """Stored items as `StoryIndex.load` takes them: row n is one item, in the order they were filed (fetch time,
    then id), with the story stored for it and its MinHash band keys (core.fingerprint.unpack_many). Their texts
    and their stories' stored state are asked for when a story is made (the caller reads them then)."""

    keys: Sequence[str]
    story_ids: Sequence[str]
    sources: Sequence[str]
    ats: Sequence[datetime]  # ascending
    body_keys: npt.NDArray[np.uint64]  # (items, BANDS): title + lead's keys (a row without words: anything)
    title_keys: npt.NDArray[np.uint64]  # (items, BANDS): the title's keys, where `titled`
    words: npt.NDArray[np.bool_]  # the text has words (else it has no keys)
    titled: npt.NDArray[np.bool_]
    texts: Callable[[Sequence[int]], Sequence[tuple[str, str]]]  # rows -> their (title, summary)
    stored: Callable[[Sequence[str]], Mapping[str, Story]]  # stories' stored state, by id (absent: no row)
    prepared: dict[int, tuple[str, str]]  # rows normalised already: (title_norm, body); filled as they are

    def prepare(self, rows: Sequence[int]) -> list[tuple[str, str]]:
        """(title_norm, body) of each row."""
        missing = [row for row in rows if row not in self.prepared]
        for row, (title, summary) in zip(missing, self.texts(missing) if missing else (), strict=True):
            self.prepared[row] = prepare(title, summary)
        return [self.prepared[row] for row in rows]


class _Base:
    """The window `load` filed, kept in the columns it came in: a story becomes index objects (_Story, _Text, its
    items) the first time something touches it, and its texts' buckets the first time they are touched
    (BandIndex.bulk). Normalising, making objects and filing buckets for each of 50,000 items was most of a
    restart's first round (issue 18)."""

    def __init__(self, window: Window, follows: dict[int, int], hashes: npt.NDArray[np.uint64],
                 hashed: npt.NDArray[np.intp]) -> None:
        import numpy as np

        self.window = window
        self.follows = follows  # row -> the row whose text it shares (the same text filed again in its story)
        self.texts: dict[int, _Text] = {}  # made texts, by their first row
        self.live = len(window.keys) - len(follows)  # texts not dropped yet
        self.expired = 0  # the stories of rows before this one are made (expire)
        self.by_key = dict(zip(window.keys, range(len(window.keys)), strict=True))  # items of stories not made
        self.rows_of: dict[str, list[int]] = {}  # the stories not made yet, and their rows
        for row, story_id in enumerate(window.story_ids):
            self.rows_of.setdefault(story_id, []).append(row)
        order = np.argsort(hashes[hashed], kind="stable")
        self.hash_sorted = hashes[hashed][order]
        self.hash_rows: list[int] = hashed[order].tolist()

    def same_body_keys(self, keys: BandKeys) -> list[int]:
        """Rows of texts with words whose body keys hash as `keys` do, first filed first: every text with that
        body is among them (the same text has the same keys)."""
        import numpy as np

        value = _body_hash(keys[None, :])[0]
        start = int(np.searchsorted(self.hash_sorted, value, side="left"))
        end = int(np.searchsorted(self.hash_sorted, value, side="right"))
        return self.hash_rows[start:end]


def _body_hash(keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """One 64-bit value per row of band keys (equal keys, equal values)."""
    import numpy as np

    mix = np.arange(1, 2 * BANDS, 2, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    hashed: npt.NDArray[np.uint64] = (keys.astype(np.uint64) * mix).sum(axis=-1, dtype=np.uint64)
    return hashed


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
        self._base: _Base | None = None  # the loaded window's stories not made yet (`load`)
        self._exact_seen: set[str] = set()  # bodies whose first text in the loaded window is in _exact already

    def __len__(self) -> int:
        return len(self._stories) + (len(self._base.rows_of) if self._base else 0)

    def __contains__(self, item_key: str) -> bool:
        return item_key in self._items or (self._base is not None and item_key in self._base.by_key)

    @property
    def items(self) -> int:
        return len(self._items) + (len(self._base.by_key) if self._base else 0)

    def story(self, story_id: str) -> Story | None:
        found = self._story(story_id)
        return found.snapshot() if found else None

    def story_of(self, item_key: str) -> str | None:
        text = self._items.get(item_key)
        if text is None and self._base is not None and item_key in self._base.by_key:
            return self._base.window.story_ids[self._base.by_key[item_key]]
        return text.story.id if text else None

    def stories(self) -> Iterator[Story]:
        if self._base is not None:
            self._thaw_all(list(self._base.rows_of))
        return (s.snapshot() for s in self._stories.values())

    def load(self, window: Window, without_items: Sequence[Story] = ()) -> None:
        """What `restore` of each stored story of the window, then `add` of each item with its `story_id` and the
        band keys stored with it, make of an empty index, made lazily (see _Base). `without_items`: stored
        stories of the window none of whose items are in it. Only items whose body keys equal another's are
        normalised here, to tell which of them are one text."""
        import numpy as np

        if self._stories or self._items or self._base is not None:
            raise ValueError("load needs an empty index")
        with_words = np.flatnonzero(np.asarray(window.words, dtype=bool))
        hashes = _body_hash(window.body_keys)
        _, inverse, counts = np.unique(hashes[with_words], return_inverse=True, return_counts=True)
        follows: dict[int, int] = {}
        first: dict[str, int] = {}
        shared = with_words[counts[inverse.reshape(-1)] > 1].tolist()
        for row, (_, body) in zip(shared, window.prepare(shared), strict=True):
            lead = first.setdefault(body, row)  # what _exact held when `add` filed the row
            if lead != row and window.story_ids[lead] == window.story_ids[row]:
                follows[row] = lead
        lead_rows = np.ones(len(window.keys), dtype=bool)
        lead_rows[list(follows)] = False
        texts = with_words[lead_rows[with_words]]
        titled = texts[np.asarray(window.titled, dtype=bool)[texts]]
        self._base = base = _Base(window, follows, hashes, texts)
        self._by_body.bulk(window.body_keys[texts], texts.tolist(), self._shell)
        self._by_title.bulk(window.title_keys[titled], titled.tolist(), self._shell)
        for story in without_items:
            if story.id not in base.rows_of:
                self._restore(story)
        if base.live == 0:
            self._melt()

    def add(self, key: str, *, title: str, summary: str, source: str, at: datetime,
            story_id: str | None = None, fingerprint: Fingerprint | None = None) -> StoryAssignment:
        """File one item. `at`: when it entered the window (its fetch time is the robust choice; feeds lie about
        publication dates). `source`: what corroboration counts (a feed name, or better the publisher's host).
        `story_id`: put the item in that story without clustering (rebuilding from stored assignments; then
        `is_new_story` only says the index had not seen the story). Adding a key already in the index changes
        nothing and returns its current assignment. `fingerprint`: of this title and summary, computed earlier."""
        known_text = self._item(key)
        if known_text is not None:
            known = known_text.story
            return StoryAssignment(known.id, False, len(known.sources), False, known.items, key, 100.0)
        title_norm, body = (fingerprint.title_norm, fingerprint.body) if fingerprint else prepare(title, summary)
        matched: _Text | None = None
        score = 0.0
        filed: _Text | None = None  # a new text the search already put in the LSH buckets
        keys = fingerprint.keys if fingerprint else None
        story = self._story(story_id) if story_id is not None else None
        if story_id is None and body:
            matched, score, filed = self._find(title, title_norm, body, keys)
            story = matched.story if matched else None
        created = story is None
        if story is None:
            story = self._new_story(story_id if story_id is not None else self._free_id(key), at, title)
        copy = self._exact_of(body, keys[1] if keys else None) if body and filed is None else None
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
        text = self._item(item_key)
        if text is None:
            raise KeyError(item_key)
        self._ready([text])  # its title may become the story's
        story = text.story
        best = story.scores.get(score.watchlist)
        if best is None or score.value > best.value:
            story.scores[score.watchlist] = score
        if score.value > story.title_score:
            story.title, story.title_score = text.title, score.value
        return story.snapshot()

    def restore(self, story: Story) -> None:
        """Bring back a stored story's state (first seen, sources, title, scores) before re-adding its items."""
        self._thaw(story.id)
        self._restore(story)

    def expire(self, before: datetime) -> list[Story]:
        """Forget texts last seen before `before`; return the stories left with no item in the window."""
        if self._base is not None:  # the loaded stories with items before `before` are made, and expire below
            base = self._base
            upto = bisect_left(base.window.ats, before)
            self._thaw_all(base.window.story_ids[base.expired:upto])  # makes no text go: the base stays
            base.expired = max(base.expired, upto)
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
        if keys is None and self._base is not None:
            keys = signatures_of(title_norm, body)
        exact = self._exact_of(body, keys[1] if keys else None)
        if exact is not None:
            return exact, 100.0, None
        text = _Text(_UNFILED, title, title_norm, body)
        text.title_keys, text.body_keys = keys or signatures_of(title_norm, body)
        candidates = dict.fromkeys(self._by_body.file(text.body_keys, text, MAX_CANDIDATES))
        if text.title_keys is not None:
            candidates.update(dict.fromkeys(self._by_title.file(text.title_keys, text, MAX_CANDIDATES)))
        self._ready(candidates)
        best: _Text | None = None
        best_score = 0.0
        for candidate in candidates:
            score = _confirm(title_norm, body, candidate, titled=text.title_keys is not None)
            if score > best_score and not distinct_events(title_norm, candidate.title_norm, self._places):
                best, best_score = candidate, score
        return self._filed(best) if best is not None else None, best_score, text

    def _free_id(self, key: str) -> str:
        """A new story is named after its first item; a key reused after its story outlived it gets a suffix."""
        story_id, n = key, 1
        while story_id in self._stories or (self._base is not None and story_id in self._base.rows_of):
            n += 1
            story_id = f"{key}~{n}"
        return story_id

    def _new_story(self, story_id: str, at: datetime, title: str) -> _Story:
        story = self._stories[story_id] = _Story(story_id, at, title)
        return story

    def _restore(self, story: Story) -> _Story:
        state = self._stories.get(story.id)
        if state is None:
            state = self._restored[story.id] = self._new_story(story.id, story.first_seen, story.title)
        state.first_seen = min(state.first_seen, story.first_seen)
        state.last_seen = max(state.last_seen, story.last_seen)
        state.sources.update(dict.fromkeys(story.sources))
        state.scores.update(story.scores)
        state.title = story.title
        state.title_score = story.best_score
        return state

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
            self._exact_of(text.body, text.body_keys)
            self._exact.setdefault(text.body, text)
        story.texts += 1
        return text

    def _attach(self, text: _Text, key: str, source: str, at: datetime, seq: int | None = None) -> None:
        story = text.story
        self._restored.pop(story.id, None)
        text.keys.append(key)
        self._items[key] = text
        story.items += 1
        story.sources.setdefault(source)
        story.first_seen, story.last_seen = min(story.first_seen, at), max(story.last_seen, at)
        if text.last_at is None or at > text.last_at:
            text.last_at = at
            if seq is None:
                self._seq += 1
                seq = self._seq
            heapq.heappush(self._expiry, (at, seq, text))

    def _drop(self, text: _Text) -> None:
        text.live = False
        frozen = text.row if text.row >= 0 else None
        if text.title_keys is not None:
            self._by_title.remove(text.title_keys, text, frozen)
        if text.body_keys is not None:
            self._by_body.remove(text.body_keys, text, frozen)
        # A body never looked up has no text here but its first loaded one, which `_exact_of` finds gone
        if text.body and self._exact.get(text.body) is text:
            del self._exact[text.body]
        for key in text.keys:
            del self._items[key]
        text.story.items -= len(text.keys)
        text.story.texts -= 1
        if text.row >= 0 and self._base is not None:
            self._base.live -= 1
            if self._base.live == 0:
                self._melt()

    # --- the loaded window, made as it is touched (load) ---

    def _item(self, key: str) -> _Text | None:
        text = self._items.get(key)
        if text is None and self._base is not None and key in self._base.by_key:
            self._thaw(self._base.window.story_ids[self._base.by_key[key]])
            text = self._items.get(key)
        return text

    def _story(self, story_id: str) -> _Story | None:
        if self._base is not None and story_id in self._base.rows_of:
            self._thaw(story_id)
        return self._stories.get(story_id)

    def _shell(self, row: int) -> _Text:
        """The text whose first item is the loaded window's row `row`, as its buckets hold it (BandIndex.bulk's
        resolve): made with its keys only; its words are read when it is a candidate (`_ready`), its story and
        items are made when it matches or is touched (`_thaw`). Crowded buckets hold up to 64 texts each."""
        assert self._base is not None
        text = self._base.texts.get(row)
        if text is None:
            window = self._base.window
            text = self._base.texts[row] = _Text(_UNFILED, "", "", "")
            text.row, text.ready = row, False
            if window.words[row]:
                text.body_keys = window.body_keys[row]
                text.title_keys = window.title_keys[row] if window.titled[row] else None
        return text

    def _ready(self, texts: Iterable[_Text]) -> None:
        """Read the words of the loaded texts among `texts` that have none yet, at once."""
        todo = [text for text in texts if not text.ready]
        if not todo or self._base is None:
            return
        window = self._base.window
        for text, (title, summary) in zip(todo, window.texts([t.row for t in todo]), strict=True):
            known = window.prepared.get(text.row)
            text.title, text.ready = title, True
            if window.words[text.row]:
                text.title_norm, text.body = known if known is not None else prepare(title, summary)

    def _filed(self, text: _Text) -> _Text:
        """A candidate or exact copy, with its story made."""
        if text.story is _UNFILED and text.row >= 0 and self._base is not None:
            self._thaw(self._base.window.story_ids[text.row])
        return text

    def _thaw(self, story_id: str) -> None:
        self._thaw_all([story_id])

    def _thaw_all(self, story_ids: Sequence[str]) -> None:
        """Make loaded stories as `restore` and `add` would have: each one's state, then its items in the order
        filed, a row sharing another's text in that text (the texts' buckets are made as they are touched).
        Their texts and stored states are read at once."""
        base = self._base
        if base is None:
            return
        made = {story_id: base.rows_of.pop(story_id) for story_id in dict.fromkeys(story_ids)
                if story_id in base.rows_of}
        if not made:
            return
        window = base.window
        texts = {story_id: [self._shell(row) for row in rows if row not in base.follows]  # a follower: an earlier
                 for story_id, rows in made.items()}                                   # row's text, in its story
        stored = window.stored(list(made))
        self._ready([texts[story_id][0] for story_id in made if story_id not in stored])  # its title names it
        for story_id, rows in made.items():
            found = stored.get(story_id)
            story = self._restore(found) if found is not None else \
                self._new_story(story_id, window.ats[rows[0]], texts[story_id][0].title)
            for text in texts[story_id]:
                text.story = story
                story.texts += 1
            for row in rows:
                key = window.keys[row]
                del base.by_key[key]
                self._attach(base.texts[base.follows.get(row, row)], key, window.sources[row], window.ats[row],
                             seq=row - len(window.keys))

    def _exact_of(self, body: str, body_keys: BandKeys | None) -> _Text | None:
        """_exact's text for `body`, after putting there the loaded window's first text with that body if it was
        never looked up (so _exact holds what `add` would have left in it)."""
        if self._base is not None and body not in self._exact_seen:
            self._exact_seen.add(body)
            keys = body_keys if body_keys is not None else signatures([shingles(body.split())])[0]
            texts = [self._shell(row) for row in self._base.same_body_keys(keys)]
            self._ready(texts)
            first = next((text for text in texts if text.body == body), None)
            if first is not None and first.live:  # gone, `add` would have dropped it from _exact then
                self._exact[body] = self._filed(first)
        return self._exact.get(body)

    def _melt(self) -> None:
        """Every text of the loaded window is gone: forget it."""
        self._base = None
        self._exact_seen = set()
        self._by_title.melt()
        self._by_body.melt()


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
