"""Start with history (issue 16, row 4): a SQLite database of 500,000 items spread over 20 days (the last 48 h,
the story window, about 50,000 of them, in stories with copies and scores), 1,000 feeds that answer 304.

    .venv/bin/python bench/bench_start.py [--items 500000] [--days 20] [--feeds 1000] [--trials 3]
                                          [--before GIT-REV] [--r2e PATH/TO/r2e]

Measured in one run, on the same data, for the code at GIT-REV ("before", default HEAD, exported with `git
archive`; its database is the same file migrated down to its revision) and for the working tree ("after"):
- `monitor run --once` over the 1,000 unchanged feeds, wall seconds of the process (start, 1,000 304s, exit),
  and rss2email's same round (`r2e run --no-send`, every feed with its ETag, so 304s too);
- the daemon (`monitor run`): from spawning the process to the first request of its first poll tick, and to the
  story index being loaded (its `story_index_loaded` log line), then SIGTERM;
- the index load alone, in this process: StoryCache.load on the after database (every item's band keys
  stored) and on the same rows without them (what the load did before: MinHash for each), with peak memory.

The feed server runs in its own process (304 to any conditional GET, 200 otherwise) and notes the time of its
first request after each reset. Medians over the trials; the machine has 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

from bench_polling import r2e_setup  # noqa: E402  (the same rss2email configuration as the polling bench)

WINDOW_HOURS = 48  # settings.stories.window's default
COPY_RATE = 0.3  # items that are a copy of a recent item through another feed
SCORED_RATE = 0.15  # items with a score row (bench_polling's watchlist scores 13-15% of English news)
GIT_DB_REVISION = "9f1afe35c50f"  # the schema before items.band_keys


# --- the feed server (its own process) ----------------------------------------------------------------


async def _serve(port_file: Path, first_file: Path) -> None:
    state: dict[str, float | None] = {"first": None}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                conditional = any(line.lower().startswith("if-none-match:") for line in lines[1:])
                if path == "/_reset":
                    state["first"] = None
                    first_file.unlink(missing_ok=True)
                    writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                else:
                    if state["first"] is None:
                        state["first"] = time.time()
                        first_file.write_text(repr(state["first"]))
                    if conditional:
                        writer.write(b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 0\r\n\r\n')
                    else:
                        body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
                                b"<link>http://x.invalid/</link><description>d</description></channel></rss>")
                        writer.write(b'HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nETag: "x"\r\n'
                                     + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port_file.write_text(str(server.sockets[0].getsockname()[1]))
    await server.serve_forever()


# --- building the database (the after tree, in its own process) ---------------------------------------


def role_build(config_dir: str, items: str, days: str) -> None:
    """Schema and feeds through monitor itself, then the history straight into the tables (Core inserts, so
    every value is stored as monitor stores it)."""
    import feedserver
    from sqlalchemy import update

    from monitor.config import load_config
    from monitor.core.fingerprint import fingerprints_of, pack_keys
    from monitor.runtime.cycle import open_runtime
    from monitor.store.tables import FeedRow, ItemRow, ScoreRow, StoryRow

    config = load_config(Path(config_dir), env={})
    rt = open_runtime(config)
    engine = rt.engine
    with engine.begin() as c:
        feeds = [(r.id, r.name) for r in c.execute(FeedRow.__table__.select())]  # type: ignore[attr-defined]
    rng = random.Random(7)
    now = datetime.now(UTC)
    total, span = int(items), float(days) * 86400
    window_start = now - timedelta(hours=WINDOW_HOURS)
    tables: Any = (ItemRow.__table__, StoryRow.__table__, ScoreRow.__table__)  # type: ignore[attr-defined]
    stories: dict[str, dict[str, Any]] = {}
    recent: list[tuple[str, str, str]] = []  # (title, summary, story id) of the last originals
    counts = {"items": total, "in_window": 0, "scores": 0}
    for first in range(0, total, 20_000):
        rows, scores = [], []
        for k in range(first, min(total, first + 20_000)):
            item_id = k + 1
            at = now - timedelta(seconds=span * (1 - k / total) + 30)
            feed_id, feed_name = rng.choice(feeds)
            if recent and rng.random() < COPY_RATE:
                title, summary, story_id = rng.choice(recent[-200:])
            else:
                title = feedserver.words(rng, rng.randint(6, 12)).capitalize()
                summary = feedserver.words(rng, rng.randint(15, 60)) + "."
                story_id = str(item_id)
                recent.append((title, summary, story_id))
                del recent[:-400]
            rows.append({"id": item_id, "feed_id": feed_id, "uid": f"old-{item_id}", "title": title,
                         "link": f"https://archive.example.org/{item_id}", "canonical_url":
                         f"https://archive.example.org/{item_id}", "summary": summary, "language": "en",
                         "published": at, "fetched_at": at, "story_id": story_id, "band_keys": None})
            counts["in_window"] += at >= window_start
            story = stories.setdefault(story_id, {"id": story_id, "first_seen": at, "last_seen": at,
                                                  "title": title, "sources": [], "best_score": 0.0})
            story["last_seen"] = at
            if feed_name not in story["sources"]:
                story["sources"].append(feed_name)
            if rng.random() < SCORED_RATE:
                value = round(rng.uniform(1, 15), 2)
                severity = 3 if value >= 12 else 2 if value >= 8 else 1 if value >= 4 else 0
                story["best_score"] = max(story["best_score"], value)
                scores.append({"item_id": item_id, "watchlist": "bench", "value": value, "severity": severity,
                               "contributions": [
                                   {"kind": "keyword", "term": "missile", "span": [0, 7], "value": 3.0},
                                   {"kind": "actor", "term": "russia", "span": [8, 14], "value": 1.0}],
                               "created_at": at, "actors": ["russia"], "terms": ["missile"]})
        # Band keys as the filing path stores them: real ones in the window (what a load reads), and a blob of
        # the same size on older items, so the table has its real size.
        keyed = [r for r in rows if r["fetched_at"] >= window_start - timedelta(hours=1)]
        for row, fingerprint in zip(keyed, fingerprints_of([(r["title"], r["summary"]) for r in keyed]),
                                    strict=True):
            row["band_keys"] = pack_keys(fingerprint.keys)
        for row in rows:
            if row["band_keys"] is None:
                row["band_keys"] = bytes(401)
        counts["scores"] += len(scores)
        with engine.begin() as c:
            c.execute(tables[0].insert(), rows)
            if scores:
                c.execute(tables[2].insert(), scores)
    values = list(stories.values())
    with engine.begin() as c:
        for start in range(0, len(values), 20_000):
            c.execute(tables[1].insert(), values[start:start + 20_000])
        c.execute(update(FeedRow.__table__).values(etag='"x"', next_poll_at=now))  # type: ignore[attr-defined]
    counts["stories"] = len(stories)
    rt.engine.dispose()
    if rt.cpu is not None:
        rt.cpu.close()
    print(json.dumps(counts))


def role_downgrade(db: str, revision: str) -> None:
    """The copy at the revision before band keys: the column dropped in place (Alembic's batch mode copies the
    table, which SQLite's foreign keys refuse on a filled database), the version noted."""
    connection = sqlite3.connect(db)
    connection.execute("alter table items drop column band_keys")
    connection.execute("update alembic_version set version_num = ?", (revision,))
    connection.commit()
    connection.execute("vacuum")
    connection.close()


def role_load(config_dir: str, strip: str) -> None:
    """StoryCache.load on this database, in this process (the after tree); `strip`: without the stored keys."""
    import resource

    from sqlalchemy import update

    from monitor.config import load_config
    from monitor.store.db import make_engine
    from monitor.store.tables import ItemRow
    from monitor.usecases.story_cache import StoryCache

    config = load_config(Path(config_dir), env={})
    engine = make_engine(config.database_url)
    if strip == "1":
        with engine.begin() as c:
            c.execute(update(ItemRow.__table__).values(band_keys=None))  # type: ignore[attr-defined]
    cache = StoryCache()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    items = cache.load(engine, datetime.now(UTC), config.settings.stories.window)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"wall": wall, "items": items, "stories": len(cache.index), "peak_mb": peak / 1024,
                      "grew_mb": (peak - base) / 1024}))


