"""SQLModel tables. The database is the truth for schedule, dedup and alert state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, MetaData, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Named constraints keep migrations and error messages readable on both backends.
SQLModel.metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class FeedRow(SQLModel, table=True):
    __tablename__ = "feeds"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=300)
    url: str = Field(max_length=2000)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    language: str | None = Field(default=None, max_length=20)
    interval: float = 600.0
    enabled: bool = True
    status: str = Field(default="active", max_length=20)  # active, disabled, gone
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    next_poll_at: datetime | None = Field(default=None, index=True)
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_new_item_at: datetime | None = None
    last_error_kind: str | None = Field(default=None, max_length=40)
    last_error: str | None = Field(default=None, max_length=2000)
    consecutive_failures: int = 0
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = None
    # Polling (issue 8): where feeds.yaml points (url may differ after a 301), what the last body was (a server
    # that ignores validators costs no parse), how the feed publishes, and what operators were told.
    config_url: str | None = Field(default=None, max_length=2000)
    content_hash: str | None = Field(default=None, max_length=64)
    cadence: float | None = None  # typical seconds between the feed's publications
    ttl: float | None = None  # the feed's own minimum refresh (<ttl>, sy:updatePeriod), seconds
    last_error_at: datetime | None = None
    health: str = Field(default="ok", max_length=20)  # ok, failing, silent, gone
    health_notified: str = Field(default="ok", max_length=20)  # the state the ops channel last heard
    # A permanent redirect to another host seen once (issue 16): followed, but the feed moves only when the next
    # poll sees it again, so one forged or mistaken 301 cannot re-point a feed for good.
    pending_url: str | None = Field(default=None, max_length=2000)
    # feeds.yaml `fulltext:` (issue 18): whose articles the poll reads, kept here like tags and language
    fulltext: str = Field(default="auto", max_length=10, sa_column_kwargs={"server_default": "auto"})


class ItemRow(SQLModel, table=True):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("feed_id", "uid", name="uq_items_feed_uid"),)
    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feeds.id", index=True)
    uid: str = Field(max_length=500)
    title: str
    link: str
    canonical_url: str = Field(default="", index=True)
    summary: str = ""
    language: str | None = Field(default=None, max_length=20)
    published: datetime = Field(index=True)
    fetched_at: datetime
    story_id: str | None = Field(default=None, max_length=300, index=True)  # monitor.usecases.story_alerts files it
    # A candidate's article (issue 18): its main text as scored (at most polling.fulltext.max_text bytes), and how
    # reading it went (core.fulltext.ArticleText.label: "read", "failed: timeout ...", ...); None: not attempted.
    article_text: str | None = Field(default=None, sa_type=Text)
    article_status: str | None = Field(default=None, max_length=300)
    # The MinHash band keys its story was found with (core.fingerprint.pack_keys), written when it is filed: the
    # story index is rebuilt from them at start without computing MinHash again (issue 16, row 4). None: filed
    # before they were kept, computed at load.
    band_keys: bytes | None = Field(default=None, sa_type=LargeBinary)


class StoryRow(SQLModel, table=True):
    """Near-duplicate items (one text through many feeds); the id is its first item's id as text."""

    __tablename__ = "stories"
    __table_args__ = (Index("ix_stories_alerted_at_id", "alerted_at", "id"),)
    id: str = Field(primary_key=True, max_length=300)
    first_seen: datetime
    last_seen: datetime = Field(index=True)
    title: str = ""
    sources: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    best_score: float = 0.0
    # The console's inbox (issue 17) is the stories that alerted, newest alert first: kept here, written with the
    # story's alert state, so a page of 500,000 items' stories is one indexed read, not a GROUP BY over alerts.
    alerted_at: datetime | None = None  # indexed with the id: the inbox's order, read without a sort
    alert_severity: int = 0


class StoryAlertRow(SQLModel, table=True):
    """What has gone out for one story and watchlist (core.story_rules.StoryAlertState), written with the alert."""

    __tablename__ = "story_alerts"
    __table_args__ = (UniqueConstraint("story_id", "watchlist", name="uq_story_alerts_story_watchlist"),)
    id: int | None = Field(default=None, primary_key=True)
    story_id: str = Field(max_length=300, index=True)
    watchlist: str = Field(max_length=200)
    severity: int = 0
    step: int = 0
    sources: int = 0
    alerts: int = 0
    deescalated: bool = False
    last_alert_at: datetime | None = None


