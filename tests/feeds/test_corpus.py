"""Every document of the real-world corpus (../shared/corpus robustness/ and news/), served on loopback and
polled through the whole pipeline in a few batched cycles: nothing crashes, each document yields items or a
recorded error, and the exact totals are pinned so that a change that drops items fails here."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from monitor.core.urls import is_article_url
from monitor.usecases.poll import PollOutcome
from tests.support.polling import cycle, db, make_runtime
from tests.support.servers import HttpServer, Response

pytestmark = pytest.mark.corpus

TYPES = {".json": "application/feed+json", ".gz": "application/xml", ".z": "application/xml"}
ENCODINGS = {".gz": "gzip", ".z": "deflate"}
ARTICLES, NOT_ARTICLES = 12972, 1958  # distinct article URLs; items without one (never deduplicated)


def documents(corpus: Path) -> list[Path]:
    return sorted(p for group in ("robustness", "news") for p in (corpus / group).rglob("*") if p.is_file())


def test_every_corpus_document_is_polled(tmp_path: Path, corpus: Path, feed_server: HttpServer) -> None:
    feeds = []
    for i, path in enumerate(documents(corpus)):
        headers = {"Content-Type": TYPES.get(path.suffix, "application/xml")}
        if path.suffix in ENCODINGS:
            headers["Content-Encoding"] = ENCODINGS[path.suffix]
        feed_server.routes[f"/doc/{i}"] = Response(200, path.read_bytes(), headers)
        feeds.append({"name": str(path.relative_to(corpus)), "url": feed_server.url(f"/doc/{i}")})
    rt = make_runtime(tmp_path / "c", feeds, settings={"polling": {
        "concurrency": 32, "per_host": 32, "parse_workers": 2, "timeout": "60s", "deadline": "120s",
        "max_items": 1_000_000}})  # every entry, so the pinned totals count the parser's work, not the cap's

    outcomes: dict[str, PollOutcome] = {}
    try:
        while batch := cycle(rt):  # due_feeds hands out 1000 at a time; polled feeds are not due again
            outcomes.update(batch)
    finally:
        if rt.cpu is not None:
            rt.cpu.close()  # its two worker processes
    assert len(outcomes) == len(feeds)

    with db(rt) as c:
        rows = {r["name"]: r for r in c.execute("select name, consecutive_failures, last_error_kind from feeds")}
        canonicals = [r[0] for r in c.execute("select canonical_url from items")]
    for name, outcome in outcomes.items():  # items, a well-formed empty feed, or the recorded reason why not
        kind = rows[name]["last_error_kind"]
        if outcome.parsed:
            assert outcome.status == "ok" and kind is None, name
        else:
            assert kind in ("empty", "parse", "decoding"), (name, kind, outcome)
            assert (rows[name]["consecutive_failures"] == 0) == (kind == "empty"), name
    kinds = Counter(rows[name]["last_error_kind"] or "items" for name in outcomes)
    articles = {u for u in canonicals if is_article_url(u)}
    assert kinds == {"items": 1042, "empty": 1538, "parse": 302, "decoding": 3}
    assert sum(o.parsed for o in outcomes.values()) == 16045
    # Cross-feed dedup keeps one copy of each article, whichever feed came first: these do not depend on order.
    assert len(articles) == ARTICLES
    assert sum(not is_article_url(u) for u in canonicals) == NOT_ARTICLES
