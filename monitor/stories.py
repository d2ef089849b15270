"""Stories in the refresh path: file each new item in the process-wide StoryIndex, score it, and alert per story
(first alert, updates at a higher severity or a corroboration step, an optional de-escalation notice).

The index is a cache of the database (items.story_id and the stories table are the truth): built once per process
from the stories and items in the window, kept across config reloads, and guarded by one lock because feeds are
recorded in worker threads. Callers hold `StoryTracker.lock` for the whole transaction that files, scores and
decides (monitor.service._record_success), so each decision sees every item filed before it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from alerts import policy
from alerts.policy import Prior
from monitor.config import Config
from monitor.core import rules
from monitor.core.corroboration import CorroborationPolicy
from monitor.core.stories import Story, StoryIndex
from monitor.core.story_rules import (
    StoryAlertKind,
    StoryDecision,
    StoryPolicy,
    alert_floor,
    decide,
    story_alert_key,
    story_level,
)
from monitor.domain import AlertMessage, Document, Item, Score, Severity, Watchlist
from monitor.store import outbox, repo
from monitor.store import stories as store
from monitor.store.db import session
from monitor.store.tables import FeedRow, StoryRow

log = structlog.get_logger("monitor.stories")
SWEEP_LOOKBACK = 7 * 86400.0  # de-escalation looks at stories alerted this recently (or 2 coverage windows)


class Scorer(Protocol):
    """What filing needs from core.scoring.Scorer (or its instrumented wrapper)."""

    def score(self, doc: Document, *, tags: Sequence[str] = (), language: str | None = None) -> list[Score]: ...


@dataclass
class StoryTracker:
    """The process-wide StoryIndex and its lock. Built empty; `load` fills it from the database once."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    index: StoryIndex = field(default_factory=StoryIndex)
    loaded: bool = False

    def load(self, engine: Engine, now: datetime, window: float) -> int:
        """Rebuild from stored stories and their items in the window (once; later calls do nothing)."""
        with self.lock:
            if self.loaded:
                return 0
            with session(engine) as s:
                self._load(s, now, window)
            return self.index.items

    def ensure_loaded(self, s: Session, now: datetime, window: float) -> None:
        """For callers already holding the lock."""
        if not self.loaded:
            self._load(s, now, window)

    def _load(self, s: Session, now: datetime, window: float) -> None:
        since = now - timedelta(seconds=window)
        rows = store.stories_since(s, since)
        for row in rows:
            self.index.restore(Story(row.id, row.first_seen, row.last_seen, row.title, tuple(row.sources), 0, {}))
        for item in store.items_between(s, since, now, story_ids=[r.id for r in rows]):
            self.index.add(str(item.id), title=item.title, summary=item.summary, source=item.feed,
                           at=item.fetched_at, story_id=item.story_id)
        self.loaded = True
        log.info("story_index_loaded", stories=len(self.index), items=self.index.items)

    def expire(self, now: datetime, window: float) -> int:
        with self.lock:
            return len(self.index.expire(now - timedelta(seconds=window)))


def story_policy(watchlist: Watchlist) -> StoryPolicy | None:
    """None: the watchlist notifies nobody, so its stories never alert."""
    floor = alert_floor(watchlist)
    if floor is None:
        return None
    opts = watchlist.stories
    return StoryPolicy(floor=floor, deescalation=opts.deescalation, coverage=timedelta(seconds=opts.window),
                       corroboration=CorroborationPolicy(opts.corroboration_weight, opts.corroboration_cap,
                                                         opts.steps))


def file_and_alert(config: Config, scorer: Scorer, tracker: StoryTracker, s: Session, feed: FeedRow,
                   new: Sequence[tuple[int, Item]], now: datetime) -> int:
    """File, score and decide each new item inside the caller's transaction; returns the alerts written.
    The caller holds `tracker.lock`."""
    if not new:
        return 0
    tracker.ensure_loaded(s, now, config.settings.stories.window)
    by_name = {wl.name: wl for wl in config.watchlists}
    alerts = 0
    for item_id, item in new:
        key = str(item_id)
        assignment = tracker.index.add(key, title=item.title, summary=item.summary, source=feed.name, at=now)
        store.assign(s, item_id, assignment.story_id)
        scores = [sc for sc in scorer.score(item.document, tags=tuple(feed.tags), language=item.language)
                  if sc.value != 0 or sc.contributions]
        story: Story | None = None
        for score in scores:
            repo.add_score(s, item_id, score, now)
            story = tracker.index.record_score(key, score)
        store.save_story(s, story or tracker.index.story(assignment.story_id) or _lone(assignment.story_id, item, now))
        for score in scores:
            if score.value > 0:
                alerts += alert_story(s, by_name[score.watchlist], assignment.story_id, item_id, item, feed, now,
                                      realert=config.settings.delivery.realert)
    return alerts