class ScoreRow(SQLModel, table=True):
    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("item_id", "watchlist", name="uq_scores_item_watchlist"),
                      Index("ix_scores_watchlist_created", "watchlist", "created_at"))
    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    watchlist: str = Field(max_length=200)
    value: float
    severity: int
    contributions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime
    # matched actors and escalation terms, so trend counts are one query over (watchlist, created_at)
    actors: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    terms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class AlertRow(SQLModel, table=True):
    __tablename__ = "alerts"
    id: int | None = Field(default=None, primary_key=True)
    dedup_key: str = Field(unique=True, max_length=300)
    item_id: int | None = Field(default=None, foreign_key="items.id", index=True)  # None: a trend alert
    watchlist: str = Field(max_length=200)
    severity: int
    score: float
    message: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=20)  # pending, delivered, failed, held (held_by says why)
    created_at: datetime = Field(index=True)
    # The story or item the alert is about ("item:42", "url:<digest>"): the re-alert window is per
    # (watchlist, subject), and the dedup key is (watchlist, subject, severity).
    subject: str = Field(default="", max_length=300, index=True)
    kind: str = Field(default="item", max_length=20)  # item, story_first, story_update, deescalation, trend
    story_id: str | None = Field(default=None, max_length=300, index=True)
    # Recorded but not sent (issue 17): "silence:<id>", "snoozed" or "acked"; the alert has no deliveries.
    held_by: str | None = Field(default=None, max_length=100)


class DeliveryRow(SQLModel, table=True):
    """One alert to one channel: the unit that is sent, retried and confirmed."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", name="uq_deliveries_alert_channel"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", index=True)
    channel: str = Field(max_length=200)
    status: str = Field(default="pending", max_length=20)  # pending, sending, delivered, failed, rerouted
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    next_attempt_at: datetime
    delivered_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = None
    held: str | None = Field(default=None, max_length=20)  # quiet, digest: held, then sent as a digest
    # keys of the channel URLs that confirmed it: a retry goes only to the others
    done_urls: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    send_id: int | None = Field(default=None, foreign_key="sends.id", index=True)  # the message that carried it last
    via: str | None = Field(default=None, max_length=200)  # for a fallback delivery: the channel that failed


class SendRow(SQLModel, table=True):
    """One message to one channel (an alert, a summary of many, a digest, a test): what the rate
    limit counts, and what a crash may leave `sending` (recovered when its lease expires)."""

    __tablename__ = "sends"
    __table_args__ = (Index("ix_sends_channel_started", "channel", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # alert, summary, digest, test
    status: str = Field(default="sending", max_length=20)  # sending, sent, failed, unknown
    alerts: int = 0
    worker: str = Field(default="", max_length=100)
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = Field(default=None, max_length=2000)
    http_status: int | None = None
    retry_after: float | None = None


class AttemptRow(SQLModel, table=True):
    """Every attempt to deliver one alert to one channel: when, through which message, and how it ended."""

    __tablename__ = "delivery_attempts"
    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="deliveries.id", index=True)
    send_id: int = Field(foreign_key="sends.id", index=True)
    channel: str = Field(max_length=200)
    started_at: datetime
    finished_at: datetime | None = None
    outcome: str = Field(default="started", max_length=20)  # started, ok, failed, rate_limited, interrupted, unknown
    error: str | None = Field(default=None, max_length=2000)


class WorkerRow(SQLModel, table=True):
    """A live `monitor run` process; its heartbeat tells others whether its leases still mean anything."""

    __tablename__ = "workers"
    id: str = Field(primary_key=True, max_length=100)
    host: str = Field(max_length=255)
    pid: int
    started_at: datetime
    heartbeat_at: datetime = Field(index=True)


class JobRunRow(SQLModel, table=True):
    """One row per run of a once-per-cluster job and period: the unique key makes the run happen once."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_job_runs_job_period"),)
    id: int | None = Field(default=None, primary_key=True)
    job: str = Field(max_length=100)
    period: str = Field(max_length=100)
    worker: str = Field(max_length=100)
    started_at: datetime


from monitor.store import desk_tables  # noqa: E402, F401  (the desk's tables join this metadata)
