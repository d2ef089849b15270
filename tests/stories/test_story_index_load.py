"""The story index loaded at once (StoryIndex.load, issue 18: the window filed lazily from its stored band keys)
is the index the slow path builds (`restore` each stored story, then `add` each stored item with its story id and
fingerprint): every later operation answers the same on both, whatever it touches first. Items come from a tiny
vocabulary, so texts repeat inside and across stories, titles share bands, and buckets overflow their cap."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import gazetteer
from monitor.core.clustering import Story, StoryIndex, Window
from monitor.core.fingerprint import fingerprint_of, pack_keys, restored, unpack_many
from monitor.core.neardup import BANDS, BUCKET_CAP, BandIndex
from monitor.domain import Score, Severity

T0 = datetime(2026, 3, 1, tzinfo=UTC)
WORDS = ("nato", "troops", "border", "talks", "kyiv", "moscow", "strike", "ceasefire", "drone", "port")


@dataclass(frozen=True)
class Row:
    key: str
    story_id: str
    source: str
    at: datetime
    title: str
    summary: str


def _text(rng: random.Random, most: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, most)))


def _item(rng: random.Random, earlier: Sequence[tuple[str, str]], crowd: bool = False) -> tuple[str, str]:
    if earlier and rng.random() < 0.3:
        return rng.choice(earlier)  # the same text again: an exact copy
    if crowd:  # five of six words: seven bags of words, so each title bucket holds a seventh of the titles
        return " ".join(rng.sample(WORDS[:6], 5)), _text(rng, 12)
    title = " ".join(rng.sample(WORDS, rng.randint(5, 6))) if rng.random() < 0.6 else _text(rng, 7)
    return title, _text(rng, 12)


def _history(rng: random.Random, count: int, crowd: bool = False) -> tuple[StoryIndex, list[Row]]:
    """Items filed one by one as the service files them (clustered), some filed by another worker into the story
    it chose (a story of ours or one of its own), with time going forward and a few expiries on the way."""
    live = StoryIndex()
    rows: list[Row] = []
    texts: list[tuple[str, str]] = []
    at = T0
    for n in range(count):
        title, summary = _item(rng, texts, crowd)
        texts.append((title, summary))
        at += timedelta(minutes=rng.choice((0, 1, 5)))
        story_id = None
        if rows and rng.random() < 0.15:
            story_id = rng.choice([rng.choice(rows).story_id, f"peer-{n}"])
        result = live.add(str(n), title=title, summary=summary, source=rng.choice("abcd"), at=at,
                          story_id=story_id, fingerprint=fingerprint_of(title, summary))
        rows.append(Row(str(n), result.story_id, rng.choice("abcd"), at, title, summary))
        if rng.random() < 0.02 and not crowd:
            live.expire(at - timedelta(minutes=rng.randint(30, 300)))
    return live, rows


def _stored(live: StoryIndex, rows: Sequence[Row]) -> tuple[dict[str, Story], list[Row]]:
    """What the database holds: story rows as window_stories reads them, and every item still in the window."""
    stories = {s.id: Story(s.id, s.first_seen, s.last_seen, s.title, s.sources, 0, {}) for s in live.stories()}
    kept = [row for row in rows if row.key in live and row.story_id in stories]
    return stories, sorted(kept, key=lambda row: (row.at, int(row.key)))  # read by fetch time, then id


def _slow(stories: dict[str, Story], rows: Sequence[Row]) -> StoryIndex:
    """The index as StoryCache built it before StoryIndex.load."""
    index = StoryIndex()
    for story in sorted(stories.values(), key=lambda s: s.first_seen):
        index.restore(story)
    for row in rows:
        blob = pack_keys(fingerprint_of(row.title, row.summary).keys)
        index.add(row.key, title=row.title, summary=row.summary, source=row.source, at=row.at,
                  story_id=row.story_id, fingerprint=restored(row.title, row.summary, blob))
    return index


def _loaded(stories: dict[str, Story], rows: Sequence[Row], asked: list[int]) -> StoryIndex:
    keys = unpack_many([pack_keys(fingerprint_of(row.title, row.summary).keys) for row in rows])
    assert not keys.stale

    def texts(wanted: Sequence[int]) -> list[tuple[str, str]]:
        asked.extend(wanted)
        return [(rows[n].title, rows[n].summary) for n in wanted]

    index = StoryIndex()
    index.load(Window([r.key for r in rows], [r.story_id for r in rows], [r.source for r in rows],
                      [r.at for r in rows], keys.body, keys.title, keys.words, keys.titled, texts,
                      lambda ids: {i: stories[i] for i in ids if i in stories},
                      {}))
    return index


def _same(slow: StoryIndex, lazy: StoryIndex, keys: Sequence[str]) -> None:
    assert (len(slow), slow.items) == (len(lazy), lazy.items)
    for key in keys:
        assert (key in slow, slow.story_of(key)) == (key in lazy, lazy.story_of(key))
    assert sorted(slow.stories(), key=lambda s: s.id) == sorted(lazy.stories(), key=lambda s: s.id)


def _check(seed: int, count: int, crowd: bool = False) -> tuple[int, int]:
    """Build both, run the same operations on them, compare every answer; returns the rows loaded and how many
    of them the lazy index read the texts of before the end (where every story is made to compare them)."""
    rng = random.Random(seed)
    live, history = _history(rng, count, crowd)
    stories, rows = _stored(live, history)
    asked: list[int] = []
    slow, lazy = _slow(stories, rows), _loaded(stories, rows, asked)
    if rng.random() < 0.2:
        _same(slow, lazy, [r.key for r in rows])  # everything made at once, before any operation
    texts = [(r.title, r.summary) for r in history]
    end = history[-1].at if history else T0
    keys = [r.key for r in history]
    for n in range(count, count + 60):
        op = rng.random()
        at = end + timedelta(minutes=n - count)
        if op < 0.6:  # a new item, clustered (it may copy a text of the window)
            title, summary = _item(rng, texts, crowd)
            texts.append((title, summary))
            source = rng.choice("abcde")
            print_ = fingerprint_of(title, summary) if rng.random() < 0.5 else None
            assert slow.add(str(n), title=title, summary=summary, source=source, at=at, fingerprint=print_) == \
                lazy.add(str(n), title=title, summary=summary, source=source, at=at, fingerprint=print_)
            keys.append(str(n))
        elif op < 0.7 and rows:  # another worker's item, in the story it chose (catch-up)
            title, summary = _item(rng, texts)
            story_id = rng.choice([rng.choice(rows).story_id, f"theirs-{n}"])
            if rng.random() < 0.3 and (found := slow.story(story_id)) is not None:
                slow.restore(found)
                lazy.restore(found)
            assert slow.add(str(n), title=title, summary=summary, source="p", at=at, story_id=story_id) == \
                lazy.add(str(n), title=title, summary=summary, source="p", at=at, story_id=story_id)
            keys.append(str(n))
        elif op < 0.8 and keys:  # a score for an item of the window, or a key asked for again
            key = rng.choice(keys)
            if key in slow:
                score = Score("w", rng.uniform(0, 10), Severity.WATCH, (), (), ())
                assert slow.record_score(key, score) == lazy.record_score(key, score)
                again = slow.add(key, title="", summary="", source="x", at=at)
                assert again == lazy.add(key, title="", summary="", source="x", at=at)
            assert (key in slow, slow.story_of(key)) == (key in lazy, lazy.story_of(key))
        elif op < 0.9:
            before = at - timedelta(minutes=rng.randint(0, 400))
            assert sorted(slow.expire(before), key=lambda s: s.id) == sorted(lazy.expire(before), key=lambda s: s.id)
        else:
            story_id = rng.choice([r.story_id for r in rows] or ["none"])
            assert slow.story(story_id) == lazy.story(story_id)
        assert (len(slow), slow.items) == (len(lazy), lazy.items)
    read = len(set(asked))
    _same(slow, lazy, keys)
    return len(rows), read


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 160))
def test_a_loaded_index_answers_as_the_one_filed_item_by_item(seed: int, count: int) -> None:
    _check(seed, count)


def test_crowded_buckets_load_alike() -> None:
    """700 titles made of five of six words: each title bucket is offered a hundred texts and keeps its newest
    64 (BUCKET_CAP), which the loaded index must pick as the inserts did."""
    rng = random.Random(7)
    live, history = _history(rng, 700, crowd=True)
    stories, rows = _stored(live, history)
    crowded = [held for table in _slow(stories, rows)._by_title._tables for held in table.values()
               if isinstance(held, list) and len(held) == BUCKET_CAP]
    assert crowded
    for seed in range(2):
        _check(seed, 700, crowd=True)


def test_the_loaded_index_reads_only_the_texts_it_compares() -> None:
    """A window of 200 unrelated items: a new unrelated item reads no text, a copy of one reads that one's."""
    rows = [Row(str(n), str(n), "a", T0 + timedelta(minutes=n), f"w{n}a w{n}b w{n}c w{n}d w{n}e", f"s{n}x s{n}y")
            for n in range(200)]
    stories = {r.key: Story(r.key, r.at, r.at, r.title, ("a",), 0, {}) for r in rows}
    asked: list[int] = []
    index = _loaded(stories, rows, asked)
    at = T0 + timedelta(hours=5)
    assert index.add("new", title="nothing like the others at all", summary="", source="b", at=at).is_new_story
    assert asked == []
    copy = index.add("copy", title=rows[42].title, summary=rows[42].summary, source="b", at=at)
    assert (copy.story_id, copy.sources_count, copy.similarity) == ("42", 2, 100.0)
    assert set(asked) == {42}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 200))
