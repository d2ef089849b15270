"""Stories in the refresh path: file each new item in the process-wide StoryIndex, score it, and alert per story
(first alert, updates at a higher severity or a corroboration step, an optional de-escalation notice).

The index is a cache of the database (items.story_id and the stories table are the truth): built once per process
from the stories and items in the window, kept across config reloads, and guarded by one lock because feeds are
recorded in worker threads. The lock covers the in-memory work only (filing, each story's members and alert
states, deciding), so each decision sees every item filed before it, committed or not, while the database work
of parallel feeds still overlaps; docs/stories.md ("Concurrency") has the details.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from alerts import policy
from monitor.config import Config
from monitor.core import rules, watermark
from monitor.core.corroboration import CorroborationPolicy
from monitor.core.stories import Fingerprint, Story, StoryIndex, fingerprints_of
from monitor.core.story_rules import (
    StoryAlertKind,
    StoryAlertState,
    StoryDecision,
    StoryItem,
    StoryLevel,
    StoryPolicy,
    alert_floor,
    decide,
    story_alert_key,
    story_level,
)
from monitor.delivery import prior_alerts
from monitor.domain import AlertMessage, Item, Score, Watchlist
from monitor.store import repo
from monitor.store import stories as store
from monitor.store.db import session
from monitor.store.tables import FeedRow, StoryRow

log = structlog.get_logger("monitor.stories")
CATCH_UP = timedelta(seconds=2)  # at most this often, a worker looks at what the others filed
CATCH_UP_LAG = timedelta(seconds=120)  # longer than any poll's transaction runs
SWEEP_LOOKBACK = 7 * 86400.0  # de-escalation looks at stories alerted this recently (or 2 coverage windows)


@dataclass
class StoryTracker:
    """The process-wide StoryIndex, what each story's level is computed from (its items in the window with their
    scores) and the alert state per story and watchlist, under one lock. Built empty; loaded once."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    index: StoryIndex = field(default_factory=StoryIndex)
    members: dict[str, list[Member]] = field(default_factory=dict)
    states: dict[tuple[str, str], StoryAlertState] = field(default_factory=dict)
    loaded: bool = False
    # Other workers share the database (set by the heartbeat): before filing, look at what they filed, or a story
    # arriving through feeds that different workers poll would be split in two, and alert twice.
    peers: bool = False
    # (when, the highest stored item id then), noted by the heartbeat; see catch_up
    marks: deque[watermark.Mark] = field(default_factory=deque)
    caught_up_at: datetime | None = None

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
        self._add_stored(s, store.items_between(s, since, now, story_ids=[r.id for r in rows]))
        self.marks.append((now, store.last_item_id(s)))
        self.loaded = True
        log.info("story_index_loaded", stories=len(self.index), items=self.index.items)

    def mark(self, now: datetime, last_item_id: int, *, peers: bool) -> None:
        """The heartbeat's note (any thread): are other workers alive, and the highest stored item id now."""
        with self.lock:
            if peers and not self.peers:
                self.caught_up_at = now  # they have just come: what they filed is above the marks of LAG ago
            self.peers = peers
            self.marks.append((now, last_item_id))
            watermark.prune(self.marks, min(self.caught_up_at or now, now), CATCH_UP_LAG)

    def catch_up(self, s: Session, now: datetime) -> int:
        """File what other workers filed since the last look, in the stories they chose (the caller holds the
        lock). Does nothing without peers, or within CATCH_UP of the last look. Returns the items added.

        It looks above the highest id stored CATCH_UP_LAG before the previous look (monitor.core.watermark)."""
        if not self.peers or (self.caught_up_at is not None and now - self.caught_up_at < CATCH_UP):
            return 0
        above = watermark.floor(self.marks, self.caught_up_at or now, CATCH_UP_LAG)
        self.caught_up_at = now
        theirs = store.items_by_id(s, [i for i in store.filed_after(s, above) if str(i) not in self.index])
        if not theirs:
            return 0
        unknown = sorted({i.story_id for i in theirs if i.story_id and self.index.story(i.story_id) is None})
        for row in store.stories_by_id(s, unknown):
            self.index.restore(Story(row.id, row.first_seen, row.last_seen, row.title, tuple(row.sources), 0, {}))
        self._add_stored(s, theirs)
        touched = {i.story_id for i in theirs}
        for key in [k for k in self.states if k[0] in touched]:
            del self.states[key]  # they may have alerted on it: the state is read again from the database
        log.info("story_index_caught_up", items=len(theirs), stories=len(touched))
        return len(theirs)

    def _add_stored(self, s: Session, stored: Sequence[store.StoredItem]) -> None:
        """File stored items in the stories they were filed in, with their scores."""
        items = [i for i in stored if i.story_id]
        scores = store.scores_of(s, [i.id for i in items])
        # Fingerprinted a thousand at a time: one vectorised MinHash pass each instead of one per item (a restart
        # with 50,000 items in the window: 8.4 -> 7.9 s, half of it still fingerprints).
        prints = [p for n in range(0, len(items), 1000)
                  for p in fingerprints_of([(i.title, i.summary) for i in items[n:n + 1000]])]
        for item, fingerprint in zip(items, prints, strict=True):
            assert item.story_id is not None
            self.index.add(str(item.id), title=item.title, summary=item.summary, source=item.feed,
                           at=item.fetched_at, story_id=item.story_id, fingerprint=fingerprint)
            self.members.setdefault(item.story_id, []).append(
                Member(item.fetched_at, item.feed, scores.get(item.id, {})))

    def state(self, s: Session, story_id: str, watchlist: str, *, fresh: bool = False) -> StoryAlertState:
        """The alert state, from memory or else the database (the caller holds the lock). `fresh`: the story was
        created just now and named after its first item's id, unique in the database, so no state is stored."""
        key = (story_id, watchlist)
        if key not in self.states:
            self.states[key] = StoryAlertState() if fresh else store.alert_state(s, story_id, watchlist)
        return self.states[key]

    def expire(self, now: datetime, window: float) -> int:
        before = now - timedelta(seconds=window)
        with self.lock:
            closed = {story.id for story in self.index.expire(before)}
            for story_id in closed:
                self.members.pop(story_id, None)
            for members in self.members.values():
                members[:] = [m for m in members if m.at >= before]
            for key in [k for k in self.states if k[0] in closed]:
                del self.states[key]
            return len(closed)


