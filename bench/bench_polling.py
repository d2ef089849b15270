"""Polling benchmark: 1,000 feeds of 50 items on a loopback server (bench/feedserver.py, its own process).

    .venv/bin/python bench/bench_polling.py [--feeds 1000] [--r2e PATH/TO/r2e] [--big 500000]

Scenario A, every feed changed: one round of this service (fetch, parse, normalise, dedup, store, score)
against a naive sequential `feedparser.parse(url)` loop and rss2email (`r2e run --no-send`), each in its own
process. Scenario B, steady state: 20% of feeds have one new item, the rest answer 304. Also: pipeline CPU
per item against feedparser's own parse time, and peak memory (also with --big items already stored).
Figures are wall seconds and CPU seconds (user+sys, worker processes included). The machine has 2 cores,
and the server shares them with whatever is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

WATCHLIST = {
    "name": "bench", "description": "escalation terms and actors, a small realistic watchlist",
    "actors": [{"id": "nato", "name": "NATO", "aliases": ["NATO", "North Atlantic alliance"]},
               {"id": "russia", "name": "Russia", "aliases": ["Russia", "Moscow", "Kremlin"], "weight": 0.5},
               {"id": "ukraine", "name": "Ukraine", "aliases": ["Ukraine", "Kyiv"], "weight": 0.5}],
    "keywords": [{"term": t, "weight": w} for t, w in (
        ("missile", 3), ("strike", 2), ("troops", 1), ("nuclear", 4), ("sanctions", 1), ("airspace violation", 4),
        ("drone attack", 3), ("mobilisation", 3), ("ultimatum", 3), ("escalat*", 2), ("invasion", 4),
        ("blockade", 3), ("ceasefire", -1))],
    "severities": {"watch": 4, "warning": 8, "critical": 12},
    "notify": [{"channels": ["console"], "min_severity": "critical"}],
}


# --- measurement helpers -------------------------------------------------------------------------------


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def proc_cpu(pid: int) -> float:
    """CPU seconds of a live process (a pool worker), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def emit(result: dict[str, Any]) -> None:
    print("RESULT " + json.dumps(result), flush=True)


def role(name: str, *args: str) -> dict[str, Any]:
    """Run a role in a fresh interpreter; its RESULT line, plus the process's own CPU as the OS counted it."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--role", name, *args], capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise SystemExit(f"role {name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    line = next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[7:])
    result["process_wall"] = wall
    result["process_cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


# --- the roles (each runs in its own process) ----------------------------------------------------------


# Loopback answers in microseconds: more connections only cost httpcore pool scans (B: 4.2-4.6 s at 4, 6.2 s at 8).
CONCURRENCY = 4


def write_config(directory: Path, base: str, feeds: int) -> Path:
    from tests.support.configdir import write_config as write

    return write(directory, feeds=[{"name": f"feed-{i}", "url": f"{base}/feed/{i}.xml"} for i in range(feeds)],
                 watchlists={"bench": WATCHLIST} if WATCHLIST["keywords"] else {},
                 settings={"log": {"level": "warning", "format": "json"},
                           "polling": {"concurrency": CONCURRENCY, "per_host": CONCURRENCY, "min_interval": "1m"}})


def role_ours(config_dir: str, scenario: str) -> None:
    """One round of poll_due over every feed; scenario B first makes every feed due again. "B-steady": B in a
    process whose story index is loaded before the round, as the daemon's preload at start loads it (a fresh
    process's round B loads it itself: once per process, not per round)."""
    from sqlalchemy import text

    from monitor.config import load_config
    from monitor.runtime import logging as logsetup
    from monitor.runtime.cycle import open_runtime, start_workers, tune_gc
    from monitor.usecases.poll import poll_due

    logsetup.configure("warning", "json")
    config = load_config(Path(config_dir), env={})
    tune_gc()  # as `monitor run` does
    rt = open_runtime(config)
    if scenario.startswith("B"):
        with rt.engine.begin() as connection:
            connection.execute(text("update feeds set next_poll_at = :now"), {"now": datetime.now(UTC)})
    if scenario == "B-steady":
        rt.story_cache.load(rt.engine, rt.clock(), config.settings.stories.window)
    assert rt.cpu is not None

    async def round_() -> tuple[list[Any], float, float, float]:
        pool = rt.pool()
        await start_workers(rt)  # as the daemon does before its first poll: every worker is running, and counted
        workers = list(getattr(pool._executor, "_processes", {}) or {})
        cpu0, wcpu0, t0 = cpu_self(), sum(proc_cpu(p) for p in workers), time.perf_counter()
        outcomes = await poll_due(rt)
        wall = time.perf_counter() - t0
        cpu, wcpu = cpu_self() - cpu0, sum(proc_cpu(p) for p in workers) - wcpu0
        emit_peaks["workers"] = max((proc_peak_mb(p) for p in workers), default=0.0)
        await rt.fetcher.aclose()
        return outcomes, wall, cpu, wcpu

    emit_peaks: dict[str, float] = {}
    outcomes, wall, cpu, wcpu = asyncio.run(round_())
    rt.pool().close()
    emit({"wall": wall, "cpu": cpu + wcpu, "cpu_main": cpu, "cpu_workers": wcpu,
          "new_items": sum(o.new_items for o in outcomes), "feeds": len(outcomes),
          "not_modified": sum(o.status == "not_modified" for o in outcomes),
          "failed": sum(o.status == "failed" for o in outcomes),
          "articles": sum(o.articles for o in outcomes), "articles_read": sum(o.articles_read for o in outcomes),
          "peak_mb_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
          "peak_mb_worker": emit_peaks.get("workers", 0.0)})


