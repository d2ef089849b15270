"""The process-wide story index (monitor.core.clustering) as a cache of the database, with what each story's level
is computed from and its alert state per watchlist.

items.story_id and the stories table are the truth: the cache is built once per process from the stories and
items in the window, kept across config reloads, and guarded by one lock because feeds are recorded in worker
threads. The lock covers the in-memory work only (filing, each story's members and alert states, deciding), so
each decision sees every item filed before it, committed or not, while the database work of parallel feeds still
overlaps; docs/stories.md ("Concurrency") has the details.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import structlog
from sqlalchemy import Engine
from sqlalchemy.pool import SingletonThreadPool, StaticPool
from sqlmodel import Session

from monitor.config import gazetteer
from monitor.core import watermark
from monitor.core.clustering import Story, StoryIndex, Window
from monitor.core.fingerprint import Fingerprint, StaleKeys, fingerprints_of, prepare, restored, unpack_many
from monitor.core.story_rules import StoryAlertState
from monitor.domain import Score
from monitor.store import story_rows
from monitor.store.db import session

log = structlog.get_logger("monitor.story_cache")
CATCH_UP = timedelta(seconds=2)  # at most this often, a worker looks at what the others filed
CATCH_UP_LAG = timedelta(seconds=120)  # longer than any poll's transaction runs


@dataclass
class StoryCache:
    """The process-wide StoryIndex, what each story's level is computed from (its items in the window with their
    scores) and the alert state per story and watchlist, under one lock. Built empty; loaded once."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    _index: StoryIndex | None = field(default=None, repr=False)
    members: dict[str, list[Member]] = field(default_factory=dict)
    states: dict[tuple[str, str], StoryAlertState] = field(default_factory=dict)
    loaded: bool = False
    # Other workers share the database (set by the heartbeat): before filing, look at what they filed, or a story
    # arriving through feeds that different workers poll would be split in two, and alert twice.
    peers: bool = False
    # (when, the highest stored item id then), noted by the heartbeat; see catch_up
    marks: deque[watermark.Mark] = field(default_factory=deque)
    caught_up_at: datetime | None = None

    @property
    def index(self) -> StoryIndex:
        """Made at its first use (loading, filing, expiring: under the lock): the gazetteer's place names take most
        of a second to read, which every start paid, and a round of unchanged feeds never needs them."""
        if self._index is None:
            self._index = StoryIndex(gazetteer.place_tokens())
        return self._index

    def load(self, engine: Engine, now: datetime, window: float) -> int:
        """Rebuild from stored stories and their items in the window (once; later calls do nothing)."""
        with self.lock:
            if self.loaded:
                return 0
            with session(engine) as s:
                self._load(s, now, window)
            return self.index.items

    def preload(self, engine: Engine, now: datetime, window: float) -> threading.Thread:
        """`load` on a thread of its own, so the daemon polls at once (a 304 needs no index; 50,000 items in the
        window take seconds to file again). Filing takes the lock first, so it waits for the load, never
        files into half an index."""
        def run() -> None:
            try:
                self.load(engine, now, window)
            except Exception:  # the first filing loads it instead, in its own transaction
                log.exception("story_index_preload_failed")
        thread = threading.Thread(target=run, name="story-index-load", daemon=True)
        thread.start()
        return thread

    def ensure_loaded(self, s: Session, now: datetime, window: float) -> None:
        """For callers already holding the lock."""
        if not self.loaded:
            self._load(s, now, window)

    def _load(self, s: Session, now: datetime, window: float) -> None:
        """The window only (its stories, their items fetched in it), read as the driver's rows and filed at once
        (StoryIndex.load: a story is made when it is touched) with the band keys stored with each item (issue 16,
        row 4: 50,000 items took seconds of MinHash at every start; issue 18: then seconds of filing them)."""
        since = now - timedelta(seconds=window)
        stored = story_rows.window_filing_keys(s, since, now)
        self.index.load(_window(stored, _Reader(s, since, now)),
                        story_rows.window_stories_without_items(s, since, now))
        scores = story_rows.window_score_rows(s, since, now)
        members = self.members
        for item_id, story_id, feed, at in zip(stored.ids, stored.story_ids, stored.feeds, stored.fetched_at,
                                               strict=True):
            found = scores.get(item_id)
            members.setdefault(story_id, []).append(Member(at, feed, _StoredScores(found) if found else {}))
        self.marks.append((now, story_rows.last_item_id(s)))
        self.loaded = True
        log.info("story_index_loaded", stories=len(self.index), items=self.index.items)

    def mark(self, now: datetime, last_item_id: int, *, peers: bool) -> None:
        """The heartbeat's note (any thread): are other workers alive, and the highest stored item id now."""
        with self.lock:
            if peers and not self.peers:
                self.caught_up_at = now  # they have just come: what they filed is above the marks of LAG ago
            self.peers = peers
            self.marks.append((now, last_item_id))
            watermark.prune(self.marks, min(self.caught_up_at or now, now), CATCH_UP_LAG)

    def catch_up(self, s: Session, now: datetime, *, force: bool = False) -> int:
        """File what other workers filed since the last look, in the stories they chose (the caller holds the
        lock). Does nothing without peers, or within CATCH_UP of the last look unless `force` (the caller holds
        the cluster's filing lock: what the others committed must be seen now). Returns the items added.

        It looks above the highest id stored CATCH_UP_LAG before the previous look (monitor.core.watermark)."""
        if not self.peers or (not force and self.caught_up_at is not None and now - self.caught_up_at < CATCH_UP):
            return 0
        above = watermark.floor(self.marks, self.caught_up_at or now, CATCH_UP_LAG)
        self.caught_up_at = now
        theirs = story_rows.filing_rows_by_id(s, [i for i in story_rows.filed_after(s, above)
                                                  if str(i) not in self.index])
        if not theirs:
            return 0
        unknown = sorted({i.story_id for i in theirs if i.story_id and self.index.story(i.story_id) is None})
        for row in story_rows.stories_by_id(s, unknown):
            self.index.restore(Story(row.id, row.first_seen, row.last_seen, row.title, tuple(row.sources), 0, {}))
        self._add_stored(theirs, story_rows.scores_of(s, [i.id for i in theirs]))
        touched = {i.story_id for i in theirs}
        for key in [k for k in self.states if k[0] in touched]:
            del self.states[key]  # they may have alerted on it: the state is read again from the database
        log.info("story_index_caught_up", items=len(theirs), stories=len(touched))
        return len(theirs)

    def _add_stored(self, stored: Sequence[story_rows.FilingRow], scores: dict[int, dict[str, Score]]) -> None:
        """File stored items in the stories they were filed in, with their scores."""
        for item, fingerprint in zip(stored, _fingerprints(stored), strict=True):
            self.index.add(str(item.id), title=item.title, summary=item.summary, source=item.feed,
                           at=item.fetched_at, story_id=item.story_id, fingerprint=fingerprint)
            self.members.setdefault(item.story_id, []).append(
                Member(item.fetched_at, item.feed, scores.get(item.id, {})))

    def state(self, s: Session, story_id: str, watchlist: str, *, fresh: bool = False) -> StoryAlertState:
        """The alert state, from memory or else the database (the caller holds the lock). `fresh`: the story was
        created just now and named after its first item's id, unique in the database, so no state is stored."""
        key = (story_id, watchlist)
        if key not in self.states:
            self.states[key] = StoryAlertState() if fresh else story_rows.alert_state(s, story_id, watchlist)
        return self.states[key]

    def expire(self, now: datetime, window: float) -> int:
        before = now - timedelta(seconds=window)
        with self.lock:
            if self._index is None:
                return 0  # nothing filed yet: nothing to close
            closed = {story.id for story in self.index.expire(before)}
            for story_id in closed:
                self.members.pop(story_id, None)
            for members in self.members.values():
                members[:] = [m for m in members if m.at >= before]
            for key in [k for k in self.states if k[0] in closed]:
                del self.states[key]
            return len(closed)


