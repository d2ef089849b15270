"""The analysts' console (issue 17): page and API latency on a large database, and the watchlist editor's preview.

    .venv/bin/python bench/bench_console.py [--quick] [--preview-only] [--plain] [--distinct-texts] [--corpus DIR]

- Latency: a SQLite database of the real schema (migrate.ensure_schema), filled by Core executemany: 500,000 items
  (--quick: 50,000) in stories of 1-6 copies from 300 feeds, the news corpus's real headlines and summaries in turn;
  100,000 alerts (--quick: 10,000), 70 % first alerts, one delivery each; 50 users' verdicts; 5 % of the alerted
  stories acked or snoozed. The real daemon (`monitor run`, no feeds) serves it on loopback; a user made by `monitor
  users add` signs in through the form; httpx times each route one request at a time, on one kept-alive connection
  (as a browser) and on a new connection each (`Connection: close`: no kept-alive TCP stall, Nagle against delayed
  ACKs, ~40 ms). p50, p95, max against the target p95 < 200 ms; baseline /healthz (reads nothing), ratio of p50s.
- Preview: the daemon stopped, a Runtime on the same database; `watchlist_edit.preview` replays the last 7 days
  (50,000 items in both modes) through the shipped russia-nato and a draft with one keyword more, cold (remembered
  scores forgotten; target under 5 s), then another draft (current version remembered). The runtime's parse worker
  processes are started first, as the daemon starts them; a cold preview spreads its scoring over them. Baseline:
  `monitor backtest`'s replay of the window, current version only. `--plain`: also the preview as it was (the oracle
  of tests/desk/test_preview_speed_equivalence.py), checked to report the same. The corpus's ~6,300 entries make
  ~6,300 distinct texts, each scored once (core.score_memo); `--distinct-texts`: no two alike (numbered summaries).

Wall-clock times; the database build is reported apart. The full size takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_scoring import load_items  # noqa: E402
from sqlmodel import SQLModel  # noqa: E402

from monitor.commands.backtest import replay  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.domain import Document  # noqa: E402
from monitor.runtime.cycle import open_runtime  # noqa: E402
from monitor.store.db import make_engine, session  # noqa: E402
from monitor.store.migrate import ensure_schema  # noqa: E402
from monitor.store.story_rows import items_between  # noqa: E402
from monitor.usecases import watchlist_edit  # noqa: E402
from tests.desk.test_preview_speed_equivalence import plain_preview  # noqa: E402
from tests.support.configdir import write_config  # noqa: E402

WATCHLIST = "russia-nato"
WATCHLISTS = [WATCHLIST, WATCHLIST, "china-taiwan", "middle-east", "cyber"]  # of the stories: russia-nato, 40 %
ACTORS = ["Vladimir Putin", "NATO", "Russia", "Sergei Lavrov", "Mark Rutte", "Ukraine", "European Union"]
SIZES, LABELS = [1, 1, 2, 2, 3, 3, 4, 5, 6], {1: "watch", 2: "warning", 3: "critical"}
VERDICTS, NOISE = ["useful", "noise"], ["wrong_actor", "background", "denial", "duplicate", "other"]
FEEDS, USERS, PASSWORD = 300, 50, "bench-console-password"


def build(directory: Path, n_items: int, n_alerts: int, docs: list[Document], rng: random.Random, *,
          distinct: bool = False) -> dict[str, Any]:
    """The configuration and the database; returns the alerted stories' and the alerts' ids, and counts.
    `distinct`: each item's summary ends with its number, so no two items share a text."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        listen = f"127.0.0.1:{free.getsockname()[1]}"
    write_config(directory, shipped_watchlists=True,
                 settings={"http": {"enabled": True, "listen": listen}, "reload": {"watch": False}})
    engine = make_engine(f"sqlite:///{directory / 'monitor.db'}")
    ensure_schema(engine)
    now = datetime.now(UTC)
    step = timedelta(days=7) / 50_000  # the last 7 days hold 50,000 items, the preview's size
    start = now - step * n_items - timedelta(minutes=5)
    feeds = [{"id": k, "name": f"feed-{k:03d}", "url": f"https://news{k}.example/rss", "tags": ["news"],
              "next_poll_at": now + timedelta(days=1)} for k in range(1, FEEDS + 1)]
    items: list[dict[str, Any]] = []
    stories: list[dict[str, Any]] = []
    while len(items) < n_items:
        doc, sid = docs[len(stories) % len(docs)], str(len(items) + 1)
        members = rng.sample(range(1, FEEDS + 1), min(rng.choice(SIZES), n_items - len(items)))
        for feed in members:
            n, link = len(items) + 1, f"https://news{feed}.example/a/{len(items) + 1}"
            summary = doc.body[:500] + (f" #{n}" if distinct else "")
            items.append({"id": n, "feed_id": feed, "uid": f"u{n}", "title": doc.title, "summary": summary,
                          "link": link, "canonical_url": link, "published": start + step * n - timedelta(minutes=9),
                          "fetched_at": start + step * n, "story_id": sid})
        stories.append({"id": sid, "first_seen": items[int(sid) - 1]["fetched_at"], "title": doc.title,
                        "last_seen": items[-1]["fetched_at"], "sources": [f"feed-{f:03d}" for f in members],
                        "best_score": 0.0, "alerted_at": None, "alert_severity": 0, "_wl": rng.choice(WATCHLISTS)})
    alerted = rng.sample(stories, int(n_alerts * 0.7))
    drafts = []
    for n, story in enumerate(alerted + [rng.choice(alerted) for _ in range(n_alerts - len(alerted))]):
        first = n < len(alerted)
        severity = rng.choices([1, 2, 3], [6, 3, 1])[0] if first else min(3, story["alert_severity"] + 1)
        at = min(story["first_seen"] + timedelta(minutes=1 if first else rng.randint(20, 600)), now)
        story["alerted_at"] = max(at, story["alerted_at"] or at)
        story["alert_severity"] = max(severity, story["alert_severity"])
        drafts.append((at, story, severity, "story_first" if first else "story_update"))
    alerts, deliveries = [], []
    per_story: dict[str, dict[str, Any]] = {}
    for aid, (at, story, severity, kind) in enumerate(sorted(drafts, key=lambda d: d[0]), 1):
        item, actors, score, wl = items[int(story["id"]) - 1], rng.sample(ACTORS, 2), rng.uniform(3, 12), story["_wl"]
        contributions = [{"kind": k, "term": term, "span": [0, len(term)], "value": value, "detail": "",
                          "part": "headline"} for k, term, value in [("actor", a, 1.0) for a in actors]
                         + [("keyword", "attack", score - 2)]]
        message = {"alert_id": aid, "watchlist": wl, "severity": LABELS[severity], "score": score, "actors": actors,
                   "title": story["title"], "link": item["link"], "feed": story["sources"][0], "terms": ["attack"],
                   "published": item["published"].isoformat(), "summary": item["summary"][:300],
                   "sources": len(story["sources"]), "contributions": contributions}
        alerts.append({"id": aid, "dedup_key": f"{wl}|story:{story['id']}|{aid}", "item_id": item["id"], "kind": kind,
                       "watchlist": wl, "severity": severity, "score": score, "message": message, "created_at": at,
                       "status": "delivered", "subject": f"story:{story['id']}", "story_id": story["id"]})
        deliveries.append({"alert_id": aid, "channel": "console", "status": "delivered", "attempts": 1,
                           "next_attempt_at": at, "delivered_at": at + timedelta(seconds=2), "done_urls": []})
        row = per_story.setdefault(story["id"], {"story_id": story["id"], "watchlist": wl, "alerts": 0})
        row.update(severity=story["alert_severity"], step=1, sources=len(story["sources"]), last_alert_at=at,
                   alerts=row["alerts"] + 1)
    users = [{"name": f"analyst{u:02d}", "role": "analyst", "created_at": start} for u in range(USERS)]  # no password
    feedback = [{"alert_id": a["id"], "watchlist": a["watchlist"], "verdict": verdict, "at": a["created_at"],
                 "reason": rng.choice(NOISE) if verdict == "noise" else None, "user": rng.choice(users)["name"]}
                for a in rng.sample(alerts, min(len(alerts) // 10, 5_000)) for verdict in [rng.choice(VERDICTS)]]
    triage = [{"story_id": s["id"], "state": state, "severity": s["alert_severity"], "user": rng.choice(users)["name"],
               "at": s["alerted_at"], "until": now + timedelta(days=1) if state == "snoozed" else None}
              for s in rng.sample(alerted, len(alerted) // 20) for state in [rng.choice(["acked", "snoozed"])]]
    for s in stories:
        del s["_wl"]
    with engine.begin() as conn:
        for name, rows in [("feeds", feeds), ("items", items), ("stories", stories), ("alerts", alerts),
                           ("story_alerts", list(per_story.values())), ("deliveries", deliveries), ("users", users),
                           ("alert_feedback", feedback), ("story_triage", triage)]:
            for chunk in range(0, len(rows), 5_000):
                conn.execute(SQLModel.metadata.tables[name].insert(), rows[chunk:chunk + 5_000])
    engine.dispose()
    return {"stories": [s["id"] for s in alerted], "alerts": [a["id"] for a in alerts], "feedback": len(feedback),
            "all_stories": len(stories), "triaged": len(triage)}


def monitor(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DATABASE_URL", "MONITOR_HTTP_TOKEN")}
    return subprocess.Popen([sys.executable, "-m", "monitor", *args], cwd=ROOT, env=env, **kwargs)


def sign_in(directory: Path, base: str) -> httpx.Client:
    adding = monitor("users", "add", "bench", "--role", "analyst", "--password-stdin", "--config", str(directory),
                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    adding.communicate(f"{PASSWORD}\n".encode())
    assert adding.returncode == 0, "monitor users add failed"
    client = httpx.Client(base_url=base, timeout=60)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert csrf, "no CSRF field on /login"
    signed = client.post("/login", data={"csrf": csrf[1], "name": "bench", "password": PASSWORD, "next": "/"})
    assert signed.status_code == 303, f"sign-in refused: HTTP {signed.status_code}"
    return client


def timed(client: httpx.Client, paths: list[str], count: int, headers: dict[str, str]) -> list[float]:
    client.get(paths[0])  # templates and the connection warm, outside the timing
    out = []
    for n in range(count):
        begin = time.perf_counter()
        reply = client.get(paths[n % len(paths)], headers=headers)
        out.append((time.perf_counter() - begin) * 1000)
        assert reply.status_code == 200, f"{paths[n % len(paths)]}: HTTP {reply.status_code}"
    return out


def stats(ms: list[float]) -> tuple[float, float, float]:
    return statistics.median(ms), statistics.quantiles(ms, n=20, method="inclusive")[18], max(ms)


def latency(directory: Path, built: dict[str, Any], count: int, rng: random.Random) -> dict[str, list[list[float]]]:
    """Per route: the times on one kept-alive connection, then on a new connection each."""
    base, begin = f"http://{load_config(directory).settings.http.listen}", time.perf_counter()
    with (directory / "daemon.log").open("wb") as log:
        daemon = monitor("run", "--config", str(directory), stdout=log, stderr=subprocess.STDOUT)
    try:
        while daemon.poll() is None:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        assert daemon.poll() is None, f"the daemon exited: see {directory / 'daemon.log'}"
        print(f"daemon up (story index preloaded) in {time.perf_counter() - begin:.1f} s")
        client, pages = sign_in(directory, base), [""]
        while len(pages) <= 20:  # follow the next-page links to page 21
            link = re.search(r'id="next-page" href="/\?([^"]+)"', client.get(f"/?{pages[-1]}").text)
            assert link, f"no next-page link on page {len(pages)}"
            pages.append(html.unescape(link[1]))
        stories, alerts = rng.sample(built["stories"], 200), rng.sample(built["alerts"], 200)
        routes = {"/healthz (baseline)": ["/healthz"], "/ (inbox)": ["/"],
                  "/?severity&watchlist": [f"/?severity=warning&watchlist={WATCHLIST}"],
                  "/?q= (search)": ["/?q=Trump", "/?q=Putin", "/?q=Macron"], "/?after= (page 21)": [f"/?{pages[-1]}"],
                  "/stories/<id>": [f"/stories/{s}" for s in stories], "/alerts": ["/alerts"],
                  "/alerts?before=<id>": [f"/alerts?before={a}" for a in alerts], "/api/stories": ["/api/stories"],
                  "/api/alerts": ["/api/alerts"], "/feeds": ["/feeds"]}
        return {name: [timed(client, paths, count, {}), timed(client, paths, count, {"Connection": "close"})]
                for name, paths in routes.items()}
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)


def clocked(times: list[float], call: Callable[[], Any]) -> Any:
    begin = time.perf_counter()
    result = call()
    times.append(time.perf_counter() - begin)
    return result


def preview(directory: Path, runs: int, plain: bool) -> list[str]:
    """Per run: the baseline replay, with --plain the preview as it was (checked to report the same), a cold
    preview of draft A (scores forgotten first), then draft B, as the editor previews one draft after another."""
    config, text, begin = load_config(directory), watchlist_edit.read(directory, WATCHLIST)[1], time.perf_counter()
    (first, problems), (second, _) = (watchlist_edit.check(directory, WATCHLIST, text.replace(
        "keywords:\n", f'keywords:\n  - {{term: "{term}", weight: {weight}}}\n', 1)) for term, weight in
        (("sanctions", 3), ("embargo", 2)))
    checked, current = (time.perf_counter() - begin) / 2, next(w for w in config.watchlists if w.name == WATCHLIST)
    assert first is not None and second is not None, problems
    rt, now = open_runtime(config), datetime.now(UTC)
    if rt.cpu is not None:
        asyncio.run(rt.cpu.start())  # the daemon starts its worker processes at boot; previews spread over them
    times: dict[str, list[float]] = {k: [] for k in ("base", "plain", "cold", "next")}
    try:
        for _ in range(runs):
            hits = len(clocked(times["base"], lambda: replay(config, 7 * 86400.0, WATCHLIST, now)).hits)
            before = clocked(times["plain"], lambda: plain_preview(rt, current, first, now, 7)) if plain else None
            watchlist_edit.forget_scores()
            r = clocked(times["cold"], lambda: watchlist_edit.preview(rt, current, first, now, days=7))
            assert before in (None, r), "the preview reports other than the plain one"
            clocked(times["next"], lambda: watchlist_edit.preview(rt, current, second, now, days=7))
        with session(rt.engine) as s:
            texts = len({(i.title, i.summary) for i in items_between(s, now - timedelta(days=7), now)})
    finally:
        if rt.cpu is not None:
            rt.cpu.close()
        rt.engine.dispose()
    at = {k: " / ".join(f"{t:.2f}" for t in v) for k, v in times.items()}
    print(f"\npreview: draft checked in {checked:.2f} s; {r.items:,} items of the last 7 days ({texts:,} distinct "
          f"texts); draft A (+ keyword 'sanctions'): {len(r.added)} stories added, {len(r.removed)} removed, "
          f"{len(r.changed)} changed, {r.unchanged} unchanged, {len(r.labelled)} labelled items scored; current "
          f"version: {hits} alerts")
    return [f"preview of 7 days ({r.items:,} items, {texts:,} distinct texts): "
            + (f"plain (before) {at['plain']} s, same report; " if plain else "")
            + f"cold {at['cold']} s, under 5 s: {'yes' if min(times['cold']) < 5 else 'no'}; next draft (current "
            f"version remembered) {at['next']} s; backtest baseline {at['base']} s"]


def print_latency(figures: dict[str, list[list[float]]], count: int) -> list[str]:
    kept, fresh = stats(figures["/healthz (baseline)"][0]), stats(figures.pop("/healthz (baseline)")[1])
    print(f"\n{count} requests a route, ms {'kept-alive connection':>26}   {'new connection each':>26}   p50 ratio")
    print(f"{'route':22} {'p50':>8} {'p95':>8} {'max':>8}   {'p50':>8} {'p95':>8} {'max':>8}   to /healthz")
    for name, (alive, new) in [("/healthz (baseline)", ([], [])), *figures.items()]:
        a, b = stats(alive) if alive else kept, stats(new) if new else fresh
        print(f"{name:22} {a[0]:8.1f} {a[1]:8.1f} {a[2]:8.1f}   {b[0]:8.1f} {b[1]:8.1f} {b[2]:8.1f}   "
              f"{b[0] / fresh[0]:8.1f}x{'   p95 over 200 ms' if max(a[1], b[1]) >= 200 else ''}")
    every = [stats([m for times in figures.values() for m in times[k]]) for k in (0, 1)]
    slow = [name for name, times in figures.items() if max(stats(times[0])[1], stats(times[1])[1]) >= 200]
    return [f"pages and API, {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {top:.1f} ms; /healthz p50 "
            f"{health[0]:.1f} ms, ratio {p50 / health[0]:.1f}x"
            for label, (p50, p95, top), health in (("kept-alive", every[0], kept), ("new connection", every[1], fresh))
            ] + [f"p95 < 200 ms on every route: {'yes' if not slow else 'no: ' + ', '.join(slow)}"]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 items, 10,000 alerts, 30 requests a route")
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "news")
    parser.add_argument("--preview-only", action="store_true", help="no daemon, no page latency: the preview only")
    parser.add_argument("--plain", action="store_true", help="also the preview as it was, checked to report the same")
    parser.add_argument("--distinct-texts", action="store_true", help="every item's text unique: no copy to reuse")
    args = parser.parse_args()
    n_items, n_alerts, count = (50_000, 10_000, 30) if args.quick else (500_000, 100_000, 100)
    rng = random.Random(17)
    docs = load_items(args.corpus) if args.corpus.is_dir() else []
    source = f"{len(docs):,} real corpus entries" if docs else "5,000 generated headlines"
    docs = docs or [Document(f"{rng.choice(ACTORS)} warns of attack {n} near the border", "") for n in range(5_000)]
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        directory, begin = Path(tmp), time.perf_counter()
        built = build(directory, n_items, n_alerts, docs, rng, distinct=args.distinct_texts)
        built_s, size = time.perf_counter() - begin, (directory / "monitor.db").stat().st_size / 2**20
        print(f"database: {n_items:,} items in {built['all_stories']:,} stories, {n_alerts:,} alerts on "
              f"{len(built['stories']):,} stories, {built['feedback']:,} verdicts by {USERS} users, "
              f"{built['triaged']:,} stories triaged; headlines: {source}; built in {built_s:.1f} s ({size:.0f} MB)")
        lines = [] if args.preview_only else print_latency(latency(directory, built, count, rng), count)
        lines += preview(directory, 1 if args.quick else 2, args.plain)
    print(f"\n== summary (wall clock; {os.cpu_count()} cores) ==")
    print(f"database build: {built_s:.1f} s for {n_items:,} items and {n_alerts:,} alerts ({size:.0f} MB)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
