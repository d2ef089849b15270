"""The story index at start (issue 16, row 4): items keep the MinHash band keys they were filed with, a restart
files the window again from them without computing MinHash (SQLite file, or PostgreSQL with
MONITOR_TEST_DB=postgresql), items without keys or with keys of other parameters are fingerprinted as before,
and nothing of the index is built before it is used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from datasketch import MinHash
from sqlalchemy import text

from monitor.config import gazetteer
from monitor.core import neardup
from monitor.core.fingerprint import StaleKeys, fingerprint_of, pack_keys, restored, unpack_keys

# before story_rows: imported first, story_rows leaves the desk's tables off SQLModel.metadata (so at HEAD too)
from monitor.store import tables  # noqa: F401
from monitor.usecases import story_cache
from monitor.usecases.story_cache import StoryCache
from tests.stories.helpers import many_feeds, webhook_channel
from tests.support.servers import HttpServer, WebhookReceiver

WINDOW = 48 * 3600.0
ITEMS = [("wire-1", "NATO war games begin on the eastern flank as allies mass troops", "http://wire.invalid/a"),
         ("wire-2", "Lavrov says talks in Geneva will resume next week after the pause", "http://wire.invalid/b"),
         ("wire-3", "Short one", "http://wire.invalid/c")]


def _keys(engine: Any) -> dict[int, tuple[str, str, bytes | None]]:
    with engine.connect() as c:
        return {i: (title, summary, bytes(keys) if keys is not None else None) for i, title, summary, keys in
                c.execute(text("select id, title, summary, band_keys from items"))}


def _assignments(cache: StoryCache, ids: Any) -> dict[str, str | None]:
    return {str(i): cache.index.story_of(str(i)) for i in ids}


def _no_minhash(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any) -> Any:
        raise AssertionError("MinHash computed at load")
    monkeypatch.setattr(story_cache, "fingerprints_of", refuse)


def test_filing_stores_the_band_keys_a_restart_loads_without_minhash(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    s = many_feeds(tmp_path, feed_server, database_url, 3, ITEMS, webhook_channel(webhook.port))
    try:
        s.poll()
        stored = _keys(s.rt.engine)
        assert len(stored) == 9
        for title, summary, keys in stored.values():  # what the index filed them with, packed
            assert keys == pack_keys(fingerprint_of(title, summary).keys)
        assert {len(keys or b"") for _, _, keys in stored.values()} == {1 + 2 * neardup.BANDS * 8,
                                                                        1 + neardup.BANDS * 8}

        live = s.rt.story_cache
        with monkeypatch.context() as m:
            _no_minhash(m)
            restarted = StoryCache()
            assert restarted.load(s.rt.engine, s.clock(), WINDOW) == 9
        assert _assignments(restarted, stored) == _assignments(live, stored)
        assert restarted.members.keys() == live.members.keys()
        assert {k: sorted((m.source, sorted(m.scores)) for m in v) for k, v in restarted.members.items()} == \
               {k: sorted((m.source, sorted(m.scores)) for m in v) for k, v in live.members.items()}
        # a copy from another outlet after the restart joins the stored story
        copy = restarted.index.add("new", title=ITEMS[0][1], summary="", source="Outlet 9", at=s.clock())
        assert copy.story_id == live.index.story_of(next(str(i) for i, v in stored.items() if v[0] == ITEMS[0][1]))
        assert copy.sources_count == 4
    finally:
        s.close()


@pytest.mark.parametrize("damage", ["none", "stale"])
def test_items_without_keys_or_with_stale_ones_are_fingerprinted_at_load_as_before(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str, damage: str) -> None:
    s = many_feeds(tmp_path, feed_server, database_url, 2, ITEMS, webhook_channel(webhook.port))
    try:
        s.poll()
        stored = _keys(s.rt.engine)
        with s.rt.engine.begin() as c:
            if damage == "none":  # stored before the keys were kept
                c.execute(text("update items set band_keys = null"))
            else:  # packed by other MinHash parameters: the version byte differs
                for item_id, (_, _, keys) in stored.items():
                    assert keys is not None
                    c.execute(text("update items set band_keys = :k where id = :i"),
                              {"k": bytes([(keys[0] + 1) % 256 or 1]) + keys[1:], "i": item_id})
        restarted = StoryCache()
        assert restarted.load(s.rt.engine, s.clock(), WINDOW) == 6
        assert _assignments(restarted, stored) == _assignments(s.rt.story_cache, stored)
    finally:
        s.close()


def test_the_load_reads_the_window_only(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> None:
    s = many_feeds(tmp_path, feed_server, database_url, 2, ITEMS, webhook_channel(webhook.port))
    try:
        s.poll()
        later = StoryCache()
        assert later.load(s.rt.engine, s.clock() + timedelta(seconds=WINDOW + 60), WINDOW) == 0
        assert len(later.index) == 0 and not later.members
    finally:
        s.close()


def test_pack_and_unpack_are_inverse_and_refuse_other_parameters() -> None:
    for title, summary in [("Russia threatens NATO with a nuclear strike today", "Moscow said on Tuesday"),
                           ("Short one", "x"), ("", "")]:
        fingerprint = fingerprint_of(title, summary)
        blob = pack_keys(fingerprint.keys)
        keys = unpack_keys(blob)
        if fingerprint.keys is None:
            assert keys is None and len(blob) == 1
            continue
        assert keys is not None
        for mine, theirs in zip(keys, fingerprint.keys, strict=True):
            assert (mine is None and theirs is None) or (
                mine is not None and theirs is not None and np.array_equal(mine, theirs))
        again = restored(title, summary, blob)
        assert (again.title_norm, again.body) == (fingerprint.title_norm, fingerprint.body)
        for bad in (bytes([blob[0] ^ 0x5A or 1]) + blob[1:], blob[:-3], b""):
            with pytest.raises(StaleKeys):
                unpack_keys(bad)
    with pytest.raises(StaleKeys):  # keys of a text with words, offered for one without
        restored("", "", pack_keys(fingerprint_of("Some words here", "").keys))


def test_permutations_are_datasketchs() -> None:
    theirs = MinHash(num_perm=neardup.NUM_PERM, seed=1, scheme="affine32").permutations
    assert all(np.array_equal(a, b) for a, b in zip(theirs, neardup.tables().permutations, strict=True))


def test_the_index_and_its_place_names_are_made_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = gazetteer.place_tokens

    def counted() -> frozenset[str]:
        calls.append(1)
        return real()
    monkeypatch.setattr(gazetteer, "place_tokens", counted)
    cache = StoryCache()
    assert cache.expire(datetime(2026, 1, 1, tzinfo=UTC), 60.0) == 0  # the sweep on a cache nothing filed in
    assert calls == []
    assert len(cache.index) == 0 and calls == [1]
