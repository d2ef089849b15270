"""Storage operations by entity. Inserts rely on unique keys, so "store" returns only what is new."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from monitor.core.urls import is_article_url
from monitor.domain import FeedSpec, Item, Score
from monitor.store.tables import AlertRow, DeliveryRow, FeedRow, ItemRow, ScoreRow


def _insert(session: Session, table: Any) -> Any:
    return insert_for(session.get_bind().dialect.name, table)


def insert_for(dialect: str, table: Any) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)


# --- feeds ---


def feeds_by_id(session: Session, ids: Sequence[int]) -> dict[int, FeedRow]:
    """The rows of these feeds, in one query."""
    return {row.id: row for row in session.exec(select(FeedRow).where(col(FeedRow.id).in_(ids)))
            if row.id is not None}


def sync_feeds(session: Session, specs: Sequence[FeedSpec], now: datetime) -> None:
    """Make the feeds table follow the configuration: add, update, and disable what was removed.

    Every start and reload runs this, so it reads the configured columns only and writes only what differs: on
    1,000 unchanged feeds, a multi-row INSERT of all of them and the ORM's load took 0.6 s of `run --once`.
    Workers starting together all run it: new feeds are inserted with ON CONFLICT DO NOTHING."""
    columns = [_FEEDS.c[name] for name in ("id", "name", "url", "config_url", *_CONFIGURED)]
    stored = {row.name: row for row in session.execute(select(*columns))}
    new = [_feed_row(spec, now) for spec in specs if spec.name not in stored]
    if new:
        session.execute(_insert(session, FeedRow).values(new).on_conflict_do_nothing(index_elements=["name"]))
    wanted = {spec.name: spec for spec in specs}
    for name, row in stored.items():
        if changes := _feed_changes(row, wanted.get(name), now):
            session.execute(update(_FEEDS).where(_FEEDS.c.id == row.id).values(**changes))


_CONFIGURED = ("tags", "language", "interval", "enabled", "fulltext")  # the columns feeds.yaml sets as they are


def _feed_row(spec: FeedSpec, now: datetime) -> dict[str, Any]:
    return {"name": spec.name, "url": spec.url, "config_url": spec.url, "tags": list(spec.tags),
            "language": spec.language, "interval": spec.interval, "enabled": spec.enabled, "next_poll_at": now,
            "fulltext": spec.fulltext}


def _feed_changes(row: Any, spec: FeedSpec | None, now: datetime) -> dict[str, Any]:
    if spec is None:
        return {"enabled": False} if row.enabled else {}
    changes: dict[str, Any] = {}
    if spec.url != (row.config_url or row.url):
        # The operator changed the URL (not a 301 we followed): start afresh there, even if it was gone.
        changes.update(url=spec.url, config_url=spec.url, etag=None, last_modified=None, content_hash=None,
                       status="active", consecutive_failures=0, next_poll_at=now, pending_url=None)
    if spec.enabled and not row.enabled:
        changes["next_poll_at"] = now
    configured = _feed_row(spec, now)
    changes.update((name, configured[name]) for name in _CONFIGURED if getattr(row, name) != configured[name])
    return changes


# What a successful poll writes about its feed (monitor.usecases.bookkeeping), nothing a reload may change meanwhile.
_FEEDS: Any = FeedRow.__table__  # type: ignore[attr-defined]
POLL_COLUMNS: tuple[str, ...] = (
    "etag", "last_modified", "next_poll_at", "last_polled_at", "last_success_at", "last_new_item_at", "cadence", "ttl",
    "content_hash", "consecutive_failures", "last_error", "last_error_kind", "health", "claimed_by", "claimed_until",
    "pending_url")
_TOUCH = update(_FEEDS).where(_FEEDS.c.id == bindparam("p_id")).values(last_polled_at=bindparam("p_now"))


def touch_feed(session: Session, feed_id: int, now: datetime) -> bool:
    """The first write of a poll's transaction (on SQLite it takes the write lock, so what the poll reads next
    is settled); False when the feed is no longer in the table."""
    return bool(session.connection().execute(_TOUCH, {"p_id": feed_id, "p_now": now}).rowcount)


@functools.cache
def _poll_update(columns: tuple[str, ...]) -> Any:
    # bound as p_<column>: a bindparam named after a column of the SET clause is reserved by SQLAlchemy
    return (update(_FEEDS).where(_FEEDS.c.id == bindparam("p_id"))
            .values({name: bindparam(f"p_{name}") for name in columns}))


def record_polls(session: Session, rows: Sequence[FeedRow], moved: Collection[int] = ()) -> set[int]:
    """Write the poll bookkeeping of feeds claimed earlier, from the rows as the poll left them: one executemany
    (compiled once), where loading each row again through the ORM cost more than the write. The URL is written
    only for the feeds in `moved` (a permanent redirect). Returns the ids no longer in the table."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        columns = (*POLL_COLUMNS, "url") if row.id in moved else POLL_COLUMNS
        groups.setdefault(columns, []).append(
            {"p_id": row.id, **{f"p_{name}": getattr(row, name) for name in columns}})
    written = 0
    for columns, params in groups.items():
        written += session.connection().execute(_poll_update(columns), params).rowcount
    if written == len(rows):
        return set()
    ids = [row.id for row in rows if row.id is not None]
    return set(ids) - set(session.connection().execute(select(_FEEDS.c.id).where(_FEEDS.c.id.in_(ids))).scalars())


