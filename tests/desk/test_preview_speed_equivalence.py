"""The watchlist preview made fast (issue 17) reports what the plain one reported.

The plain implementation is kept here as the oracle, as it was before: items read as ORM rows, every item scored by
one Scorer over the watchlists, the labelled items by one Scorer per version. Against it: the replay on generated
items (hypothesis: repeated texts, tag-scoped watchlists, stories stored or not, a memo kept across replays), the
scores memo on its own, and the preview on a database, cold, warm (the current version remembered, then the draft
too), and with no current version."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel, col, select

from monitor.config import gazetteer, load_config
from monitor.core import score_memo
from monitor.core.clustering import StoryIndex
from monitor.core.score_memo import ScoreMemo, keyword_change, score_each
from monitor.core.scoring import Scorer
from monitor.core.story_rules import StoryAlertState, StoryItem, decide, story_level
from monitor.core.trends import TrendSubject
from monitor.domain import Actor, Document, Keyword, NotifyRule, Score, Severity, Watchlist
from monitor.feeds.pool import CpuPool
from monitor.runtime.cycle import open_runtime
from monitor.store import story_rows
from monitor.store.db import make_engine, session
from monitor.store.desk_tables import FeedbackRow
from monitor.store.migrate import ensure_schema
from monitor.store.tables import AlertRow
from monitor.usecases import backtest, watchlist_edit
from monitor.usecases.backtest import Backtest, Hit, _trend
from monitor.usecases.context import Runtime
from monitor.usecases.story_alerts import story_policy
from tests.support.configdir import write_config

START = datetime(2026, 3, 2, tzinfo=UTC)
WORDS = ["Putin", "NATO", "Lavrov", "Lavrow", "strike", "missiles", "invasion", "ceasefire", "war film", "sanctions",
         "nuclear drill", "not", "denies", "may", "could", "the", "in", "of", "city", "talks", "Berlin", "Kharkiv",
         "warns", "border", "attack", "troops"]
SEVERITIES = ((Severity.WATCH, 2.0), (Severity.WARNING, 4.0), (Severity.CRITICAL, 8.0))


def _watchlist(name: str, *extra: Keyword, tags: tuple[str, ...] = ()) -> Watchlist:
    return Watchlist(name, actors=(Actor("putin", "Vladimir Putin", ("Putin",)), Actor("nato", "NATO", weight=0.5),
                                   Actor("lavrov", "Sergei Lavrov", ("Lavrov",), fuzzy=True)),
                     keywords=(Keyword("strike", 2.0), Keyword("missile*", 1.5), Keyword("invasion", 3.0),
                               Keyword("ceasefire", -2.0), Keyword("war film", 0.0), Keyword("attack", 1.0),
                               Keyword(r"nuclear\s+\w+", 2.5, regex=True), *extra),
                     severities=SEVERITIES, notify=(NotifyRule(("console",), Severity.WATCH),), tags=tags)


CURRENT = _watchlist("wl")
DRAFTS = [replace(_watchlist("wl", Keyword("sanctions", 3.0)), name=watchlist_edit.DRAFT + "wl"),
          replace(_watchlist("wl", Keyword("troops", 1.0), tags=("world",)), name=watchlist_edit.DRAFT + "wl")]
OTHER = _watchlist("other", Keyword("border", 2.0), Keyword("Berlin", 2.0, "de"), tags=("local",))
# Keyword-only edits, which score_memo answers from the current version's scores where the edit cannot matter:
# a term dropped ("war film", a benign sense hiding "war"), a pattern changed, a German-only term added.
EDITS = [replace(CURRENT, name="dropped", keywords=tuple(k for k in CURRENT.keywords if k.term != "war film")),
         replace(CURRENT, name="pattern", keywords=(*CURRENT.keywords[:-1], Keyword(r"nuclear\s+drill", 4.0,
                                                                                    regex=True))),
         replace(CURRENT, name="german", keywords=(*CURRENT.keywords, Keyword("Berlin", 3.0, "de")))]


# --- the oracle: the replay and the preview as they were ---


def plain_run(items: Sequence[story_rows.StoredItem], watchlists: Sequence[Watchlist], *, window: float,
              stored_stories: bool = False) -> Backtest:
    result = Backtest(items=len(items))
    by_name = {w.name: w for w in watchlists}
    scorer = Scorer(watchlists)
    index = StoryIndex(gazetteer.place_tokens())
    members: dict[str, list[tuple[datetime, str, dict[str, Score]]]] = defaultdict(list)
    states: dict[tuple[str, str], StoryAlertState] = {}
    times: dict[TrendSubject, list[datetime]] = defaultdict(list)
    checked: dict[TrendSubject, datetime] = {}
    last_trend: dict[TrendSubject, datetime] = {}
    history_start = items[0].fetched_at if items else None
    next_expiry = history_start + backtest.EXPIRE_EVERY if history_start else None
    for item in items:
        at = item.fetched_at
        if next_expiry and at >= next_expiry:
            index.expire(at - timedelta(seconds=window))
            next_expiry = at + backtest.EXPIRE_EVERY
        story_id = (item.story_id if stored_stories and item.story_id else
                    index.add(str(item.id), title=item.title, summary=item.summary, source=item.feed, at=at).story_id)
        scores = {sc.watchlist: sc for sc in scorer.score(Document(item.title, item.summary), tags=item.tags,
                                                          language=item.language) if sc.value > 0}
        members[story_id].append((at, item.feed, scores))
        day = at.strftime("%Y-%m-%d")
        for name, score in scores.items():
            wl = by_name[name]
            policy = story_policy(wl)
            if policy is not None:
                level = story_level([StoryItem(t, src, sc.get(name)) for t, src, sc in members[story_id]], wl,
                                    since=at - policy.coverage, policy=policy.corroboration)
                stats = result.days[(day, name)]
                stats.score = max(stats.score, level.value)
                decision = decide(states.get((story_id, name), StoryAlertState()), level, policy)
                if decision is not None:
                    states[(story_id, name)] = decision.state
                    stats.story_alerts += 1
                    result.hits.append(Hit(at, name, f"story_{decision.kind.value}", decision.severity.label,
                                           f"{'; '.join(decision.reasons)}, {level.sources} sources: {item.title}",
                                           story_id, item.title))
            if wl.trends.enabled and history_start is not None:
                _trend(result, wl, score, at, history_start, times, checked, last_trend)
    return result


def plain_preview(rt: Runtime, current: Watchlist | None, draft: Watchlist, now: datetime,
                  days: float = 7) -> watchlist_edit.Preview:
    with session(rt.engine) as s:
        items = story_rows.items_between(s, now - timedelta(days=days), now)
    drafted = replace(draft, name=watchlist_edit.DRAFT + draft.name)
    replayed = plain_run(items, [w for w in (current, drafted) if w is not None],
                         window=rt.config.settings.stories.window, stored_stories=True)
    before = watchlist_edit._alerted(replayed, current.name) if current else {}
    after = watchlist_edit._alerted(replayed, drafted.name)
    result = watchlist_edit.Preview(days=days, items=len(items))
    for story, hit in after.items():
        if story not in before:
            result.added.append(hit)
        elif hit["severity"] != before[story]["severity"]:
            result.changed.append({**hit, "was": before[story]["severity"]})
        else:
            result.unchanged += 1
    result.removed = [hit for story, hit in before.items() if story not in after]
    result.labelled = _plain_labelled(rt, current, draft)
    return result


def _plain_labelled(rt: Runtime, current: Watchlist | None, draft: Watchlist) -> list[dict[str, Any]]:
    with session(rt.engine) as s:
        rows = s.exec(select(FeedbackRow.verdict, FeedbackRow.reason, AlertRow.item_id)
                      .join(AlertRow, col(AlertRow.id) == col(FeedbackRow.alert_id))
                      .where(col(FeedbackRow.watchlist) == (current or draft).name,
                             col(AlertRow.item_id).is_not(None))
                      .order_by(col(FeedbackRow.at).desc()).limit(200)).all()
        items = {i.id: i for i in story_rows.items_by_id(s, [r[2] for r in rows if r[2] is not None])}
    scorers = (Scorer([current]) if current else None, Scorer([draft]))
    out = []
    for verdict, reason, item_id in rows:
        item = items.get(item_id or 0)
        if item is None:
            continue
        doc = Document(item.title, item.summary)
        old, new = (sc.score(doc, tags=item.tags, language=item.language) if sc else [] for sc in scorers)
        out.append({"title": item.title, "verdict": verdict, "reason": reason,
                    "current": old[0].value if old else 0.0, "draft": new[0].value if new else 0.0,
                    "current_severity": old[0].severity.label if old else "none",
                    "draft_severity": new[0].severity.label if new else "none"})
    return out


# --- generated items ---

texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=9).map(" ".join)
LANGUAGES = st.sampled_from([None, "en", "de"])  # a watchlist keyword below is German only


@st.composite
def replays(draw: st.DrawFn) -> list[story_rows.StoredItem]:
    """Items oldest first over a few days, from feeds tagged "world" or "local"; texts drawn from a small pool, so
    that they repeat as a story's copies do; some items without a stored story."""
    pool = draw(st.lists(st.tuples(texts, texts), min_size=1, max_size=12))
    gaps = draw(st.lists(st.integers(min_value=0, max_value=400), min_size=1, max_size=60))
    items, at = [], START
    for n, gap in enumerate(gaps, 1):
        at += timedelta(minutes=gap)
        title, summary = draw(st.sampled_from(pool))
        feed = draw(st.integers(min_value=0, max_value=3))
        story = draw(st.one_of(st.none(), st.sampled_from(["1", "2", "3", str(n)])))
        items.append(story_rows.StoredItem(n, story, f"feed-{feed}", ("world",) if feed % 2 else ("local",), title,
                                           summary, f"https://x.invalid/{n}", at, at, draw(LANGUAGES)))
    return items


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replays(), st.booleans())
def test_the_replay_reports_what_the_plain_replay_reported(items: list[story_rows.StoredItem], stored: bool) -> None:
    memo = ScoreMemo()
    for draft in DRAFTS:  # the second draft's replay finds the current version's scores remembered
        watchlists = [CURRENT, draft, OTHER]
        expected = plain_run(items, watchlists, window=6 * 3600.0, stored_stories=stored)
        assert backtest.run(items, watchlists, window=6 * 3600.0, stored_stories=stored, memo=memo) == expected
        # What the preview replays: the same story alerts, no trend alerts, no daily figures.
        assert backtest.run(items, watchlists, window=6 * 3600.0, stored_stories=stored, memo=memo,
                            stories_only=True) == Backtest(len(items), [h for h in expected.hits if h.kind != "trend"])
    assert backtest.run(items, [OTHER], window=6 * 3600.0, stored_stories=stored) == plain_run(
        items, [OTHER], window=6 * 3600.0, stored_stories=stored)