class Member(NamedTuple):
    at: datetime
    source: str
    scores: dict[str, Score]  # watchlist -> the item's score


def story_policy(watchlist: Watchlist) -> StoryPolicy | None:
    """None: the watchlist notifies nobody, so its stories never alert."""
    floor = alert_floor(watchlist)
    if floor is None:
        return None
    opts = watchlist.stories
    return StoryPolicy(floor=floor, deescalation=opts.deescalation, coverage=timedelta(seconds=opts.window),
                       corroboration=CorroborationPolicy(opts.corroboration_weight, opts.corroboration_cap,
                                                         opts.steps))


@dataclass(frozen=True)
class _Pending:
    """A decision taken under the lock, written to the database after it."""

    watchlist: Watchlist
    story_id: str
    decision: StoryDecision
    level: StoryLevel


def file_and_alert(config: Config, scored: Mapping[str, Sequence[Score]], tracker: StoryTracker, s: Session,
                   feed: FeedRow, new: Sequence[tuple[int, Item]], now: datetime,
                   fingerprints: Mapping[str, Fingerprint] | None = None) -> int:
    """File and decide each new item with its scores and text fingerprint (by uid, computed in the parse workers;
    a missing fingerprint is computed here), writing in the caller's transaction; returns the alerts written.

    The lock covers only the index and the in-memory levels and states (filing and deciding), so feeds recorded
    in parallel threads see each other's items at once and their database work still runs concurrently."""
    if not new:
        return 0
    by_name = {wl.name: wl for wl in config.watchlists}
    stories: dict[str, Story] = {}
    writes: list[tuple[_Pending, int, Item]] = []
    assignments: list[tuple[int, str]] = []
    kept: list[tuple[int, Score]] = []
    prints = fingerprints or {}
    with tracker.lock:
        tracker.ensure_loaded(s, now, config.settings.stories.window)
        tracker.catch_up(s, now)
    for item_id, item in new:
        scores = [sc for sc in scored.get(item.uid, ()) if sc.value != 0 or sc.contributions]
        kept += [(item_id, score) for score in scores]
        with tracker.lock:
            story, pending = _file(tracker, s, by_name, item_id, item, feed.name, scores, now,
                                   prints.get(item.uid))
        assignments.append((item_id, story.id))
        stories[story.id] = story  # the latest snapshot of each story wins
        writes += [(p, item_id, item) for p in pending]
    repo.add_scores(s, kept, now)
    store.assign(s, assignments)
    # Shared rows in one order (story id, watchlist) in every transaction: two feeds carrying the same stories
    # in different orders wait for each other instead of deadlocking on PostgreSQL.
    store.save_stories(s, [stories[story_id] for story_id in sorted(stories)])
    writes.sort(key=lambda w: (w[0].story_id, w[0].watchlist.name, w[0].decision.state.alerts))
    return sum(_write(s, p, item_id, item, feed, now, realert=config.settings.delivery.realert)
               for p, item_id, item in writes)