def test_band_index_filed_in_bulk_answers_as_filed_one_by_one(seed: int, count: int) -> None:
    """BandIndex.bulk, then the same operations as on an index the values were inserted into one by one. Keys
    are drawn from a few values per band that differ in their low bits only (the bulk index sorts their top
    bits), so buckets are shared, overflow their cap, and look alike to the sorted prefix."""
    rng = random.Random(seed)
    base = rng.getrandbits(64) & ~0xFF

    def keys() -> np.ndarray:
        return np.array([base + rng.randrange(3) for _ in range(BANDS)], dtype=np.uint64)

    filed = [(keys(), n) for n in range(count)]
    one_by_one: BandIndex[int] = BandIndex()
    for key, value in filed:
        one_by_one.insert(key, value)
    bulk: BandIndex[int] = BandIndex()
    bulk.bulk(np.array([k for k, _ in filed], dtype=np.uint64).reshape(count, BANDS), [v for _, v in filed],
              lambda value: value)
    live = list(filed)
    for n in range(count, count + 100):
        op, key = rng.random(), keys()
        if op < 0.3 and live:
            old_key, old = live.pop(rng.randrange(len(live)))
            one_by_one.remove(old_key, old)
            bulk.remove(old_key, old, old if old < count and rng.random() < 0.8 else None)  # filed by bulk
        elif op < 0.6:
            assert one_by_one.file(key, n, 40) == bulk.file(key, n, 40)
            live.append((key, n))
        else:
            assert one_by_one.query(key, 70) == bulk.query(key, 70)
        assert len(one_by_one) == len(bulk)


def test_the_place_tokens_kept_between_processes_are_the_computed_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The story index's place names (gazetteer.place_tokens) read from the cache directory equal those computed
    from the cities; a damaged copy is passed over and written again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    gazetteer.place_tokens.cache_clear()
    try:
        fresh = gazetteer.place_tokens()
        [kept] = (tmp_path / "monitor").glob("places-*.json")
        gazetteer.place_tokens.cache_clear()
        assert gazetteer.place_tokens() == fresh and "харьков" in fresh and "kharkiv" in fresh
        kept.write_text('["half', encoding="utf-8")
        gazetteer.place_tokens.cache_clear()
        assert gazetteer.place_tokens() == fresh
        gazetteer.place_tokens.cache_clear()
        assert gazetteer.place_tokens() == fresh  # written again
    finally:
        gazetteer.place_tokens.cache_clear()