def all_feeds(session: Session) -> list[FeedRow]:
    return list(session.exec(select(FeedRow).order_by(col(FeedRow.name))))


def item_counts(session: Session) -> dict[int, int]:
    rows = session.exec(select(ItemRow.feed_id, func.count()).group_by(col(ItemRow.feed_id)))
    return {feed_id: count for feed_id, count in rows}


# --- items and scores ---


# The two queries of every changed feed's poll, built once and run in Core: building an ORM select with its IN
# list on every call cost about 0.3 ms a feed more, several times what the query itself costs.
_ITEMS: Any = ItemRow.__table__  # type: ignore[attr-defined]
_RECENT_UIDS = (select(_ITEMS.c.uid).where(_ITEMS.c.feed_id == bindparam("feed"))
                .order_by(_ITEMS.c.id.desc()).limit(bindparam("limit")))
_STORED_ELSEWHERE = select(_ITEMS.c.canonical_url).distinct().where(
    _ITEMS.c.canonical_url.in_(bindparam("urls", expanding=True)), _ITEMS.c.feed_id != bindparam("feed"))


def recent_uids(session: Session, feed_id: int, limit: int) -> list[str]:
    """The uids of the feed's newest stored items (by insertion), newest first."""
    return list(session.connection().execute(_RECENT_UIDS, {"feed": feed_id, "limit": limit}).scalars())


def canonicals_elsewhere(session: Session, feed_id: int, items: Iterable[Item]) -> set[str]:
    """Canonical URLs of these items already stored by another feed: the same article syndicated twice.
    Front pages identify no article and never count."""
    urls = sorted({i.canonical_url for i in items if i.canonical_url})
    if not urls:
        return set()
    # Front pages are dropped from what the query found, not from what it asks: it finds almost nothing, and
    # telling every item's URL apart (a urlsplit) cost more than the query.
    stored = session.connection().execute(_STORED_ELSEWHERE, {"urls": urls, "feed": feed_id}).scalars()
    return {url for url in stored if is_article_url(url)}


def insert_new_items(session: Session, feed_id: int, items: Iterable[Item], now: datetime,
                     articles: Mapping[str, tuple[str | None, str]] | None = None) -> list[tuple[int, Item]]:
    """Insert items; return (id, item) for the ones that were not stored before. An item whose canonical URL
    another feed already stored is the same article arriving twice: it is not stored again. Call it after a
    write in the same transaction (SQLite then holds the write lock, so no other feed slips the same article
    in between the check and the insert). `articles`: uid -> (main text, status) of the items whose article was
    read or tried (issue 18)."""
    articles = articles or {}
    by_uid = {item.uid: item for item in items}  # a document may repeat a guid: first one wins
    taken = canonicals_elsewhere(session, feed_id, by_uid.values())
    by_uid = {uid: item for uid, item in by_uid.items() if item.canonical_url not in taken}
    if not by_uid:
        return []
    values = [
        {"feed_id": feed_id, "uid": it.uid, "title": it.title, "link": it.link, "canonical_url": it.canonical_url,
         "summary": it.summary, "language": it.language, "published": it.published, "fetched_at": now,
         "article_text": articles.get(it.uid, _NO_ARTICLE)[0], "article_status": articles.get(it.uid, _NO_ARTICLE)[1]}
        for it in by_uid.values()
    ]
    # One statement executed for many parameter sets: compiled once and cached ("insertmanyvalues"), where a
    # .values(list) statement is compiled anew for every batch (most of the cost of storing a feed).
    rows = session.connection().execute(_item_insert(session.get_bind().dialect.name), values).all()
    return [(row_id, by_uid[uid]) for row_id, uid in rows]