def _file(tracker: StoryTracker, s: Session, by_name: dict[str, Watchlist], item_id: int, item: Item,
          source: str, scores: Sequence[Score], now: datetime,
          fingerprint: Fingerprint | None) -> tuple[Story, list[_Pending]]:
    key = str(item_id)
    assignment = tracker.index.add(key, title=item.title, summary=item.summary, source=source, at=now,
                                   fingerprint=fingerprint)
    for score in scores:
        tracker.index.record_score(key, score)
    story = tracker.index.story(assignment.story_id) or _lone(assignment.story_id, item, now)
    fresh = assignment.is_new_story and story.id == key
    members = tracker.members.setdefault(story.id, [])
    members.append(Member(now, source, {sc.watchlist: sc for sc in scores}))
    pending = []
    for score in scores:
        wl = by_name[score.watchlist]
        policy_ = story_policy(wl)
        if score.value <= 0 or policy_ is None:
            continue
        since = now - policy_.coverage
        level = story_level([StoryItem(m.at, m.source, m.scores.get(wl.name)) for m in members], wl, since=since,
                            policy=policy_.corroboration)
        decision = decide(tracker.state(s, story.id, wl.name, fresh=fresh), level, policy_)
        if decision is not None:
            tracker.states[(story.id, wl.name)] = decision.state
            pending.append(_Pending(wl, story.id, decision, level))
    return story, pending


def alert_story(s: Session, watchlist: Watchlist, story_id: str, state: StoryAlertState, now: datetime, *,
                realert: float, title: str = "") -> StoryAlertState | None:
    """The sweep's path: decide on the story's stored level; write the alert and the new state in the caller's
    transaction. Returns the new state if there was a decision."""
    policy_ = story_policy(watchlist)
    if policy_ is None:
        return None
    since = now - policy_.coverage
    level = story_level(store.story_items(s, story_id, watchlist.name, since), watchlist, since=since,
                        policy=policy_.corroboration)
    decision = decide(state, level, policy_)
    if decision is None:
        return None
    _write(s, _Pending(watchlist, story_id, decision, level), None, None, None, now, realert=realert, title=title)
    return decision.state


def _write(s: Session, p: _Pending, item_id: int | None, item: Item | None, feed: FeedRow | None, now: datetime,
           *, realert: float, title: str = "") -> int:
    """One alert row for the decision (keyed by story_alert_key) with its deliveries, and the new state."""
    watchlist, story_id, decision, level = p.watchlist, p.story_id, p.decision, p.level
    score = level.score or Score(watchlist.name, level.value, decision.severity)
    tags = tuple(feed.tags) if feed else ()
    channels = rules.channels_for(watchlist, Score(watchlist.name, score.value, decision.notify), tags)
    subject = f"story:{story_id}"
    store.save_alert_state(s, story_id, watchlist.name, decision.state, now)
    if not channels or (decision.kind is StoryAlertKind.FIRST
                        and not _realert_allows(s, watchlist.name, subject, decision, now, realert)):
        return 0
    message = _message(watchlist.name, decision, score, level.sources, item, feed, title)
    alert_id = repo.add_alert(s, repo.NewAlert(
        dedup_key=story_alert_key(watchlist.name, story_id, decision), item_id=item_id, watchlist=watchlist.name,
        severity=int(decision.notify), score=score.value, message=message.to_json(), channels=channels,
        subject=subject, kind=_KINDS[decision.kind], story_id=story_id), now)
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
    return policy.should_alert(prior_alerts(s, watchlist, subject), decision.severity, now=now, window=realert)


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
        for stored in store.alerted_since(s, list(watchlists), now - timedelta(seconds=lookback)):
            row = s.get(StoryRow, stored.story_id)
            state = tracker.state(s, stored.story_id, stored.watchlist)  # memory is ahead of uncommitted rows
            new = alert_story(s, watchlists[stored.watchlist], stored.story_id, state, now,
                              realert=config.settings.delivery.realert, title=row.title if row else "")
            if new is not None:
                tracker.states[(stored.story_id, stored.watchlist)] = new
                alerts += new.alerts - state.alerts
        s.commit()
    return alerts
