"""Full text for candidates (issue 18), on the poll's path between the parse worker and bookkeeping: each new item
that is a candidate (core.fulltext.wants_article: `watch` on some watchlist, or a watched actor named; every new
item for a feed set to `fulltext: always`) has its article fetched (feeds.article: robots.txt, host slots, caps,
the private-address rule), its main text extracted in a worker (feeds.extract) and is scored again on headline,
summary and article. Bookkeeping then stores, files and alerts on those scores: the alert is decided once, on
the best evidence there is.

Whatever goes wrong with an article costs that item its article, never the poll: the item keeps its headline and
summary scores, each explained with why (core.fulltext.with_fallback), and `article_status` on the item says so.
The poll waits for its articles at most `polling.fulltext.budget` seconds.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import partial

import structlog

from monitor.core.fulltext import ArticleText, article_document, wants_article, with_fallback
from monitor.core.urls import is_article_url
from monitor.domain import Item
from monitor.errors import ParseError
from monitor.feeds.extract import read_page
from monitor.feeds.itemlimit import Scores
from monitor.store import repo
from monitor.store.db import session
from monitor.store.tables import FeedRow
from monitor.usecases.context import Runtime

log = structlog.get_logger("monitor.usecases.fulltext")


async def read_articles(rt: Runtime, feed: FeedRow, items: Sequence[Item], scores: Scores,
                        set_aside: Mapping[str, str]) -> tuple[Scores, dict[str, ArticleText]]:
    """The scores to store (a candidate's replaced by its full-text scores, or explained as a fallback) and, by uid,
    what reading each candidate's article gave."""
    candidates = [i for i in items if i.uid in scores and i.uid not in set_aside
                  and wants_article(feed.fulltext, scores[i.uid])]
    if candidates:
        candidates = await asyncio.to_thread(_not_stored_elsewhere, rt, feed, candidates)
    if not candidates:
        return scores, {}
    articles = await _read_all(rt, feed, candidates)
    rescored = await _rescore(rt, feed, candidates, articles)
    merged = dict(scores)
    for item in candidates:
        uid = item.uid
        merged[uid] = rescored[uid] if uid in rescored else with_fallback(scores[uid], articles[uid])
    log.debug("articles_read", feed=feed.name, **Counter(a.status for a in articles.values()))
    return merged, articles


def _not_stored_elsewhere(rt: Runtime, feed: FeedRow, items: list[Item]) -> list[Item]:
    """Another feed's copy of the same article (its canonical URL) is stored already, so this one will not be
    (repo.insert_new_items): reading it would cost the publisher a request for nothing."""
    assert feed.id is not None
    with session(rt.engine) as s:
        taken = repo.canonicals_elsewhere(s, feed.id, items)
    return [i for i in items if i.canonical_url not in taken]


async def _read_all(rt: Runtime, feed: FeedRow, items: Sequence[Item]) -> dict[str, ArticleText]:
    """Every candidate's article, read concurrently (the fetcher's host slots keep it polite) for at most the
    budget; the reads still running then are given up, and their items scored on their summary."""
    budget = rt.config.settings.polling.fulltext.budget
    origin = feed.config_url or feed.url
    out: dict[str, ArticleText] = {}
    running: dict[str, tuple[str, asyncio.Task[ArticleText]]] = {}  # uid -> (cache key, read)
    for item in items:
        if not is_article_url(item.link):
            out[item.uid] = ArticleText("no_link", detail="the item links to no article page")
            continue
        key = item.canonical_url or item.link
        got = rt.article_cache.read(key, partial(_read, rt, item.link, origin))
        if isinstance(got, ArticleText):
            out[item.uid] = got
        else:
            running[item.uid] = (key, got)
    if running:
        _, late = await asyncio.wait({task for _, task in running.values()}, timeout=budget)
        for key, task in running.values():  # once per read() that returned it: a story listed twice waits twice
            if task in late:
                rt.article_cache.give_up(key, task)
        out |= {uid: _outcome(task, budget) for uid, (_, task) in running.items()}
    return out


async def _read(rt: Runtime, url: str, origin: str) -> ArticleText:
    page = await rt.articles.page(rt.fetcher, url, origin)
    if isinstance(page, ArticleText):
        return page
    try:
        return await rt.pool().run(read_page, page.content, page.url, page.content_type,
                                   rt.config.settings.polling.fulltext.max_text)
    except Exception as exc:  # a third party's heuristics on a stranger's HTML, or a lost worker: this item only
        return ArticleText("failed", detail=f"extraction: {type(exc).__name__}: {exc}"[:250])


def _outcome(task: asyncio.Task[ArticleText], budget: float) -> ArticleText:
    if task.cancelled() or not task.done():
        return ArticleText("skipped", detail=f"the poll's {budget:g} s for articles ran out")
    if (error := task.exception()) is not None:  # _read returns its failures; this is a bug, kept to this item
        log.error("article_read_crashed", error=repr(error))
        return ArticleText("failed", detail=f"{type(error).__name__}: {error}"[:250])
    return task.result()


async def _rescore(rt: Runtime, feed: FeedRow, items: Sequence[Item], articles: dict[str, ArticleText]) -> Scores:
    """Full-text scores of the items whose article was read; an article whose scoring passes the item time limit
    leaves its item on its summary scores (and `articles` says so)."""
    documents = [(i.uid, article_document(i.title, i.summary, articles[i.uid].text), i.language)
                 for i in items if articles[i.uid].read]
    if not documents:
        return {}
    try:
        scores, set_aside = await rt.pool().score(documents, tags=tuple(feed.tags))
    except ParseError as exc:
        log.warning("article_scoring_failed", feed=feed.name, error=str(exc))
        set_aside, scores = {uid: str(exc) for uid, _, _ in documents}, {}
    for uid, why in set_aside.items():
        articles[uid] = ArticleText("failed", articles[uid].text, f"scoring the article: {why}")
    return {uid: s for uid, s in scores.items() if uid not in set_aside}