@st.composite
def entries(draw: st.DrawFn) -> list[tuple[Document, tuple[str, ...], str | None]]:
    """Documents from a small pool, so that texts repeat, under any of the feeds' tags and in any language."""
    pool = draw(st.lists(st.tuples(texts, texts), min_size=1, max_size=5))
    tags = st.sampled_from([(), ("world",), ("local",), ("world", "local")])
    return [(Document(*draw(st.sampled_from(pool))), draw(tags), draw(LANGUAGES))
            for _ in range(draw(st.integers(0, 30)))]


@settings(max_examples=60, deadline=None)
@given(entries())
def test_remembered_scores_are_the_scores_scoring_gives(
        drawn: list[tuple[Document, tuple[str, ...], str | None]]) -> None:
    memo = ScoreMemo(versions=2, per_version=10)  # small: versions dropped, tables full
    for watchlists in ([CURRENT, DRAFTS[0]], [CURRENT, DRAFTS[1], OTHER], [DRAFTS[1]], [OTHER, CURRENT],
                       [CURRENT, *EDITS], [EDITS[0], CURRENT]):
        scorer = Scorer(watchlists)
        expected = [tuple({s.watchlist: replace(s, contributions=())
                           for s in scorer.score(doc, tags=tags, language=language)}.get(w.name) for w in watchlists)
                    for doc, tags, language in drawn]
        assert score_each(drawn, watchlists, memo) == expected


