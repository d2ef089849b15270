"""The stories revision upgrades a database that already holds items, scores and alerts (SQLite batch mode)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from monitor.store.db import make_engine
from monitor.store.migrate import current_revision, head_revision, upgrade

BEFORE_STORIES = "7644c2599623"


def test_upgrade_keeps_rows_and_fills_the_new_columns(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, BEFORE_STORIES)
        with engine.begin() as c:
            c.execute(text("insert into feeds (name, url, tags, interval, enabled, status, consecutive_failures) "
                           "values ('f', 'http://x.invalid/', '[]', 600, 1, 'active', 0)"))
            c.execute(text("insert into items (feed_id, uid, title, link, canonical_url, summary, published, "
                           "fetched_at) values (1, 'u', 't', 'l', '', '', '2026-01-01', '2026-01-01')"))
            c.execute(text("insert into scores (item_id, watchlist, value, severity, contributions, created_at) "
                           "values (1, 'w', 3, 1, '[]', '2026-01-01')"))
            c.execute(text("insert into alerts (dedup_key, item_id, watchlist, severity, score, message, status, "
                           "created_at, subject) values ('k', 1, 'w', 1, 3, '{}', 'pending', '2026-01-01', 'item:1')"))
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.begin() as c:
            assert c.execute(text("select kind, story_id, item_id from alerts")).all() == [("item", None, 1)]
            assert c.execute(text("select actors, terms from scores")).all() == [("[]", "[]")]
            assert c.execute(text("select story_id from items")).all() == [(None,)]
            c.execute(text("insert into alerts (dedup_key, item_id, watchlist, severity, score, message, status, "
                           "created_at, subject, kind) values ('t', NULL, 'w', 2, 14, '{}', 'pending', "
                           "'2026-01-02', 'trend:w', 'trend')"))  # a trend alert has no item
    finally:
        engine.dispose()