def _window(stored: story_rows.WindowKeys, reader: _Reader) -> Window:
    """The items as StoryIndex.load files them: the stored band keys unpacked at once; an item stored without
    them, or with keys of other parameters, or keys of a text without words where its text has some, is
    fingerprinted again (a thousand at a time, as `_fingerprints`)."""
    keys = unpack_many(stored.band_keys)
    ids = stored.ids
    prepared: dict[int, tuple[str, str]] = {}
    check = [*keys.stale, *keys.wordless]
    texts = dict(zip(check, reader.texts([ids[n] for n in check]), strict=True))
    again = list(keys.stale)
    for n in keys.wordless:
        prepared[n] = prepare(*texts[n])
        if prepared[n][1]:
            again.append(n)
    for n, fingerprint in zip(again, fingerprints_of([texts[n] for n in again]) if again else [], strict=True):
        prepared[n] = (fingerprint.title_norm, fingerprint.body)
        keys.words[n] = fingerprint.keys is not None
        keys.titled[n] = fingerprint.keys is not None and fingerprint.keys[0] is not None
        if fingerprint.keys is not None:
            title, keys.body[n] = fingerprint.keys
            if title is not None:
                keys.title[n] = title
    return Window([str(i) for i in ids], stored.story_ids, stored.feeds, stored.fetched_at, keys.body, keys.title,
                  keys.words, keys.titled, lambda rows: reader.texts([ids[n] for n in rows]), reader.stories, prepared)