def alert_story(s: Session, watchlist: Watchlist, story_id: str, item_id: int | None, item: Item | None,
                feed: FeedRow | None, now: datetime, *, realert: float, title: str = "") -> int:
    """Decide on the story's level for the watchlist; write the alert and the new state in the caller's
    transaction. Returns 1 if an alert row was written."""
    policy_ = story_policy(watchlist)
    if policy_ is None:
        return 0
    since = now - policy_.coverage
    level = story_level(store.story_items(s, story_id, watchlist.name, since), watchlist, since=since,
                        policy=policy_.corroboration)
    state = store.alert_state(s, story_id, watchlist.name)
    decision = decide(state, level, policy_)
    if decision is None:
        return 0
    score = level.score or Score(watchlist.name, level.value, decision.severity)
    tags = tuple(feed.tags) if feed else ()
    channels = rules.channels_for(watchlist, Score(watchlist.name, score.value, decision.notify), tags)
    subject = f"story:{story_id}"
    if decision.kind is StoryAlertKind.FIRST and not _realert_allows(s, watchlist.name, subject, decision, now,
                                                                    realert):
        store.save_alert_state(s, story_id, watchlist.name, decision.state, now)
        return 0
    alert_id = None
    if channels:
        message = _message(watchlist.name, decision, score, level.sources, item, feed, title)
        alert_id = repo.add_alert(s, repo.NewAlert(
            dedup_key=story_alert_key(watchlist.name, story_id, decision), item_id=item_id, watchlist=watchlist.name,
            severity=int(decision.notify), score=score.value, message=message.to_json(), channels=channels,
            subject=subject, kind=_KINDS[decision.kind], story_id=story_id), now)
    store.save_alert_state(s, story_id, watchlist.name, decision.state, now)
    if alert_id is None:
        return 0
    log.info("alert_created", alert=alert_id, kind=_KINDS[decision.kind], watchlist=watchlist.name, story=story_id,
             item=item_id, severity=decision.severity.label, score=score.value, sources=level.sources,
             reasons=list(decision.reasons), channels=list(channels))
    return 1


_KINDS = {StoryAlertKind.FIRST: "story_first", StoryAlertKind.UPDATE: "story_update",
          StoryAlertKind.DEESCALATION: "deescalation"}


def _realert_allows(s: Session, watchlist: str, subject: str, decision: StoryDecision, now: datetime,
                    realert: float) -> bool:
    """The outbox's re-alert window still guards first alerts (a story whose state was lost alerts again only
    when its severity rises); updates and notices follow the story's own ladder."""
    priors = [Prior(Severity(sev), created) for sev, created in outbox.prior_alerts(s, watchlist, subject)]
    return policy.should_alert(priors, decision.severity, now=now, window=realert)


def _message(watchlist: str, decision: StoryDecision, score: Score, sources: int, item: Item | None,
             feed: FeedRow | None, title: str) -> AlertMessage:
    lead = {StoryAlertKind.FIRST: "", StoryAlertKind.UPDATE: "Story update: ",
            StoryAlertKind.DEESCALATION: "De-escalation: "}[decision.kind]
    reasons = "; ".join(decision.reasons)
    summary = f"{lead}{reasons}. {sources} {'source' if sources == 1 else 'sources'}."
    if item is not None and decision.kind is StoryAlertKind.FIRST:
        summary = f"{summary}\n{item.summary}"
    return AlertMessage(
        alert_id=0, watchlist=watchlist, severity=decision.severity, score=score.value,
        title=title or (item.title if item else ""), link=item.link if item else "",
        feed=feed.name if feed else "", published=item.published if item else datetime.now().astimezone(),
        summary=summary[:500], actors=score.actors, terms=score.terms, contributions=score.top(8), sources=sources)


def _lone(story_id: str, item: Item, now: datetime) -> Story:
    return Story(story_id, now, now, item.title, (), 1, {})


# --- the periodic sweep ---


def sweep(engine: Engine, config: Config, tracker: StoryTracker, now: datetime) -> int:
    """Close stories that left the window, and give every alerted story of a watchlist with de-escalation on a
    decision on its current level (a fading story gets no new items, so only this can notice). Returns alerts."""
    tracker.expire(now, config.settings.stories.window)
    watchlists = {wl.name: wl for wl in config.watchlists if wl.stories.deescalation}
    if not watchlists:
        return 0
    lookback = max(SWEEP_LOOKBACK, *(2 * wl.stories.window for wl in watchlists.values()))
    alerts = 0
    with tracker.lock, session(engine) as s:
        for state in store.alerted_since(s, list(watchlists), now - timedelta(seconds=lookback)):
            row = s.get(StoryRow, state.story_id)
            title = row.title if row else ""
            alerts += alert_story(s, watchlists[state.watchlist], state.story_id, None, None, None, now,
                                  realert=config.settings.delivery.realert, title=title)
        s.commit()
    return alerts