_NO_ARTICLE: tuple[None, None] = (None, None)


@functools.cache
def _item_insert(dialect: str) -> Any:
    """Built once per dialect, like every statement of the write path."""
    return (insert_for(dialect, _ITEMS).on_conflict_do_nothing(index_elements=["feed_id", "uid"])
            .returning(_ITEMS.c.id, _ITEMS.c.uid))


def clear_article_texts(session: Session, before: datetime) -> int:
    """Retention of the article text of items fetched before `before` that are kept (an alert still refers to
    them): the bulk of the row goes, the item and its explanation stay. Returns how many items lost one."""
    result: Any = session.execute(update(ItemRow).where(col(ItemRow.fetched_at) < before,
                                                        col(ItemRow.article_text).is_not(None))
                                  .values(article_text=None))
    return int(result.rowcount or 0)


def add_scores(session: Session, scores: Sequence[tuple[int, Score]], now: datetime) -> None:
    """Scores of (item id, score): one Core executemany (compiled once, cached) for a whole document."""
    if not scores:
        return
    rows = [{"item_id": item_id, "watchlist": score.watchlist, "value": score.value,
             "severity": int(score.severity), "created_at": now, "actors": list(score.actors),
             "terms": list(score.terms),
             "contributions": [{"kind": c.kind, "term": c.term, "span": list(c.span), "value": c.value,
                                "detail": c.detail, "part": c.part} for c in score.contributions]}
            for item_id, score in scores]
    session.execute(insert(ScoreRow.__table__), rows)  # type: ignore[attr-defined]


# --- alerts (the outbox) ---


@dataclass(frozen=True)
class NewAlert:
    dedup_key: str
    item_id: int | None  # None: a trend alert, about no one item
    watchlist: str
    severity: int
    score: float
    message: dict[str, Any]
    channels: tuple[str, ...]
    subject: str = ""  # the story or item, for the re-alert window
    kind: str = "item"  # item, story_first, story_update, deescalation, trend
    story_id: str | None = None
    tags: tuple[str, ...] = ()  # the feed's tags, which a silence may match (not stored: the feed row has them)


def add_alert(session: Session, alert: NewAlert, now: datetime, *, held_by: str | None = None) -> int | None:
    """Write the alert and one delivery per channel; None if its dedup key already alerted. A held alert
    (`held_by`: a silence, a snooze, an acknowledgement) is written with status "held" and no deliveries, so no
    delivery path can ever pick it up."""
    stmt = _insert(session, AlertRow).values(
        dedup_key=alert.dedup_key, item_id=alert.item_id, watchlist=alert.watchlist, severity=alert.severity,
        score=alert.score, message=alert.message, status="held" if held_by else "pending", created_at=now,
        subject=alert.subject, kind=alert.kind, story_id=alert.story_id, held_by=held_by,
    ).on_conflict_do_nothing(index_elements=["dedup_key"])
    alert_id = session.execute(stmt.returning(col(AlertRow.id))).scalar()
    if alert_id is None or held_by:
        return None if alert_id is None else int(alert_id)
    for channel in alert.channels:
        session.add(DeliveryRow(alert_id=alert_id, channel=channel, next_attempt_at=now))
    return int(alert_id)


def list_alerts(session: Session, status: str | None = None, limit: int = 100) -> list[AlertRow]:
    query = select(AlertRow).order_by(col(AlertRow.id).desc()).limit(limit)
    if status:
        query = query.where(AlertRow.status == status)
    return list(session.exec(query))


def deliveries_for(session: Session, alert_ids: Sequence[int]) -> list[DeliveryRow]:
    if not alert_ids:
        return []
    return list(session.exec(select(DeliveryRow).where(col(DeliveryRow.alert_id).in_(alert_ids))))
