"""Several workers, one database: claims under leases, heartbeats, once-per-cluster job runs.

On PostgreSQL due rows are claimed with SELECT ... FOR UPDATE SKIP LOCKED inside an UPDATE that sets
a lease, so concurrent workers never claim the same feed; a dead worker's leases expire and the rows
become claimable again. On SQLite (one process) the same statements run without the row locks.
"""

from __future__ import annotations

import os
import socket
import uuid
import zlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from monitor.store.tables import FeedRow, JobRunRow, WorkerRow


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim_due_feeds(session: Session, worker: str, now: datetime, lease: float, limit: int = 200) -> list[FeedRow]:
    """Claim up to `limit` due feeds whose lease is free or expired; returns the claimed rows."""
    due = (
        select(FeedRow.id)
        .where(FeedRow.enabled, FeedRow.status == "active")
        .where(or_(col(FeedRow.next_poll_at).is_(None), col(FeedRow.next_poll_at) <= now))
        .where(or_(col(FeedRow.claimed_until).is_(None), col(FeedRow.claimed_until) < now))
        .order_by(col(FeedRow.next_poll_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return _claim(session, due, worker, now, lease)


def claim_untold_feeds(session: Session, worker: str, now: datetime, lease: float, *, polled_before: datetime,
                       limit: int = 200) -> list[FeedRow]:
    """Claim feeds whose health changed without the ops channel hearing of it and that no poll has touched
    since `polled_before` (a poll tells its own feed's change; this is for the feeds no poll will reach soon)."""
    untold = (
        select(FeedRow.id)
        .where(FeedRow.enabled, col(FeedRow.status).in_(("active", "gone")))
        .where(col(FeedRow.health) != col(FeedRow.health_notified))
        .where(or_(col(FeedRow.last_polled_at).is_(None), col(FeedRow.last_polled_at) < polled_before))
        .where(or_(col(FeedRow.claimed_until).is_(None), col(FeedRow.claimed_until) < now))
        .order_by(col(FeedRow.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return _claim(session, untold, worker, now, lease)


def _claim(session: Session, ids: SelectOfScalar[Any], worker: str, now: datetime,
           lease: float) -> list[FeedRow]:
    stmt = (
        update(FeedRow)
        .where(col(FeedRow.id).in_(ids.scalar_subquery()))
        .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
        .returning(FeedRow)
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(stmt).scalars())


def release_claims(session: Session, worker: str, feed_ids: list[int]) -> None:
    session.execute(update(FeedRow).where(col(FeedRow.id).in_(feed_ids), col(FeedRow.claimed_by) == worker)
                    .values(claimed_by=None, claimed_until=None))


def release(feed: FeedRow) -> None:
    feed.claimed_by = None
    feed.claimed_until = None


def heartbeat(session: Session, worker: str, now: datetime) -> None:
    row = session.get(WorkerRow, worker)
    if row is None:
        host, pid, _ = worker.rsplit(":", 2)
        row = WorkerRow(id=worker, host=host, pid=int(pid), started_at=now, heartbeat_at=now)
    row.heartbeat_at = now
    session.add(row)


def forget_worker(session: Session, worker: str) -> None:
    """On clean shutdown: hand back leases at once instead of letting them expire."""
    mine = col(FeedRow.claimed_by) == worker
    session.execute(update(FeedRow).where(mine).values(claimed_by=None, claimed_until=None))
    row = session.get(WorkerRow, worker)
    if row is not None:
        session.delete(row)


def live_workers(session: Session, since: datetime) -> int:
    """Workers whose last heartbeat came after `since`."""
    return int(session.exec(select(func.count()).select_from(WorkerRow).where(
        col(WorkerRow.heartbeat_at) > since)).one())


def workers(session: Session, now: datetime) -> list[tuple[WorkerRow, int]]:
    """Every known worker with the number of feed leases it holds now."""
    leases = dict(session.exec(
        select(FeedRow.claimed_by, func.count()).where(col(FeedRow.claimed_until) > now)
        .group_by(col(FeedRow.claimed_by))).all())
    return [(w, int(leases.get(w.id, 0))) for w in session.exec(select(WorkerRow).order_by(col(WorkerRow.id)))]


FILING_LOCK = zlib.crc32(b"story-filing")


def lock_filing(session: Session) -> None:
    """Take the cluster-wide story-filing lock until the transaction ends: a worker files new items only after
    every other worker's filing has committed, so it can see (and join) the stories they just opened.

    On PostgreSQL an advisory transaction lock; on SQLite the write lock the transaction already holds (items are
    inserted before they are filed) serialises the writers, so there is nothing to take."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FILING_LOCK})


def claim_run(session: Session, job: str, period: str, worker: str, now: datetime) -> bool:
    """True for exactly one worker per (job, period), cluster-wide.

    On PostgreSQL an advisory lock serialises the contenders first, so the loser waits for the
    winner's row instead of racing it; the unique key is what makes the decision on both backends.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(job.encode())})
    if session.exec(select(JobRunRow.id).where(JobRunRow.job == job, JobRunRow.period == period)).first():
        return False
    try:
        with session.begin_nested():
            session.add(JobRunRow(job=job, period=period, worker=worker, started_at=now))
    except IntegrityError:
        return False
    return True