@st.composite
def split_texts(draw: st.DrawFn) -> tuple[str, str, str, str | None, tuple[str, ...]]:
    """One string cut into title, body, article, language and tags at drawn places: two draws of the same string
    join alike and differ only in where the parts end."""
    whole = draw(st.sampled_from(["", "a1:", "12:a:b", "a" * 7]))
    cuts = sorted(draw(st.lists(st.integers(0, len(whole)), min_size=4, max_size=6)))
    parts = [whole[a:b] for a, b in zip([0, *cuts], [*cuts, len(whole)], strict=True)]
    return parts[0], parts[1], parts[2], parts[3] or None, tuple(parts[4:])


@settings(max_examples=300, deadline=None)
@given(split_texts(), split_texts())
def test_different_texts_never_share_a_memo_key(first: tuple[str, str, str, str | None, tuple[str, ...]],
                                                second: tuple[str, str, str, str | None, tuple[str, ...]]) -> None:
    pair = (first, second)
    a, b = (score_memo._key(Document(title, body, article), language, tags)
            for title, body, article, language, tags in pair)
    same = [(title, body, article, language or "", tags) for title, body, article, language, tags in pair]
    assert (a == b) == (same[0] == same[1])


def test_only_a_keyword_edit_is_a_keyword_change() -> None:
    assert keyword_change(CURRENT, DRAFTS[0]) == (Keyword("sanctions", 3.0),)
    assert keyword_change(CURRENT, EDITS[0]) == (Keyword("war film", 0.0),)
    assert keyword_change(CURRENT, replace(CURRENT, name="renamed")) == ()
    assert keyword_change(CURRENT, DRAFTS[1]) is None  # tags differ too
    assert keyword_change(CURRENT, replace(CURRENT, require_actor=True)) is None


