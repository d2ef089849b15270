"""Storage on a real database (SQLite file, or PostgreSQL with MONITOR_TEST_DB=postgresql)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine
from sqlmodel import SQLModel, select

from monitor.domain import FeedSpec, Item
from monitor.store import repo
from monitor.store.db import make_engine, session
from monitor.store.migrate import HEAD, SchemaError, current_revision, ensure_schema, head_revision
from monitor.store.tables import FeedRow, ItemRow

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


def _feed(engine: Engine, name: str = "World") -> int:
    with session(engine) as s:
        repo.sync_feeds(s, [FeedSpec(name, f"http://127.0.0.1/{name}.xml", 600.0, ("world",))], NOW)
        s.commit()
        return next(f.id for f in repo.all_feeds(s) if f.name == name and f.id is not None)


def _item(uid: str, title: str = "NATO warns of imminent war") -> Item:
    return Item(uid=uid, feed="World", title=title, link=f"http://example.org/{uid}", summary="",
                published=NOW - timedelta(hours=1))


def test_fresh_database_is_created_at_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()


def test_the_written_head_is_the_newest_migration() -> None:
    # A start on a database at HEAD skips Alembic; a migration added without moving HEAD would be refused by it.
    assert head_revision() == HEAD, "a new migration: set monitor.store.migrate.HEAD to its revision"


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == [], "tables changed without a migration: run monitor.store.migrate.new_revision"


def test_database_behind_is_refused(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'old0000'")
    with pytest.raises(SchemaError, match="monitor db upgrade"):
        ensure_schema(engine)


def test_insert_returns_only_new_items(engine: Engine) -> None:
    feed_id = _feed(engine)
    with session(engine) as s:
        first = repo.insert_new_items(s, feed_id, [_item("a"), _item("b"), _item("a", "repeated guid")], NOW)
        s.commit()
    assert sorted(item.uid for _, item in first) == ["a", "b"]
    with session(engine) as s:
        again = repo.insert_new_items(s, feed_id, [_item("a"), _item("c")], NOW)
        s.commit()
    assert [item.uid for _, item in again] == ["c"]


def test_recent_uids_are_this_feeds_newest_first_up_to_the_limit(engine: Engine) -> None:
    world, other = _feed(engine), _feed(engine, "Other")
    with session(engine) as s:
        repo.insert_new_items(s, world, [_item("a"), _item("b")], NOW)
        repo.insert_new_items(s, other, [_item("x")], NOW)
        repo.insert_new_items(s, world, [_item("c")], NOW)
        s.commit()
        assert repo.recent_uids(s, world, 10) == ["c", "b", "a"]
        assert repo.recent_uids(s, world, 2) == ["c", "b"]
        assert repo.recent_uids(s, other, 10) == ["x"]


def test_an_article_another_feed_stored_is_not_stored_again_but_a_front_page_is(engine: Engine) -> None:
    world, other = _feed(engine), _feed(engine, "Other")
    article = Item(uid="w1", feed="World", title="t", link="https://example.org/news/1?utm_source=x", summary="",
                   published=NOW, canonical_url="https://example.org/news/1")
    front = Item(uid="w2", feed="World", title="t", link="https://example.org/", summary="", published=NOW,
                 canonical_url="https://example.org")
    with session(engine) as s:
        repo.insert_new_items(s, world, [article, front], NOW)
        again = repo.insert_new_items(s, other, [dataclasses.replace(article, uid="o1", feed="Other"),
                                                 dataclasses.replace(front, uid="o2", feed="Other")], NOW)
        s.commit()
    assert [item.uid for _, item in again] == ["o2"]


def test_poll_bookkeeping_writes_what_the_poll_owns_and_keeps_what_a_reload_changed(engine: Engine) -> None:
    world, europe = _feed(engine, "World"), _feed(engine, "Europe")
    with session(engine) as s:
        claimed = repo.feeds_by_id(s, [world, europe])
    for row in claimed.values():  # as the poll's bookkeeping leaves a claimed row after a 304
        row.etag, row.next_poll_at, row.last_success_at = f'"{row.name}"', NOW + timedelta(minutes=10), NOW
        row.consecutive_failures, row.health, row.claimed_by = 0, "ok", None
    claimed[europe].url = "https://example.org/europe-moved.xml"  # a permanent redirect
    with session(engine) as s:  # meanwhile a reload changed the interval, the tags, a URL: not the poll's to write
        repo.sync_feeds(s, [FeedSpec("World", "http://127.0.0.1/World-new.xml", 60.0, ("changed",)),
                            FeedSpec("Europe", "http://127.0.0.1/Europe.xml", 60.0, ("changed",))], NOW)
        s.commit()
    with session(engine) as s:
        assert repo.record_polls(s, list(claimed.values()), moved={europe}) == set()
        s.commit()
        stored = repo.feeds_by_id(s, [world, europe])
    for feed_id in (world, europe):
        row = stored[feed_id]
        assert (row.etag, row.next_poll_at, row.last_success_at) == (f'"{row.name}"', NOW + timedelta(minutes=10), NOW)
        assert (row.interval, row.tags) == (60.0, ["changed"])
    assert stored[world].url == "http://127.0.0.1/World-new.xml"
    assert stored[europe].url == "https://example.org/europe-moved.xml"


def test_poll_bookkeeping_names_the_feeds_that_are_gone_from_the_table(engine: Engine) -> None:
    world, europe = _feed(engine, "World"), _feed(engine, "Europe")
    with session(engine) as s:
        claimed = repo.feeds_by_id(s, [world, europe])
        s.delete(s.get(FeedRow, europe))
        s.commit()
    claimed[world].etag = '"w"'
    with session(engine) as s:
        assert repo.record_polls(s, list(claimed.values())) == {europe}
        s.commit()
        assert repo.feeds_by_id(s, [world])[world].etag == '"w"'


def test_a_polls_first_write_says_whether_its_feed_is_still_there(engine: Engine) -> None:
    world = _feed(engine, "World")
    with session(engine) as s:
        assert repo.touch_feed(s, world, NOW) is True
        assert repo.touch_feed(s, world + 1000, NOW) is False
        s.commit()
        assert repo.feeds_by_id(s, [world])[world].last_polled_at == NOW


def test_feeds_removed_from_config_are_disabled(engine: Engine) -> None:
    _feed(engine, "One")
    with session(engine) as s:
        repo.sync_feeds(s, [FeedSpec("Two", "http://127.0.0.1/two.xml", 600.0)], NOW)
        s.commit()
        state = {f.name: f.enabled for f in repo.all_feeds(s)}
    assert state == {"One": False, "Two": True}


def test_concurrent_inserts_of_the_same_item_and_alert_yield_one_row(engine: Engine) -> None:
    feed_id = _feed(engine)
    barrier = threading.Barrier(8)
    created: list[int | None] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with session(engine) as s:
                new = repo.insert_new_items(s, feed_id, [_item("race")], NOW)
                s.commit()
            with session(engine) as s:
                item_id = s.exec(select(ItemRow.id)).one()
                alert = repo.NewAlert("wl:item:race", item_id, "wl", 2, 9.0, {"title": "x"}, ("console",))
                created.append(repo.add_alert(s, alert, NOW))
                s.commit()
            assert len(new) <= 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sum(1 for c in created if c is not None) == 1
    with session(engine) as s:
        assert len(repo.list_alerts(s)) == 1
        assert len(repo.deliveries_for(s, [c for c in created if c is not None])) == 1


def test_upgrade_keeps_rows_written_at_the_first_revision(database_url: str) -> None:
    """An operator's database from an older release upgrades in place, its rows intact."""
    from monitor.store.migrate import MIGRATIONS, upgrade

    first = min(MIGRATIONS.joinpath("versions").glob("*_initial_schema.py")).name.split("_")[0]
    engine = make_engine(database_url)
    try:
        upgrade(engine, first)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO feeds (name, url, tags, interval, enabled, status, consecutive_failures) "
                "VALUES ('Old', 'http://127.0.0.1/old.xml', '[]', 600, true, 'active', 0)")
        assert current_revision(engine) == first
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with session(engine) as s:
            (feed,) = repo.all_feeds(s)
        assert (feed.name, feed.url, feed.health) == ("Old", "http://127.0.0.1/old.xml", "ok")
    finally:
        engine.dispose()