def role_naive(base: str, feeds: str) -> None:
    import feedparser

    urls = [f"{base}/feed/{i}.xml" for i in range(int(feeds))]
    cpu0, t0 = cpu_self(), time.perf_counter()
    entries = sum(len(feedparser.parse(url).entries) for url in urls)
    emit({"wall": time.perf_counter() - t0, "cpu": cpu_self() - cpu0, "entries": entries})


def role_pipeline(config_dir: str, base: str, feeds: str) -> None:
    """CPU per item, one thread, same documents: feedparser.parse alone vs the pipeline (parse and normalise, dedup,
    score, fingerprint for story clustering, store: items, scores, stories, alerts)."""
    import feedparser
    from sqlalchemy import func
    from sqlmodel import select

    from monitor.config import load_config
    from monitor.core.fingerprint import fingerprints_of
    from monitor.core.scoring import Scorer
    from monitor.feeds.fetch import FetchResult
    from monitor.feeds.parse import parse_feed
    from monitor.runtime import logging as logsetup
    from monitor.runtime.cycle import open_runtime
    from monitor.store.db import session
    from monitor.store.tables import AlertRow, FeedRow, ScoreRow
    from monitor.usecases import bookkeeping, poll

    logsetup.configure("warning", "json")
    docs = [urllib.request.urlopen(f"{base}/feed/{i}.xml").read() for i in range(int(feeds))]
    headers = {"content-type": "application/rss+xml; charset=utf-8", "content-location": f"{base}/feed/0.xml"}
    t0 = time.process_time()
    entries = sum(len(feedparser.parse(io.BytesIO(d), response_headers=headers).entries) for d in docs)
    fp = time.process_time() - t0

    rt = open_runtime(load_config(Path(config_dir), env={}))
    scorer = Scorer(rt.config.watchlists)  # the one each parse worker builds
    with session(rt.engine) as s:
        rows = {r.name: r for r in s.exec(select(FeedRow))}
    stages = dict.fromkeys(("parse", "dedup", "score", "fingerprint", "store"), 0.0)
    stored = 0

    def timed(stage: str, fn: Any, *a: Any, **kw: Any) -> Any:
        t = time.process_time()
        out = fn(*a, **kw)
        stages[stage] += time.process_time() - t
        return out

    for i, doc in enumerate(docs):
        row = rows[f"feed-{i}"]
        now = datetime.now(UTC)
        parsed = timed("parse", parse_feed, doc, feed=row.name, url=row.url, now=now,
                       content_type=headers["content-type"])
        known = timed("dedup", poll._known_uids, rt, row)
        scores = timed("score", lambda items, known: {
            i.uid: scorer.score(i.document, language=i.language) for i in items if i.uid not in known},
            parsed.items, known)
        prints = timed("fingerprint", lambda items, new: dict(zip(
            [i.uid for i in items if i.uid in new],
            fingerprints_of([(i.title, i.summary) for i in items if i.uid in new]), strict=True)),
            parsed.items, scores)
        result = FetchResult(200, row.url, doc, headers["content-type"], etag=None)
        new, _alerts, _row = timed("store", bookkeeping.record_success, rt, row, result, parsed, scores, prints)
        stored += new
    pipeline = sum(stages.values())
    with session(rt.engine) as s:
        scored = s.exec(select(func.count()).select_from(ScoreRow)).one()
        alerted = s.exec(select(func.count()).select_from(AlertRow)).one()
    emit({"feedparser_cpu": fp, "pipeline_cpu": pipeline, "entries": entries, "stored": stored,
          "scored": scored, "alerts": alerted, "stages": stages})


