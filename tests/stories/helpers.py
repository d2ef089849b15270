"""Building blocks for story, trend and retention tests: a config directory on the test's database (SQLite
file or PostgreSQL schema), feeds on loopback, a runtime with a movable clock, and rows inserted with chosen
timestamps (the pure clock: jobs are called with `now`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert

from monitor.store.db import make_engine
from monitor.store.migrate import ensure_schema
from monitor.store.tables import FeedRow, ItemRow, ScoreRow
from tests.alerts.helpers import Clock, Setup, serve_feed
from tests.support.configdir import write_config
from tests.support.servers import HttpServer

LAVROV = "Sergei Lavrov"


def escalation(channels: Sequence[str], **extra: Any) -> dict[str, Any]:
    """'war' alone is a warning (corroboration cannot make it critical), 'nuclear' critical."""
    return {
        "name": "escalation",
        "actors": [{"id": "nato", "name": "NATO", "aliases": ["NATO"]},
                   {"id": "lavrov", "name": LAVROV, "aliases": ["Lavrov"]}],
        "keywords": [{"term": "war", "weight": 4}, {"term": "nuclear", "weight": 30}],
        "severities": {"watch": 2, "warning": 4, "critical": 25},
        "notify": [{"channels": list(channels), "min_severity": "watch"}],
        **extra,
    }


def webhook_channel(port: int, path: str = "/desk") -> dict[str, Any]:
    return {"desk": {"urls": [f"json://127.0.0.1:{port}{path}"], "rate_limit": None}}


def _outlet(item: tuple[str, ...], n: int) -> tuple[str, ...]:
    return (*item[:2], item[2].replace("://", f"://outlet{n}.", 1)) if len(item) > 2 else item


def many_feeds(tmp_path: Path, server: HttpServer, database_url: str, feeds: int,
               items: Sequence[tuple[str, ...]], channels: dict[str, Any], *, clock: Clock | None = None,
               watchlist: dict[str, Any] | None = None) -> Setup:
    """`feeds` feeds, each serving the same items (one wire story through many outlets), each outlet under its
    own URL: two feeds linking one URL carry one article, which cross-feed dedup stores once."""
    urls = [serve_feed(server, [_outlet(it, n) for it in items], f"/f{n}.xml") for n in range(feeds)]
    config = write_config(tmp_path / "config", feeds=[{"url": u, "name": f"Outlet {n}", "tags": ["world"]}
                                                      for n, u in enumerate(urls)],
                          channels=channels, watchlists={"escalation": watchlist or escalation(list(channels))},
                          database=database_url,
                          settings={"delivery": {"backoff": "1s", "timeout": "2s", "lease": "1s"}})
    return Setup(config, clock=clock or Clock())


def engine_at_head(url: str) -> Engine:
    engine = make_engine(url)
    ensure_schema(engine)
    return engine


def add_feed(engine: Engine, name: str = "Wire") -> int:
    with engine.begin() as c:
        result = c.execute(insert(FeedRow).values(name=name, url=f"http://news.invalid/{name}", tags=[],
                                                  interval=600.0, enabled=True, status="active",
                                                  consecutive_failures=0).returning(FeedRow.id))
        return int(result.scalar_one())


def add_scored(engine: Engine, feed_id: int, times: Sequence[datetime], *, actors: Sequence[str] = (),
               terms: Sequence[str] = ("war",), value: float = 6.0, watchlist: str = "escalation",
               story_id: str | None = None, prefix: str = "i") -> list[int]:
    """Items fetched at `times`, each with a stored score for the watchlist (bulk, for trend histories)."""
    if not times:
        return []
    with engine.begin() as c:
        rows = [{"feed_id": feed_id, "uid": f"{prefix}{n}-{t.isoformat()}", "title": f"item {prefix}{n}",
                 "link": "http://news.invalid/x", "canonical_url": "", "summary": "", "published": t,
                 "fetched_at": t, "story_id": story_id} for n, t in enumerate(times)]
        ids = [int(i) for i in c.execute(insert(ItemRow).returning(ItemRow.id), rows).scalars()]
        c.execute(insert(ScoreRow), [
            {"item_id": i, "watchlist": watchlist, "value": value, "severity": 2, "contributions": [],
             "created_at": t, "actors": list(actors), "terms": list(terms)} for i, t in zip(ids, times, strict=True)])
    return ids


def hourly(start: datetime, end: datetime, per_hour: int) -> list[datetime]:
    """`per_hour` times spread evenly through every hour in [start, end)."""
    out, t = [], start
    while t < end:
        out += [t + timedelta(minutes=60 * k / per_hour + 0.5) for k in range(per_hour)]
        t += timedelta(hours=1)
    return [x for x in out if x < end]