def test_watchlists_scored_together_need_distinct_names() -> None:
    with pytest.raises(ValueError, match="distinct names"):
        score_each([], [CURRENT, CURRENT])


# --- the preview on a database ---

WATCHLIST = {"name": "wl", "lexicons": ["escalation-common", "escalation-en"], "require_actor": True,
             "actors": [{"id": "putin", "name": "Vladimir Putin", "aliases": ["Putin"]},
                        {"id": "nato", "name": "NATO", "weight": 0.5}],
             "keywords": [{"term": "strike", "weight": 3}, {"term": "invasion", "weight": 4}],
             "severities": {"watch": 3, "warning": 6, "critical": 12},
             "notify": [{"channels": ["console"], "min_severity": "watch"}]}
NOW = START + timedelta(days=8)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Runtime]:
    """A week and a half of items (texts repeating, stories of one to four copies), alerts, and verdicts."""
    write_config(tmp_path, watchlists={"wl": WATCHLIST})
    engine = make_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    ensure_schema(engine)
    feeds = [{"id": k, "name": f"feed-{k}", "url": f"https://f{k}.invalid/rss",
              "tags": ["world" if k % 2 else "local"]} for k in range(1, 5)]
    rng = random.Random(17)
    pool = [(" ".join(rng.choices(WORDS, k=rng.randint(3, 9))), " ".join(rng.choices(WORDS, k=4)) if k % 3 else "")
            for k in range(60)]
    items, alerts, feedback = [], [], []
    for n in range(1, 601):
        at, (title, summary) = START + timedelta(minutes=23 * n), rng.choice(pool)
        items.append({"id": n, "feed_id": rng.randint(1, 4), "uid": f"u{n}", "title": title, "summary": summary,
                      "link": f"https://x.invalid/{n}", "published": at, "fetched_at": at,
                      "story_id": None if n % 11 == 0 else str(n - n % 3)})
        if n % 7 == 0:
            alerts.append({"id": n, "dedup_key": f"a{n}", "item_id": n, "kind": "story_first", "watchlist": "wl",
                           "severity": 2, "score": 5.0, "message": {}, "created_at": at, "status": "delivered"})
            feedback.append({"alert_id": n, "watchlist": "wl", "verdict": "noise" if n % 2 else "useful",
                             "reason": "other" if n % 2 else None, "user": "ana", "at": at})
    with engine.begin() as conn:
        for name, rows in [("feeds", feeds), ("items", items), ("alerts", alerts), ("alert_feedback", feedback)]:
            conn.execute(SQLModel.metadata.tables[name].insert(), rows)
    engine.dispose()
    rt = open_runtime(load_config(tmp_path))
    watchlist_edit.forget_scores()
    yield rt
    rt.engine.dispose()
    watchlist_edit.forget_scores()