def role_rtt(base: str, feeds: str, etags: str) -> None:
    """The 304 round trips alone: conditional GETs for the unchanged feeds, CONCURRENCY at a time (httpx)."""
    import httpx

    wanted = json.loads(Path(etags).read_text())

    async def go() -> float:
        sem = asyncio.Semaphore(CONCURRENCY)
        async with httpx.AsyncClient() as client:
            async def one(i: str, etag: str) -> None:
                async with sem:
                    await client.get(f"{base}/feed/{i}.xml", headers={"If-None-Match": etag})
            t0 = time.perf_counter()
            await asyncio.gather(*(one(i, e) for i, e in wanted.items()))
            return time.perf_counter() - t0
    emit({"wall": asyncio.run(go())})


ROLES = {"ours": role_ours, "naive": role_naive, "pipeline": role_pipeline, "rtt": role_rtt}


# --- orchestration -------------------------------------------------------------------------------------


def r2e_setup(directory: Path, r2e: str, base: str, feeds: int) -> tuple[Path, Path]:
    cfg, data = directory / "r2e.cfg", directory / "r2e.json"
    subprocess.run([r2e, "-c", str(cfg), "-d", str(data), "new", "bench@example.org"], check=True,
                   capture_output=True)
    with cfg.open("a") as out:
        for i in range(feeds):
            out.write(f"\n[feed.f{i}]\nurl = {base}/feed/{i}.xml\n")
    data.write_text(json.dumps({"version": 2, "feeds": [
        {"name": f"f{i}", "etag": None, "modified": None, "seen": {}} for i in range(feeds)]}))
    return cfg, data


def r2e_run(r2e: str, cfg: Path, data: Path) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([r2e, "-c", str(cfg), "-d", str(data), "run", "--no-send"], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall": time.perf_counter() - t0,
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


def start_server(directory: Path, feeds: int) -> tuple[subprocess.Popen[bytes], str]:
    port_file = directory / "port"
    server = subprocess.Popen([sys.executable, str(HERE / "feedserver.py"), str(port_file), str(feeds)])
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port_file.read_text()}"


def fill(config_dir: Path, count: int) -> None:
    """Store `count` items (spread over the feeds) straight into the database, as months of polling would."""
    import sqlite3

    db = sqlite3.connect(config_dir / "monitor.db")
    feed_ids = [r[0] for r in db.execute("select id from feeds")]
    now = datetime.now(UTC).isoformat(" ")
    rows = ((random.choice(feed_ids), f"old-{n}", f"Archived story {n} about talks and troops",
             f"https://archive.example.org/{n}", f"https://archive.example.org/{n}", "x" * 200, now, now)
            for n in range(count))
    db.executemany("insert into items (feed_id, uid, title, link, canonical_url, summary, published, fetched_at)"
                   " values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--r2e", default=os.environ.get("R2E", "/tmp/wt8-r2e/bin/r2e"))
    parser.add_argument("--big", type=int, default=500_000, help="items stored for the memory figure (0: skip)")
    parser.add_argument("--role", choices=ROLES)
    args, rest = parser.parse_known_args()
    if args.role:
        ROLES[args.role](*rest)
        return
    n = args.feeds
    with tempfile.TemporaryDirectory(prefix="bench-polling-") as tmp:
        work = Path(tmp)
        server, base = start_server(work, n)
        try:
            report(run_all(work, base, n, args.r2e if Path(args.r2e).exists() else None, args.big), n)
        finally:
            server.terminate()
            server.wait()


def spin(_: int) -> float:
    t0, x = time.perf_counter(), 0
    for i in range(5_000_000):
        x += i
    return time.perf_counter() - t0


def parallel_capacity() -> float:
    """How many cores' worth of CPU two busy processes really get here (2.0 on two real cores)."""
    from concurrent.futures import ProcessPoolExecutor

    solo = spin(0)
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(spin, range(2)))  # start both workers
        t0 = time.perf_counter()
        list(pool.map(spin, range(2)))
        both = time.perf_counter() - t0
    return 2 * solo / both


