"""Trend alerts: per watchlist and per actor, the count of escalation-scored items in the last window against
the same hour of past weeks (or days), over stored scores. Run once per cluster per period (claim_run)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from monitor.config import Config
from monitor.core import trends
from monitor.core.trends import TrendDecision, TrendPolicy, TrendSubject
from monitor.domain import AlertMessage, Severity, Watchlist
from monitor.store import cluster, repo, story_rows
from monitor.store.db import session
from monitor.usecases.alerting import write_alert

log = structlog.get_logger("monitor.usecases.trends")
JOB = "trends"
PERIOD = timedelta(minutes=5)  # the job runs this often; each period is evaluated by one worker


def policy_for(watchlist: Watchlist) -> TrendPolicy:
    t = watchlist.trends
    return TrendPolicy(window=timedelta(seconds=t.window), min_count=t.min_count, ratio=t.ratio, z=t.z,
                       cooldown=timedelta(seconds=t.cooldown))


def period_of(now: datetime, period: timedelta = PERIOD) -> str:
    step = int(period.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // step * step, tz=now.tzinfo).strftime("%Y%m%dT%H%M")


def run_trends(engine: Engine, config: Config, worker: str, now: datetime) -> int:
    """Evaluate every subject once for this period (one worker of the cluster); returns trend alerts written."""
    with session(engine) as s:
        if not cluster.claim_run(s, JOB, period_of(now), worker, now):
            s.commit()
            return 0
        written = evaluate(s, config.watchlists, now)
        s.commit()
    return written


def subject_times(rows: Sequence[tuple[datetime, tuple[str, ...], int]],
                  watchlist: str) -> dict[TrendSubject, list[tuple[datetime, int]]]:
    """(time, feed id) of escalation-scored items per subject: the watchlist, and each actor named."""
    times: dict[TrendSubject, list[tuple[datetime, int]]] = defaultdict(list)
    whole = TrendSubject(watchlist, f"{watchlist} escalation", watchlist)
    for at, actors, feed in rows:
        times[whole].append((at, feed))
        for actor in actors:
            times[TrendSubject(f"{watchlist}/{actor}", f"{actor} + escalation", watchlist)].append((at, feed))
    return times


def evaluate(s: Session, watchlists: Sequence[Watchlist], now: datetime) -> int:
    written = 0
    for wl in watchlists:
        channels = tuple(dict.fromkeys(c for rule in wl.notify for c in rule.channels))
        if not wl.trends.enabled or not channels:
            continue
        policy = policy_for(wl)
        start = story_rows.history_start(s, wl.name)
        if start is None:
            continue
        reach = now - trends.WEEK * policy.weeks - policy.window
        rows = story_rows.escalation_scores(s, wl.name, reach, now)
        for subject, entries in subject_times(rows, wl.name).items():
            recent = [feed for at, feed in entries if at > now - policy.window]
            if len(recent) < policy.min_count:
                continue  # a quiet subject cannot spike: skip the baseline
            decision = trends.trend([at for at, _ in entries], subject, now=now, history_start=start, policy=policy)
            last = story_rows.last_alert_at(s, wl.name, f"trend:{subject.key}")
            if trends.alert_due(decision, last, now, policy):
                written += _write(s, decision, channels, now, sources=len(set(recent)))
    return written


def _write(s: Session, decision: TrendDecision, channels: tuple[str, ...], now: datetime, *, sources: int) -> int:
    subject = decision.subject
    actor = subject.key.split("/", 1)[1] if "/" in subject.key else None
    message = AlertMessage(alert_id=0, watchlist=subject.watchlist, severity=Severity.WARNING,
                           score=float(decision.count), title=f"Trend: {decision.explanation}", link="",
                           feed="trend", published=now, summary=decision.explanation,
                           actors=(actor,) if actor else (), sources=sources)
    alert_id = write_alert(s, repo.NewAlert(
        dedup_key=trends.trend_alert_key(subject, now), item_id=None, watchlist=subject.watchlist,
        severity=int(Severity.WARNING), score=float(decision.count), message=message.to_json(), channels=channels,
        subject=f"trend:{subject.key}", kind="trend"), now,
        count=decision.count, sources=sources, ratio=decision.ratio, z=decision.z, explanation=decision.explanation)
    return 0 if alert_id is None else 1