def _draft(rt: Runtime, old: str, new: str) -> Watchlist:
    text = watchlist_edit.read(rt.config.directory, "wl")[1]
    assert old in text
    draft, problems = watchlist_edit.check(rt.config.directory, "wl", text.replace(old, new, 1))
    assert draft is not None, problems
    return draft


def test_the_preview_reports_what_the_plain_preview_reported(desk: Runtime) -> None:
    current = desk.config.watchlists[0]
    drafts = [_draft(desk, "keywords:\n", "keywords:\n- {term: sanctions, weight: 5}\n"),
              _draft(desk, "watch: 3", "watch: 2"),
              _draft(desk, "keywords:\n", "keywords:\n- {term: troops, weight: 2}\n")]
    changes = 0
    for days in (7, 2):
        for draft in drafts:  # cold, then the current version remembered; each twice: the draft remembered too
            expected = plain_preview(desk, current, draft, NOW, days)
            changes += len(expected.added) + len(expected.changed) + len(expected.removed)
            assert watchlist_edit.preview(desk, current, draft, NOW, days=days) == expected
            assert watchlist_edit.preview(desk, current, draft, NOW, days=days) == expected
    assert changes, "drafts that change nothing would test little"
    watchlist_edit.forget_scores()
    assert watchlist_edit.preview(desk, None, drafts[1], NOW) == plain_preview(desk, None, drafts[1], NOW)


def test_a_preview_spread_over_worker_processes_reports_the_same(desk: Runtime,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The daemon's two parse worker processes score the shares; a pool whose workers died has it all scored in
    the preview's own thread, with the same report."""
    monkeypatch.setattr(watchlist_edit, "SHARE", 1)  # a share per worker, whatever the number of entries
    current = desk.config.watchlists[0]
    draft = _draft(desk, "keywords:\n", "keywords:\n- {term: sanctions, weight: 5}\n")
    expected = plain_preview(desk, current, draft, NOW, 7)
    desk.cpu = CpuPool(2, desk.config.watchlists)

    def not_here(*_args: object) -> None:
        raise AssertionError("scored in the preview's thread")

    try:
        with monkeypatch.context() as patched:
            patched.setattr(watchlist_edit, "score_group", not_here)
            assert watchlist_edit.preview(desk, current, draft, NOW) == expected
        assert len(desk.cpu._pool()._processes) == 2  # both took part
        watchlist_edit.forget_scores()
        for process in list(desk.cpu._pool()._processes.values()):
            process.kill()
            process.join()
        assert watchlist_edit.preview(desk, current, draft, NOW) == expected
        assert watchlist_edit.preview(desk, current, draft, NOW) == expected  # a fresh pool again
    finally:
        desk.cpu.close()


def test_the_editor_page_warms_the_current_versions_scores(desk: Runtime) -> None:
    current = desk.config.watchlists[0]
    first = watchlist_edit.warm(desk, "wl", NOW)
    assert first is not None
    assert watchlist_edit.warm(desk, "wl", NOW) is None or first.is_alive() is False  # one at a time
    first.join(timeout=60)
    remembered = watchlist_edit._MEMO.table(current)
    assert len(remembered) == len({(i.title, i.summary) for i in _window(desk, 7)})  # every distinct text scored
    draft = _draft(desk, "keywords:\n", "keywords:\n- {term: sanctions, weight: 5}\n")
    assert watchlist_edit.preview(desk, current, draft, NOW) == plain_preview(desk, current, draft, NOW)
    missing = watchlist_edit.warm(desk, "no-such-file", NOW)
    assert missing is not None
    missing.join(timeout=60)  # logged, not raised; the lock is free again
    again = watchlist_edit.warm(desk, "wl", NOW)
    assert again is not None
    again.join(timeout=60)


def _window(rt: Runtime, days: float) -> list[story_rows.StoredItem]:
    with session(rt.engine) as s:
        return story_rows.items_between(s, NOW - timedelta(days=days), NOW)
