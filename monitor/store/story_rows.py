"""Storage for stories: story rows, item assignments, per-story alert state, the rows a story's level and a
trend count are computed from, and retention."""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Dialect, and_, bindparam, case, delete, exists, func, not_, or_, type_coerce, update
from sqlalchemy import select as core_select
from sqlalchemy.types import NullType
from sqlmodel import Session, col, select

from monitor.core.clustering import Story
from monitor.core.story_rules import StoryAlertState, StoryItem
from monitor.domain import Contribution, Score, Severity
from monitor.store.desk_tables import FeedbackRow, TriageEventRow, TriageRow
from monitor.store.repo import _insert, clear_article_texts, insert_for
from monitor.store.tables import (
    AlertRow,
    AttemptRow,
    DeliveryRow,
    FeedRow,
    ItemRow,
    JobRunRow,
    ScoreRow,
    SendRow,
    StoryAlertRow,
    StoryRow,
)

# --- stories and items ---


def save_stories(session: Session, stories: Sequence[Story]) -> None:
    """Insert or update story rows from index snapshots, in one executemany of INSERT ... ON CONFLICT, so two
    transactions filing copies of a new story at once both succeed; an older snapshot committed last never
    shrinks the sources or lowers last_seen and best_score."""
    if not stories:
        return
    session.connection().execute(_story_upsert(session.get_bind().dialect.name), [
        {"id": story.id, "first_seen": story.first_seen, "last_seen": story.last_seen, "title": story.title,
         "sources": list(story.sources), "best_score": story.best_score} for story in stories])


@functools.cache
def _story_upsert(dialect: str) -> Any:
    """Built once per dialect: building its CASE expressions took as long as running it for a document."""
    rows: Any = StoryRow.__table__  # type: ignore[attr-defined]  # Core: an executemany, compiled once
    upsert = insert_for(dialect, rows)
    new, table = upsert.excluded, rows.c
    more = func.json_array_length(new.sources) >= func.json_array_length(table.sources)
    return upsert.on_conflict_do_update(index_elements=["id"], set_={
        "first_seen": case((new.first_seen < table.first_seen, new.first_seen), else_=table.first_seen),
        "last_seen": case((new.last_seen > table.last_seen, new.last_seen), else_=table.last_seen),
        "title": case((more, new.title), else_=table.title),
        "sources": case((more, new.sources), else_=table.sources),
        "best_score": case((new.best_score > table.best_score, new.best_score), else_=table.best_score),
    })


def assign(session: Session, assignments: Sequence[tuple[int, str]]) -> None:
    """Items' story ids, one executemany for a whole document, handed to the driver as it is: the parameters are
    an int and a string, and SQLAlchemy's per-row parameter processing was most of the statement's cost."""
    if assignments:
        connection = session.connection()
        sql, order = _assign_sql(connection.dialect)
        rows = [{"item": item_id, "story": story_id} for item_id, story_id in assignments]
        connection.exec_driver_sql(sql, [tuple(row[name] for name in order) for row in rows] if order else rows)