ROLES: dict[str, Any] = {"build": role_build, "downgrade": role_downgrade, "load": role_load}


# --- orchestration --------------------------------------------------------------------------------------


def here(role: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--role", role, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"role {role} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def head_of(tree: Path) -> str:
    """The schema revision the code in `tree` needs."""
    code = "from monitor.store.migrate import head_revision; print(head_revision())"
    return subprocess.run([sys.executable, "-c", code], cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                          check=True, capture_output=True,
                          text=True).stdout.strip()


def make_due(db: Path) -> None:
    connection = sqlite3.connect(db)
    connection.execute("update feeds set next_poll_at = '2000-01-01 00:00:00.000000', etag = '\"x\"', "
                       "claimed_by = null, claimed_until = null")
    connection.commit()
    connection.close()


def monitor(tree: Path, *args: str, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.Popen([sys.executable, "-m", "monitor", *args], cwd=tree, env=env, text=True, **kw)


def run_once(tree: Path, config: Path) -> float:
    make_due(config / "monitor.db")
    t0 = time.perf_counter()
    proc = monitor(tree, "run", "--once", "--config", str(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"run --once failed in {tree}:\n{out[-2000:]}\n{err[-3000:]}")
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    done: dict[str, Any] = next((e for e in events if e.get("event") == "cycle_done"), {})
    if done.get("feeds") is not None and done["feeds"] == 0:
        raise SystemExit(f"run --once polled no feed in {tree}")
    return wall


def daemon(tree: Path, config: Path, base: str, first_file: Path) -> dict[str, float]:
    """Spawn to the first poll request, and to story_index_loaded; then SIGTERM and wait."""
    import urllib.request

    make_due(config / "monitor.db")
    urllib.request.urlopen(f"{base}/_reset").read()
    t0 = time.time()
    proc = monitor(tree, "run", "--config", str(config), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    marks: dict[str, float] = {}

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if '"story_index_loaded"' in line:
                marks.setdefault("index", time.time() - t0)
            if '"daemon_started"' in line:
                marks.setdefault("started", time.time() - t0)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.time() + 300
    while time.time() < deadline and ("index" not in marks or "poll" not in marks):
        if "poll" not in marks and first_file.exists() and first_file.read_text():
            marks["poll"] = float(first_file.read_text()) - t0
        if proc.poll() is not None:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(5)
    return marks



def r2e_round(r2e: str, cfg: Path, data: Path, feeds: int) -> float:
    data.write_text(json.dumps({"version": 2, "feeds": [
        {"name": f"f{i}", "etag": '"x"', "modified": None, "seen": {}} for i in range(feeds)]}))
    t0 = time.perf_counter()
    subprocess.run([r2e, "-c", str(cfg), "-d", str(data), "run", "--no-send"], check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=500_000)
    parser.add_argument("--days", type=float, default=20)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--before", default="HEAD")
    parser.add_argument("--r2e", default=os.environ.get("R2E", "/tmp/r2e-venv/bin/r2e"))
    parser.add_argument("--role", choices=ROLES)
    args, rest = parser.parse_known_args()
    if args.role:
        ROLES[args.role](*rest)
        return
    with tempfile.TemporaryDirectory(prefix="bench-start-") as tmp:
        work = Path(tmp)
        before_tree = work / "before-tree"
        before_tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.before], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(before_tree)], input=archive.stdout, check=True)
        port_file, first_file = work / "port", work / "first"
        server = subprocess.Popen([sys.executable, "-c", f"import asyncio, sys; sys.path.insert(0, {str(HERE)!r});"
                                   f"import bench_start as b; from pathlib import Path;"
                                   f"asyncio.run(b._serve(Path({str(port_file)!r}), Path({str(first_file)!r})))"])
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            base = f"http://127.0.0.1:{port_file.read_text()}"
            report(measure(work, before_tree, base, first_file, args), args)
        finally:
            server.terminate()
            server.wait()


def measure(work: Path, before_tree: Path, base: str, first_file: Path, args: argparse.Namespace) -> dict[str, Any]:
    from bench_polling import WATCHLIST

    from tests.support.configdir import write_config

    configs = {}
    for name in ("after", "before"):
        configs[name] = write_config(
            work / name, feeds=[{"name": f"feed-{i}", "url": f"{base}/feed/{i}.xml"} for i in range(args.feeds)],
            watchlists={"bench": WATCHLIST},
            settings={"log": {"level": "info", "format": "json"}, "http": {"enabled": False},
                      "polling": {"concurrency": 4, "per_host": 4, "min_interval": "1m"}})
    t0 = time.perf_counter()
    r: dict[str, Any] = {"build": here("build", str(configs["after"]), str(args.items), str(args.days))}
    shutil.copy(configs["after"] / "monitor.db", configs["before"] / "monitor.db")
    if head_of(before_tree) != head_of(ROOT):  # a before tree from ahead of the stored band keys
        here("downgrade", str(configs["before"] / "monitor.db"), GIT_DB_REVISION)
    r["build_seconds"] = time.perf_counter() - t0
    r["db_mb"] = (configs["after"] / "monitor.db").stat().st_size / 2**20
    trees = {"before": before_tree, "after": ROOT}
    r2e = args.r2e if Path(args.r2e).exists() else None
    if r2e:
        cfg, data = r2e_setup(work, r2e, base, args.feeds)
    r["once"] = {name: [] for name in trees}
    r["r2e"], r["daemon"] = [], {name: [] for name in trees}
    r["load_before_mb"] = os.getloadavg()[0]
    for _ in range(args.trials):
        for name, tree in trees.items():
            r["once"][name].append(run_once(tree, configs[name]))
        if r2e:
            r["r2e"].append(r2e_round(r2e, cfg, data, args.feeds))
        for name, tree in trees.items():
            r["daemon"][name].append(daemon(tree, configs[name], base, first_file))
    scratch = work / "scratch"
    shutil.copytree(configs["after"], scratch)
    r["load_keys"] = here("load", str(configs["after"]), "0")
    r["load_nokeys"] = here("load", str(scratch), "1")
    r["load_after"] = os.getloadavg()[0]
    return r


def report(r: dict[str, Any], args: argparse.Namespace) -> None:
    b = r["build"]
    print(f"\n{b['items']} items over {args.days:g} days ({b['in_window']} in the {WINDOW_HOURS} h window), "
          f"{b['stories']} stories, {b['scores']} score rows; database {r['db_mb']:.0f} MB (built in "
          f"{r['build_seconds']:.0f} s); {args.feeds} feeds answering 304; load average "
          f"{r['load_before_mb']:.2f} -> {r['load_after']:.2f}; medians of {args.trials}\n")
    once = {k: statistics.median(v) for k, v in r["once"].items()}
    print("monitor run --once, 1,000 unchanged feeds (process wall, start to exit)")
    print(f"  before ({args.before}) {once['before']:6.2f} s   {r['once']['before']}")
    print(f"  after (working tree) {once['after']:6.2f} s   {r['once']['after']}")
    if r["r2e"]:
        r2e = statistics.median(r["r2e"])
        print(f"  rss2email 3.14       {r2e:6.2f} s   {r['r2e']}")
        print(f"  -> after / rss2email {once['after'] / r2e:.2f}x (target <= 1.2x); before / rss2email "
              f"{once['before'] / r2e:.2f}x")
    else:
        print("  rss2email: not installed (pass --r2e): no comparison")
    print("\nmonitor run (daemon): spawn to the first poll request / to the story index loaded")
    for name, marks in r["daemon"].items():
        poll = statistics.median(m.get("poll", float("nan")) for m in marks)
        index = statistics.median(m.get("index", float("nan")) for m in marks)
        print(f"  {name:6s} first poll {poll:6.2f} s (target < 2 s)   index ready {index:6.2f} s   {marks}")
    keys, nokeys = r["load_keys"], r["load_nokeys"]
    print(f"\nStoryCache.load alone (after tree, {keys['items']} items, {keys['stories']} stories):")
    print(f"  band keys stored   {keys['wall']:6.2f} s  peak {keys['peak_mb']:.0f} MB (+{keys['grew_mb']:.0f})")
    print(f"  keys not stored    {nokeys['wall']:6.2f} s  peak {nokeys['peak_mb']:.0f} MB (+{nokeys['grew_mb']:.0f})"
          f"   -> {nokeys['wall'] / keys['wall']:.2f}x")


if __name__ == "__main__":
    main()