class _Reader:
    """What StoryIndex.load asks for when it makes a story: texts and story rows, read in a session of their own
    (the caller's may be gone by then: the index lives as long as the process). With SQLite in memory, where a
    second session would share the caller's connection, the window's are read at once instead."""

    def __init__(self, s: Session, since: datetime, until: datetime) -> None:
        self.engine = s.get_bind()
        self.every_text: dict[int, tuple[str, str]] | None = None
        self.every_story: dict[str, Story] | None = None
        if isinstance(getattr(self.engine, "pool", None), SingletonThreadPool | StaticPool):
            self.every_text = story_rows.window_texts(s, since, until)
            self.every_story = {story.id: story for story in story_rows.window_stories(s, since)}

    def texts(self, ids: Sequence[int]) -> list[tuple[str, str]]:
        if not ids:
            return []
        found = self.every_text
        if found is None:
            with Session(self.engine) as s:
                found = story_rows.texts_of(s, ids)
        return [found.get(i, ("", "")) for i in ids]  # an item pruned since: no text

    def stories(self, story_ids: Sequence[str]) -> dict[str, Story]:
        if self.every_story is not None:
            return {i: self.every_story[i] for i in story_ids if i in self.every_story}
        with Session(self.engine) as s:
            return {story.id: story for story in story_rows.stored_stories(s, story_ids)}


def _fingerprints(stored: Sequence[story_rows.FilingRow]) -> list[Fingerprint]:
    """Each item's fingerprint from the band keys stored with it (only the normalisation is done again); items
    stored without them, or with keys of other parameters, are fingerprinted a thousand at a time (one
    vectorised MinHash pass each)."""
    out: list[Fingerprint | None] = []
    for item in stored:
        try:
            out.append(None if item.band_keys is None else restored(item.title, item.summary, item.band_keys))
        except StaleKeys:
            out.append(None)
    missing = [n for n, found in enumerate(out) if found is None]
    for start in range(0, len(missing), 1000):
        chunk = missing[start:start + 1000]
        for n, fingerprint in zip(chunk, fingerprints_of([(stored[n].title, stored[n].summary) for n in chunk]),
                                  strict=True):
            out[n] = fingerprint
    return [f for f in out if f is not None]


class Member(NamedTuple):
    at: datetime
    source: str
    scores: Mapping[str, Score]  # watchlist -> the item's score


class _StoredScores(Mapping[str, Score]):
    """A loaded item's scores, made from their rows the first time they are read (a story's level is computed
    when an item joins it; most stories of the window never get one)."""

    __slots__ = ("_rows", "_scores")

    def __init__(self, rows: Sequence[Sequence[Any]]) -> None:
        self._rows: Sequence[Sequence[Any]] | None = rows
        self._scores: dict[str, Score] = {}

    def _made(self) -> dict[str, Score]:
        if self._rows is not None:
            self._scores = {row[1]: story_rows.score_of_row(row) for row in self._rows}
            self._rows = None
        return self._scores

    def __getitem__(self, watchlist: str) -> Score:
        return self._made()[watchlist]

    def __iter__(self) -> Iterator[str]:
        return iter(self._made())

    def __len__(self) -> int:
        return len(self._made())
