"""Story alerts: file each new item in its story and decide, per story and watchlist, whether to alert (first
alert, updates at a higher severity or a corroboration step, an optional de-escalation notice), in the caller's
transaction; and the periodic sweep that closes stories and notices fading ones. Alert rows are written by
monitor.usecases.alerting, like every other alert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine
from sqlmodel import Session

from monitor.config import Config
from monitor.core import rules
from monitor.core.clustering import Story
from monitor.core.corroboration import CorroborationPolicy
from monitor.core.fingerprint import Fingerprint, fingerprints_of, pack_keys
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
from monitor.domain import AlertMessage, Item, Score, Watchlist
from monitor.store import cluster, repo, story_rows
from monitor.store.db import session
from monitor.store.tables import FeedRow, StoryRow
from monitor.usecases.alerting import write_alert
from monitor.usecases.story_cache import Member, StoryCache

log = structlog.get_logger("monitor.usecases.story_alerts")
SWEEP_LOOKBACK = 7 * 86400.0  # de-escalation looks at stories alerted this recently (or 2 coverage windows)




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


def file_and_alert(config: Config, scored: Mapping[str, Sequence[Score]], tracker: StoryCache, s: Session,
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
    assignments: list[tuple[int, str, bytes]] = []
    kept: list[tuple[int, Score]] = []
    prints = _with_missing(fingerprints or {}, [item for _, item in new])
    if tracker.peers:
        # Copies of a new story reaching several workers within the same seconds: without this, each would file
        # before seeing the others' uncommitted items, open a story of its own and alert (issue 16, row 12).
        # Taken before the cache's lock, which other threads need while this waits.
        cluster.lock_filing(s)
    with tracker.lock:
        tracker.ensure_loaded(s, now, config.settings.stories.window)
        tracker.catch_up(s, now, force=tracker.peers)
    for item_id, item in new:
        scores = [sc for sc in scored.get(item.uid, ()) if sc.value != 0 or sc.contributions]
        kept += [(item_id, score) for score in scores]
        with tracker.lock:
            story, pending = _file(tracker, s, by_name, item_id, item, feed.name, scores, now,
                                   prints.get(item.uid))
        # Stored with the item, so a restart files it again without computing MinHash (issue 16, row 4).
        assignments.append((item_id, story.id, pack_keys(prints[item.uid].keys)))
        stories[story.id] = story  # the latest snapshot of each story wins
        writes += [(p, item_id, item) for p in pending]
    repo.add_scores(s, kept, now)
    story_rows.assign_keyed(s, assignments)
    # Shared rows in one order (story id, watchlist) in every transaction: two feeds carrying the same stories
    # in different orders wait for each other instead of deadlocking on PostgreSQL.
    story_rows.save_stories(s, [stories[story_id] for story_id in sorted(stories)])
    writes.sort(key=lambda w: (w[0].story_id, w[0].watchlist.name, w[0].decision.state.alerts))
    return sum(_write(s, p, item_id, item, feed, now, realert=config.settings.delivery.realert)
               for p, item_id, item in writes)


def _with_missing(prints: Mapping[str, Fingerprint], items: Sequence[Item]) -> Mapping[str, Fingerprint]:
    """The parse workers' fingerprints, and those of items that came without one computed here (before the
    lock; the index would compute the same), so every filed item's band keys can be stored."""
    missing = [item for item in items if item.uid not in prints]
    if not missing:
        return prints
    return {**prints, **dict(zip([i.uid for i in missing], fingerprints_of([(i.title, i.summary) for i in missing]),
                                 strict=True))}


def _file(tracker: StoryCache, s: Session, by_name: dict[str, Watchlist], item_id: int, item: Item,
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
    level = story_level(story_rows.story_items(s, story_id, watchlist.name, since), watchlist, since=since,
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
    story_rows.save_alert_state(s, story_id, watchlist.name, decision.state, now)
    if not channels:
        return 0
    message = _message(watchlist.name, decision, score, level.sources, item, feed, title)
    # The re-alert window still guards first alerts (a story whose state was lost alerts again only when its
    # severity rises); updates and notices follow the story's own ladder.
    realert_check = (decision.severity, realert) if decision.kind is StoryAlertKind.FIRST else None
    alert_id = write_alert(s, repo.NewAlert(
        dedup_key=story_alert_key(watchlist.name, story_id, decision), item_id=item_id, watchlist=watchlist.name,
        severity=int(decision.notify), score=score.value, message=message.to_json(), channels=channels,
        subject=subject, kind=_KINDS[decision.kind], story_id=story_id, tags=tags), now, realert=realert_check,
        story=story_id, item=item_id, sources=level.sources, reasons=list(decision.reasons))
    return 0 if alert_id is None else 1


_KINDS = {StoryAlertKind.FIRST: "story_first", StoryAlertKind.UPDATE: "story_update",
          StoryAlertKind.DEESCALATION: "deescalation"}


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


def sweep(engine: Engine, config: Config, tracker: StoryCache, now: datetime) -> int:
    """Close stories that left the window, and give every alerted story of a watchlist with de-escalation on a
    decision on its current level (a fading story gets no new items, so only this can notice). Returns alerts."""
    tracker.expire(now, config.settings.stories.window)
    watchlists = {wl.name: wl for wl in config.watchlists if wl.stories.deescalation}
    if not watchlists:
        return 0
    lookback = max(SWEEP_LOOKBACK, *(2 * wl.stories.window for wl in watchlists.values()))
    alerts = 0
    with tracker.lock, session(engine) as s:
        for stored in story_rows.alerted_since(s, list(watchlists), now - timedelta(seconds=lookback)):
            row = s.get(StoryRow, stored.story_id)
            state = tracker.state(s, stored.story_id, stored.watchlist)  # memory is ahead of uncommitted rows
            new = alert_story(s, watchlists[stored.watchlist], stored.story_id, state, now,
                              realert=config.settings.delivery.realert, title=row.title if row else "")
            if new is not None:
                tracker.states[(stored.story_id, stored.watchlist)] = new
                alerts += new.alerts - state.alerts
        s.commit()
    return alerts
