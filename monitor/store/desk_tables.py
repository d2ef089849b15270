"""The analysts' desk (issue 17): users, story triage, feedback, silences, watchlist saves, used links.

Kept apart from the pipeline's tables (`tables.py`) because nothing on the poll path reads them but the
alert writer's hold check; `tables.py` imports this module so one metadata holds every table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

# tables.py gives SQLModel its metadata (with the naming convention) before any table is declared: imported first,
# whichever of the two modules a process imports first, so these tables join that metadata and not a discarded one.
from monitor.store import tables as _tables  # noqa: F401


class UserRow(SQLModel, table=True):
    """A console user. `password_hash` is argon2id; None for a user who signs in through the proxy header."""

    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    role: str = Field(max_length=20)  # viewer, analyst, admin
    password_hash: str | None = Field(default=None, max_length=300)
    created_at: datetime
    disabled: bool = False


class TriageRow(SQLModel, table=True):
    """Where a story stands on the desk. Absent row = open. `severity` is the highest severity alerted when it
    was acknowledged or snoozed: a later alert above it reopens the story, one at or below it is held."""

    __tablename__ = "story_triage"
    story_id: str = Field(primary_key=True, max_length=300)
    state: str = Field(max_length=20)  # acked, snoozed
    severity: int = 0
    until: datetime | None = None  # snoozed until
    user: str = Field(max_length=100)
    at: datetime


class TriageEventRow(SQLModel, table=True):
    """Every analyst action, for the story's timeline and the audit: ack, snooze, reopen, useful, noise."""

    __tablename__ = "triage_events"
    __table_args__ = (Index("ix_triage_events_story_at", "story_id", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    story_id: str | None = Field(default=None, max_length=300)
    alert_id: int | None = Field(default=None, foreign_key="alerts.id")
    action: str = Field(max_length=20)
    reason: str | None = Field(default=None, max_length=40)
    comment: str = Field(default="", max_length=2000)
    user: str = Field(max_length=100)
    via: str = Field(default="console", max_length=20)  # console, link, cli
    at: datetime = Field(index=True)


class FeedbackRow(SQLModel, table=True):
    """An analyst's verdict on one alert; the latest verdict wins (the events keep the history)."""

    __tablename__ = "alert_feedback"
    __table_args__ = (Index("ix_alert_feedback_watchlist_at", "watchlist", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alerts.id", unique=True)
    watchlist: str = Field(max_length=200)
    verdict: str = Field(max_length=10)  # useful, noise
    reason: str | None = Field(default=None, max_length=40)  # for noise: wrong_actor, background, denial, ...
    comment: str = Field(default="", max_length=2000)
    user: str = Field(max_length=100)
    at: datetime


class SilenceRow(SQLModel, table=True):
    """As in Alertmanager: alerts matching every matcher between `starts_at` and `ends_at` are recorded, not sent.
    `matchers` is a list of {"field": watchlist|actor|feed|tag|text, "value": ...} (core.silences)."""

    __tablename__ = "silences"
    id: int | None = Field(default=None, primary_key=True)
    matchers: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    starts_at: datetime
    ends_at: datetime = Field(index=True)
    comment: str = Field(default="", max_length=2000)
    author: str = Field(max_length=100)
    created_at: datetime


class WatchlistSaveRow(SQLModel, table=True):
    """One save of a watchlist from the console: who, when, and the unified diff."""

    __tablename__ = "watchlist_saves"
    id: int | None = Field(default=None, primary_key=True)
    watchlist: str = Field(max_length=200, index=True)
    path: str = Field(max_length=1000)
    user: str = Field(max_length=100)
    at: datetime
    diff: str = Field(sa_column=Column(Text, nullable=False))


class UsedLinkRow(SQLModel, table=True):
    """A one-click link from chat or email that has been used: its id may not act twice."""

    __tablename__ = "used_links"
    jti: str = Field(primary_key=True, max_length=64)
    action: str = Field(max_length=20)
    used_at: datetime


class SecretRow(SQLModel, table=True):
    """Keys the service makes for itself (session cookies, signed links), shared by every worker on the database."""

    __tablename__ = "app_secrets"
    name: str = Field(primary_key=True, max_length=100)
    value: str = Field(max_length=200)
    created_at: datetime