def run_all(work: Path, base: str, n: int, r2e: str | None, big: int) -> dict[str, Any]:
    results: dict[str, Any] = {"load_before": os.getloadavg(), "parallel_capacity": parallel_capacity()}
    config = write_config(work / "config", base, n)
    results["naive_A"] = role("naive", base, str(n))
    if r2e:
        cfg, data = r2e_setup(work, r2e, base, n)
        results["r2e_A"] = r2e_run(r2e, cfg, data)
    results["ours_A"] = role("ours", str(config), "A")
    changed = random.Random(1).sample(range(n), n // 5)
    for i in changed:
        urllib.request.urlopen(f"{base}/_bump/{i}").read()
    results["ours_B"] = role("ours", str(config), "B")
    if r2e:
        results["r2e_B"] = r2e_run(r2e, cfg, data)
    unchanged = {str(i): f'"{i}-0"' for i in range(n) if i not in set(changed)}
    (work / "etags.json").write_text(json.dumps(unchanged))
    results["rtt_304"] = role("rtt", base, str(n), str(work / "etags.json"))
    results["parse_changed"] = feedparser_time(base, changed)
    sample = min(200, n)
    pipeline_config = write_config(work / "pipeline", base, sample)
    results["pipeline"] = role("pipeline", str(pipeline_config), base, str(sample))
    if big:
        results["big"] = big
        fill(config, big)
        results["ours_B_big"] = role("ours", str(config), "B")
    results["load_after"] = os.getloadavg()
    return results


def feedparser_time(base: str, feeds: list[int]) -> float:
    import feedparser

    docs = [urllib.request.urlopen(f"{base}/feed/{i}.xml").read() for i in feeds]
    t0 = time.process_time()
    for doc in docs:
        feedparser.parse(io.BytesIO(doc))
    return time.process_time() - t0


def report(r: dict[str, Any], n: int) -> None:
    a, b, naive = r["ours_A"], r["ours_B"], r["naive_A"]
    print(f"\n{n} feeds x 50 items, loopback; load average before {r['load_before'][0]:.2f}, "
          f"after {r['load_after'][0]:.2f}; two busy processes get {r['parallel_capacity']:.2f} cores' worth of CPU "
          "here (the server process shares them)\n")
    print("Scenario A: every feed changed")
    print(f"  this service   wall {a['wall']:6.2f} s  cpu {a['cpu']:6.2f} s (main {a['cpu_main']:.2f}, "
          f"workers {a['cpu_workers']:.2f})  new items {a['new_items']}  failed {a['failed']}")
    print(f"  naive loop     wall {naive['wall']:6.2f} s  cpu {naive['cpu']:6.2f} s  entries {naive['entries']}")
    print(f"  -> {naive['wall'] / a['wall']:.2f}x faster than the naive loop (target >= 1.8x)")
    if "r2e_A" in r:
        print(f"  rss2email 3.14 wall {r['r2e_A']['wall']:6.2f} s  cpu {r['r2e_A']['cpu']:6.2f} s")
        print(f"  -> {r['r2e_A']['wall'] / a['wall']:.2f}x faster than rss2email (target >= 4x)")
    else:
        print("  rss2email: not installed (pass --r2e PATH): no comparison")
    print("\nScenario B: 20% of feeds have one new item, the rest answer 304")
    print(f"  this service   wall {b['wall']:6.2f} s  cpu {b['cpu']:6.2f} s  new items {b['new_items']}  "
          f"304s {b['not_modified']}  (target < 3 s)")
    limit = r["parse_changed"] / 2 + r["rtt_304"]["wall"]
    print(f"  parse-bound limit {limit:.2f} s = feedparser on the changed documents {r['parse_changed']:.2f} s / 2"
          f" cores + 304 round trips {r['rtt_304']['wall']:.2f} s -> {b['wall'] / limit:.2f}x of it (target <= 1.3x)")
    if "r2e_B" in r:
        print(f"  rss2email      wall {r['r2e_B']['wall']:6.2f} s -> {r['r2e_B']['wall'] / b['wall']:.2f}x faster "
              "(target >= 3x)")
    p = r["pipeline"]
    per_fp, per_pipe = p["feedparser_cpu"] / p["entries"] * 1e6, p["pipeline_cpu"] / p["stored"] * 1e6
    print(f"\nPer item, one thread: feedparser.parse {per_fp:.0f} us; whole pipeline (parse, normalise, dedup, "
          f"store, score) {per_pipe:.0f} us -> {per_pipe / per_fp:.2f}x (target <= 1.5x)")
    stages = ", ".join(f"{k} {v / p['stored'] * 1e6:.0f} us" for k, v in p["stages"].items())
    print(f"  of which: {stages} ({p['scored']} score rows, {p['alerts']} alerts)")
    print(f"\nPeak memory: round A main process {a['peak_mb_main']:.0f} MB, each parse worker "
          f"{a['peak_mb_worker']:.0f} MB")
    if "ours_B_big" in r:
        big = r["ours_B_big"]
        print(f"  with {r['big']} more items stored: main {big['peak_mb_main']:.0f} MB during a round of "
              f"{big['not_modified']} 304s and {big['new_items']} new items ({big['wall']:.2f} s)")
    print("\nRESULTS " + json.dumps(r))


if __name__ == "__main__":
    main()