@functools.lru_cache(maxsize=8)  # by dialect object: one per engine
def _assign_sql(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The UPDATE in the driver's own parameter style, and the parameters' order when that style is positional."""
    table: Any = ItemRow.__table__  # type: ignore[attr-defined]
    compiled = update(table).where(table.c.id == bindparam("item")).values(story_id=bindparam("story")).compile(
        dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def stories_since(session: Session, since: datetime) -> list[StoryRow]:
    query = select(StoryRow).where(col(StoryRow.last_seen) >= since).order_by(col(StoryRow.first_seen))
    return list(session.exec(query))


def stories_by_id(session: Session, story_ids: Sequence[str]) -> list[StoryRow]:
    return [row for chunk in _chunks(story_ids) for row in session.exec(select(StoryRow).where(
        col(StoryRow.id).in_(chunk)))]


def story_severities(session: Session, story_ids: Sequence[str]) -> dict[str, int]:
    """The highest item severity of each story, over every watchlist."""
    if not story_ids:
        return {}
    rows = session.exec(select(ItemRow.story_id, func.max(ScoreRow.severity))
                        .join(ScoreRow, col(ScoreRow.item_id) == col(ItemRow.id))
                        .where(col(ItemRow.story_id).in_(list(story_ids))).group_by(col(ItemRow.story_id)))
    return {str(story_id): int(sev or 0) for story_id, sev in rows}


class StoredItem(NamedTuple):
    """A stored item as a replay reads it (a named tuple: a week is 50,000 of them, made 4 times faster than a
    frozen dataclass)."""

    id: int
    story_id: str | None
    feed: str
    tags: tuple[str, ...]
    title: str
    summary: str
    link: str
    published: datetime
    fetched_at: datetime
    language: str | None = None  # as stored: the feed's or the text's (monitor.feeds.language)


def items_between(session: Session, start: datetime, end: datetime) -> list[StoredItem]:
    """Items fetched in [start, end], oldest first, with their feed's name and tags."""
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    return _stored(session, [items.c.fetched_at >= start, items.c.fetched_at <= end])


def items_by_id(session: Session, ids: Sequence[int]) -> list[StoredItem]:
    """These items, with their feed's name and tags (oldest first within each 500)."""
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    return [item for chunk in _chunks(ids) for item in _stored(session, [items.c.id.in_(chunk)])]


def _stored(session: Session, where: Sequence[Any]) -> list[StoredItem]:
    """The items `where` selects, oldest first, read as plain rows of the columns a replay uses (no ORM object,
    article text or band keys per row: a week holds 50,000 items or more), each feed's name and tags once."""
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    feeds: Any = FeedRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    by_id = {i: (name, tuple(tags or ())) for i, name, tags in
             connection.execute(core_select(feeds.c.id, feeds.c.name, feeds.c.tags))}
    query = (core_select(items.c.id, items.c.story_id, items.c.feed_id, items.c.title, items.c.summary, items.c.link,
                         items.c.published, items.c.fetched_at, items.c.language)
             .where(*where).order_by(items.c.fetched_at, items.c.id))
    return [StoredItem(i or 0, story, *by_id[feed], title, summary, link, published, fetched, language)
            for i, story, feed, title, summary, link, published, fetched, language in connection.execute(query)
            if feed in by_id]  # as a join with feeds would: every item has its feed (a foreign key)


class FilingRow(NamedTuple):
    """What the story index files a stored item with (StoryCache): no link, tags or article text."""

    id: int
    story_id: str
    feed: str
    title: str
    summary: str
    fetched_at: datetime
    band_keys: bytes | None  # core.fingerprint.pack_keys; None: stored before they were kept


def window_stories(session: Session, since: datetime) -> list[Story]:
    """The stories last seen at or after `since`, oldest first, as index snapshots (no items, no scores): read
    as plain rows, not as ORM objects (50,000 of them at a restart)."""
    table: Any = StoryRow.__table__  # type: ignore[attr-defined]
    query = (core_select(table.c.id, table.c.first_seen, table.c.last_seen, table.c.title, table.c.sources)
             .where(table.c.last_seen >= since).order_by(table.c.first_seen))
    return [Story(i, first, last, title, tuple(sources or ()), 0, {})
            for i, first, last, title, sources in session.connection().execute(query)]


class WindowKeys(NamedTuple):
    """The window's filed items without their texts, by column (what StoryIndex.load reads at once; the texts are
    read when a story is made, `texts_of`)."""

    ids: list[int]
    story_ids: list[str]
    feeds: list[str]
    fetched_at: list[datetime]
    band_keys: list[bytes | None]


def window_filing_keys(session: Session, since: datetime, until: datetime) -> WindowKeys:
    """Items fetched in [since, until] and filed in a story last seen at or after `since`, oldest first (found
    through the stories' index and items.story_id's, so a restart reads the window and not the history), without
    their texts, as the driver returns them (no per-value processing but the times'): 50,000 items in a fraction
    of the time of FilingRows."""
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    stories: Any = StoryRow.__table__  # type: ignore[attr-defined]
    feeds: Any = FeedRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    names: dict[int, str] = {i: name for i, name in connection.execute(core_select(feeds.c.id, feeds.c.name))}
    query = (core_select(items.c.id, items.c.story_id, items.c.feed_id, _raw(items.c.fetched_at),
                         _raw(items.c.band_keys))
             .select_from(items).join(stories, stories.c.id == items.c.story_id)
             .where(stories.c.last_seen >= since, items.c.fetched_at >= since, items.c.fetched_at <= until)
             .order_by(items.c.fetched_at, items.c.id))
    rows = [row for row in connection.execute(query).all() if row[2] in names]  # every item has its feed
    if not rows:
        return WindowKeys([], [], [], [], [])
    ids, story_ids, feed_ids, times, keys = (list(column) for column in zip(*rows, strict=True))
    return WindowKeys(ids, story_ids, [names[f] for f in feed_ids], _utc_all(times),
                      [None if k is None else bytes(k) for k in keys])


def _utc_all(values: Sequence[Any]) -> list[datetime]:
    """_utc of each, SQLite's text parsed by numpy at once (a tenth of the time) when it has no offset."""
    if values and all(isinstance(v, str) and len(v) <= 26 for v in values):  # no offset: "2026-03-01 12:00:00.5"
        import numpy as np

        try:
            parsed = np.array(values, dtype="datetime64[us]").astype(datetime).tolist()
        except ValueError:
            parsed = None
        if parsed is not None and all(isinstance(p, datetime) for p in parsed):
            return [p.replace(tzinfo=UTC) for p in parsed]
    return [_utc(v) for v in values]


def texts_of(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """item id -> (title, summary)."""
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    return {i: (title, summary) for chunk in _chunks(ids) for i, title, summary in connection.execute(
        core_select(items.c.id, items.c.title, items.c.summary).where(items.c.id.in_(chunk)))}


def window_texts(session: Session, since: datetime, until: datetime) -> dict[int, tuple[str, str]]:
    """texts_of every item window_filing_keys reads."""
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    stories: Any = StoryRow.__table__  # type: ignore[attr-defined]
    query = (core_select(items.c.id, items.c.title, items.c.summary)
             .select_from(items).join(stories, stories.c.id == items.c.story_id)
             .where(stories.c.last_seen >= since, items.c.fetched_at >= since, items.c.fetched_at <= until))
    return {i: (title, summary) for i, title, summary in session.connection().execute(query)}


def stored_stories(session: Session, story_ids: Sequence[str]) -> list[Story]:
    """These story rows as index snapshots (no items, no scores), as window_stories reads them."""
    table: Any = StoryRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    return [_story_of_row(row) for chunk in _chunks(story_ids)
            for row in connection.execute(_story_select().where(table.c.id.in_(chunk)))]


def window_stories_without_items(session: Session, since: datetime, until: datetime) -> list[Story]:
    """window_stories none of whose items window_filing_keys reads (rare: an item pruned, or filed late)."""
    table: Any = StoryRow.__table__  # type: ignore[attr-defined]
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    filed = exists().where(items.c.story_id == table.c.id, items.c.fetched_at >= since, items.c.fetched_at <= until)
    query = _story_select().where(table.c.last_seen >= since, not_(filed)).order_by(table.c.first_seen)
    return [_story_of_row(row) for row in session.connection().execute(query)]


def _story_select() -> Any:
    table: Any = StoryRow.__table__  # type: ignore[attr-defined]
    return core_select(table.c.id, _raw(table.c.first_seen), _raw(table.c.last_seen), table.c.title,
                       _raw(table.c.sources))


def _story_of_row(row: Sequence[Any]) -> Story:
    story_id, first_seen, last_seen, title, sources = row
    return Story(story_id, _utc(first_seen), _utc(last_seen), title, tuple(_json(sources) or ()), 0, {})


def _raw(column: Any) -> Any:
    """A column read as the driver returns it: SQLAlchemy's per-value processing (datetimes from SQLite's text,
    JSON) was most of the cost of reading a window."""
    return type_coerce(column, NullType())


def _utc(value: Any) -> datetime:
    """A stored time as the DateTime column would read it: SQLite's text or a driver's datetime, in UTC."""
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(when, datetime):
        raise TypeError(f"not a stored time: {value!r}")
    return when.replace(tzinfo=UTC) if when.utcoffset() is None else when.astimezone(UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def filing_rows_by_id(session: Session, ids: Sequence[int]) -> list[FilingRow]:
    """These items if filed in a story, oldest first within each 500."""
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    return [FilingRow(*row) for chunk in _chunks(ids) for row in session.connection().execute(
        _filing_select().where(items.c.id.in_(chunk), items.c.story_id.is_not(None))
        .order_by(items.c.fetched_at, items.c.id))]


def _filing_select() -> Any:
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    feeds: Any = FeedRow.__table__  # type: ignore[attr-defined]
    return (core_select(items.c.id, items.c.story_id, feeds.c.name, items.c.title, items.c.summary,
                        items.c.fetched_at, items.c.band_keys).select_from(items)
            .join(feeds, feeds.c.id == items.c.feed_id))


def window_score_rows(session: Session, since: datetime, until: datetime) -> dict[int, list[Sequence[Any]]]:
    """The scores of the items window_filing_keys reads (one query over the same join), as the driver's rows by
    item, each made into a Score by `score_of_row` only when needed (a
    story's level is computed when an item joins it): 15,000 scores took a fifth of a second to convert."""
    out: dict[int, list[Sequence[Any]]] = defaultdict(list)
    for row in session.connection().execute(_window_scores_query(since, until)):
        out[row[0]].append(row)
    return dict(out)


def score_of_row(row: Sequence[Any]) -> Score:
    _, watchlist, value, severity, contributions, actors, terms = row
    return _score(watchlist, value, severity, _json(contributions), _json(actors), _json(terms))


def _window_scores_query(since: datetime, until: datetime) -> Any:
    items: Any = ItemRow.__table__  # type: ignore[attr-defined]
    stories: Any = StoryRow.__table__  # type: ignore[attr-defined]
    scores: Any = ScoreRow.__table__  # type: ignore[attr-defined]
    return (core_select(scores.c.item_id, scores.c.watchlist, scores.c.value, scores.c.severity,
                         _raw(scores.c.contributions), _raw(scores.c.actors), _raw(scores.c.terms))
             .select_from(stories).join(items, items.c.story_id == stories.c.id)
             .join(scores, scores.c.item_id == items.c.id)
             .where(stories.c.last_seen >= since, items.c.fetched_at >= since, items.c.fetched_at <= until))


def assign_keyed(session: Session, assignments: Sequence[tuple[int, str, bytes]]) -> None:
    """`assign`, with each item's band keys (core.fingerprint.pack_keys) written in the same UPDATE."""
    if assignments:
        connection = session.connection()
        sql, order = _assign_keyed_sql(connection.dialect)
        rows = [{"item": item_id, "story": story_id, "keys": keys} for item_id, story_id, keys in assignments]
        connection.exec_driver_sql(sql, [tuple(row[name] for name in order) for row in rows] if order else rows)


@functools.lru_cache(maxsize=8)
def _assign_keyed_sql(dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    table: Any = ItemRow.__table__  # type: ignore[attr-defined]
    compiled = update(table).where(table.c.id == bindparam("item")).values(
        story_id=bindparam("story"), band_keys=bindparam("keys")).compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())


def filed_after(session: Session, after_id: int) -> list[int]:
    """Ids above `after_id` of the items filed in a story: an item is filed in the transaction that stores it, so
    another worker's items show here once committed, and this transaction's own unfiled ones do not."""
    return list(session.exec(select(ItemRow.id).where(col(ItemRow.id) > after_id,
                                                      col(ItemRow.story_id).is_not(None))))  # type: ignore[arg-type]


def last_item_id(session: Session) -> int:
    return int(session.exec(select(func.max(ItemRow.id))).one() or 0)


def score_of(row: ScoreRow) -> Score:
    return _score(row.watchlist, row.value, row.severity, row.contributions, row.actors, row.terms)


def _score(watchlist: str, value: float, severity: int, contributions: list[dict[str, Any]],
           actors: list[str] | None, terms: list[str] | None) -> Score:
    """A stored score, from its row's columns (an ORM row's or a plain row's)."""
    return Score(watchlist, value, Severity(severity), tuple(
        Contribution(c["kind"], c["term"], (int(c["span"][0]), int(c["span"][1])), float(c["value"]),
                     c.get("detail", ""), c.get("part", "")) for c in contributions or ()),
        tuple(actors or ()), tuple(terms or ()))


def scores_of(session: Session, item_ids: Sequence[int]) -> dict[int, dict[str, Score]]:
    """item id -> watchlist -> its stored score."""
    out: dict[int, dict[str, Score]] = defaultdict(dict)
    for chunk in _chunks(item_ids):
        for row in session.exec(select(ScoreRow).where(col(ScoreRow.item_id).in_(chunk))):
            out[row.item_id][row.watchlist] = score_of(row)
    return dict(out)


def story_items(session: Session, story_id: str, watchlist: str, since: datetime) -> list[StoryItem]:
    """The story's items seen at or after `since`, each with its feed as source and its score for the watchlist.
    Sources are feed names: each feed carrying the story counts once."""
    query = (select(ItemRow.fetched_at, FeedRow.name, ScoreRow)
             .join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
             .join(ScoreRow, and_(col(ScoreRow.item_id) == col(ItemRow.id), col(ScoreRow.watchlist) == watchlist),
                   isouter=True)
             .where(col(ItemRow.story_id) == story_id, col(ItemRow.fetched_at) >= since))
    return [StoryItem(at, name, score_of(score) if score is not None else None)
            for at, name, score in session.exec(query)]


# --- per-story alert state ---


def alert_state(session: Session, story_id: str, watchlist: str) -> StoryAlertState:
    row = _state_row(session, story_id, watchlist)
    if row is None:
        return StoryAlertState()
    return StoryAlertState(Severity(row.severity), row.step, row.sources, row.alerts, row.deescalated)


def save_alert_state(session: Session, story_id: str, watchlist: str, state: StoryAlertState, now: datetime) -> None:
    """Upsert in one statement; a state with fewer alerts than the stored one (an older decision committed
    late) does not replace it."""
    values = {"severity": int(state.severity), "step": state.step, "sources": state.sources, "alerts": state.alerts,
              "deescalated": state.deescalated, "last_alert_at": now}
    stmt = _insert(session, StoryAlertRow).values(story_id=story_id, watchlist=watchlist, **values)
    table = StoryAlertRow.__table__.c  # type: ignore[attr-defined]
    session.execute(stmt.on_conflict_do_update(index_elements=["story_id", "watchlist"], set_=values,
                                               where=table.alerts <= state.alerts))
    severity = case((col(StoryRow.alert_severity) < int(state.severity), int(state.severity)),
                    else_=col(StoryRow.alert_severity))
    session.execute(update(StoryRow).where(col(StoryRow.id) == story_id)
                    .values(alerted_at=now, alert_severity=severity))


def alerted_since(session: Session, watchlists: Sequence[str], since: datetime) -> list[StoryAlertRow]:
    """Alert states of stories that alerted since `since` (what a de-escalation sweep looks at)."""
    if not watchlists:
        return []
    return list(session.exec(select(StoryAlertRow).where(
        col(StoryAlertRow.watchlist).in_(list(watchlists)), col(StoryAlertRow.alerts) > 0,
        col(StoryAlertRow.last_alert_at) >= since, not_(col(StoryAlertRow.deescalated)))))


def _state_row(session: Session, story_id: str, watchlist: str) -> StoryAlertRow | None:
    return session.exec(select(StoryAlertRow).where(StoryAlertRow.story_id == story_id,
                                                    StoryAlertRow.watchlist == watchlist)).first()


# --- trends ---


def escalation_scores(session: Session, watchlist: str, since: datetime,
                      until: datetime) -> list[tuple[datetime, tuple[str, ...], int]]:
    """(created_at, actors, feed id) of the watchlist's escalation-scored items (positive, with an escalation
    term); the feed, so a trend counts its sources and not only its items."""
    rows = session.exec(select(ScoreRow.created_at, ScoreRow.actors, ScoreRow.terms, ItemRow.feed_id)
                        .join(ItemRow, col(ItemRow.id) == col(ScoreRow.item_id))
                        .where(ScoreRow.watchlist == watchlist, col(ScoreRow.value) > 0,
                               col(ScoreRow.created_at) >= since, col(ScoreRow.created_at) <= until)
                        .order_by(col(ScoreRow.created_at)))
    return [(at, tuple(actors or ()), feed) for at, actors, terms, feed in rows if terms]


def history_start(session: Session, watchlist: str) -> datetime | None:
    """Since when the watchlist's scores are on record."""
    value: datetime | None = session.exec(
        select(func.min(ScoreRow.created_at)).where(ScoreRow.watchlist == watchlist)).one()
    return value


def last_alert_at(session: Session, watchlist: str, subject: str) -> datetime | None:
    value: datetime | None = session.exec(select(func.max(AlertRow.created_at)).where(
        AlertRow.watchlist == watchlist, AlertRow.subject == subject)).one()
    return value


# --- retention ---


def prune(session: Session, before: datetime) -> dict[str, int]:
    """Delete what is older than `before`: alerts whose deliveries are all settled (never one still pending or
    being sent) with their deliveries and attempts, sends nothing refers to, items no kept alert refers to with
    their scores, the article text of older items an alert keeps (the alert carries its explanation; the text is
    the bulk of the row), stories last seen before it with their alert state and triage, and finished job runs.
    Analysts' verdicts go with their alerts."""
    counts: dict[str, int] = defaultdict(int)
    unsettled = exists().where(col(DeliveryRow.alert_id) == col(AlertRow.id),
                               col(DeliveryRow.status).in_(["pending", "sending"]))
    old_alerts = select(AlertRow.id).where(col(AlertRow.created_at) < before, col(AlertRow.status) != "pending",
                                           not_(unsettled))
    alert_ids = [i for i in session.exec(old_alerts) if i is not None]
    for chunk in _chunks(alert_ids):
        deliveries = select(DeliveryRow.id).where(col(DeliveryRow.alert_id).in_(chunk))
        counts["attempts"] += _rowcount(session.execute(
            delete(AttemptRow).where(col(AttemptRow.delivery_id).in_(deliveries))))
        counts["deliveries"] += _rowcount(session.execute(
            delete(DeliveryRow).where(col(DeliveryRow.alert_id).in_(chunk))))
        # An analyst's verdict goes with its alert; the story's timeline keeps the action, without the alert.
        counts["feedback"] += _rowcount(session.execute(
            delete(FeedbackRow).where(col(FeedbackRow.alert_id).in_(chunk))))
        session.execute(update(TriageEventRow).where(col(TriageEventRow.alert_id).in_(chunk)).values(alert_id=None))
        counts["alerts"] += _rowcount(session.execute(delete(AlertRow).where(col(AlertRow.id).in_(chunk))))
    used = or_(exists().where(col(DeliveryRow.send_id) == col(SendRow.id)),
               exists().where(col(AttemptRow.send_id) == col(SendRow.id)))
    counts["sends"] = _rowcount(session.execute(
        delete(SendRow).where(col(SendRow.started_at) < before, col(SendRow.status) != "sending", not_(used))))
    kept = exists().where(col(AlertRow.item_id) == col(ItemRow.id))
    old_items = [i for i in session.exec(select(ItemRow.id).where(col(ItemRow.fetched_at) < before, not_(kept)))
                 if i is not None]
    for chunk in _chunks(old_items):
        counts["scores"] += _rowcount(session.execute(delete(ScoreRow).where(col(ScoreRow.item_id).in_(chunk))))
        counts["items"] += _rowcount(session.execute(delete(ItemRow).where(col(ItemRow.id).in_(chunk))))
    counts["article_texts"] = clear_article_texts(session, before)
    old_stories = [s for s in session.exec(select(StoryRow.id).where(col(StoryRow.last_seen) < before))]
    for chunk in _chunks(old_stories):
        counts["story_alerts"] += _rowcount(session.execute(
            delete(StoryAlertRow).where(col(StoryAlertRow.story_id).in_(chunk))))
        session.execute(delete(TriageRow).where(col(TriageRow.story_id).in_(chunk)))
        counts["triage_events"] += _rowcount(session.execute(
            delete(TriageEventRow).where(col(TriageEventRow.story_id).in_(chunk))))
        counts["stories"] += _rowcount(session.execute(delete(StoryRow).where(col(StoryRow.id).in_(chunk))))
    counts["job_runs"] = _rowcount(session.execute(delete(JobRunRow).where(col(JobRunRow.started_at) < before)))
    return dict(counts)


def _chunks(ids: Sequence[Any], size: int = 500) -> Iterable[list[Any]]:
    for start in range(0, len(ids), size):
        yield list(ids[start:start + size])


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
