"""story_rows.items_between and items_by_id read plain rows of the columns a replay uses (the editor's preview and
`monitor backtest` read a week, 50,000 items, with them): they must give what the ORM gives, on SQLite and on
PostgreSQL (MONITOR_TEST_DB), whatever the times' precision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from monitor.store import story_rows
from monitor.store.db import make_engine, session
from monitor.store.migrate import ensure_schema
from monitor.store.tables import FeedRow, ItemRow

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
# Whole seconds, microseconds, a time that reads back without a fraction, the first second of a day
OFFSETS = [timedelta(0), timedelta(seconds=1, microseconds=250_001), timedelta(minutes=3, microseconds=999_999),
           timedelta(hours=12), timedelta(days=1, seconds=7)]


def test_a_window_reads_what_the_orm_reads(database_url: str) -> None:
    engine = make_engine(database_url)
    ensure_schema(engine)
    with session(engine) as s:
        world = FeedRow(name="world", url="http://127.0.0.1/w.xml", tags=["world", "news"], language="en")
        local = FeedRow(name="local", url="http://127.0.0.1/l.xml")
        s.add_all([world, local])
        s.commit()
        assert world.id is not None and local.id is not None
        for n, offset in enumerate(OFFSETS):
            for feed in (world, local):
                s.add(ItemRow(feed_id=feed.id or 0, uid=f"{feed.name}-{n}", title=f"Title {n}", link=f"http://x/{n}",
                              summary="" if n % 2 else f"Summary {n}", language=None if n % 3 else "de",
                              published=START + offset - timedelta(hours=n), fetched_at=START + offset,
                              story_id=f"story-{n}" if n % 2 else None))
        s.commit()
    with session(engine) as s:
        feeds = {f.id: f for f in s.exec(select(FeedRow))}
        expected = [story_rows.StoredItem(i.id or 0, i.story_id, feeds[i.feed_id].name, tuple(feeds[i.feed_id].tags),
                                          i.title, i.summary, i.link, i.published, i.fetched_at, i.language)
                    for i in s.exec(select(ItemRow).where(col(ItemRow.fetched_at) >= START + timedelta(seconds=1))
                                    .order_by(col(ItemRow.fetched_at), col(ItemRow.id)))]
        window = story_rows.items_between(s, START + timedelta(seconds=1), START + timedelta(days=2))
        by_id = story_rows.items_by_id(s, [item.id for item in reversed(expected)])
        empty = story_rows.items_between(s, START + timedelta(days=3), START + timedelta(days=4))
    engine.dispose()
    assert len(expected) == 8
    assert window == expected
    assert sorted(by_id) == sorted(expected)
    assert all(item.fetched_at.tzinfo is not None and item.published.utcoffset() == timedelta(0) for item in window)
    assert empty == []
