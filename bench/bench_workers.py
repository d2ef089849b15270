"""Feeds polled per minute by 1, 2 and 4 workers on PostgreSQL and 1 on SQLite, in one run.

Each scenario: N feeds of 50 new items each on a loopback static server (a separate process),
every feed due at once, a long interval so each is polled exactly once. Throughput is N over the
span from the first poll to the last stored success (database timestamps, so interpreter start-up
is not counted). Double polls are counted from the server's request log.

    python bench/bench_workers.py [--feeds 600]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
WORDS = ["minister", "warns", "talks", "border", "troops", "sanctions", "summit", "energy", "ceasefire",
         "election", "parliament", "missile", "drills", "alliance", "envoy", "pipeline", "grain", "port",
         "refugees", "court", "protest"]


def _pseudo(n: int) -> str:
    syllables = ("ka", "lo", "mi", "ve", "ru", "no", "ta", "si", "de", "po", "gu", "fa", "be", "zo", "hi", "wy")
    return "".join(syllables[(n >> (4 * k)) % 16] for k in range(4))


def feed_document(i: int, items: int = 50) -> str:
    """News-like items: shared vocabulary plus words of their own, so stories do not all collide (a corpus of
    near-identical items is clustering's worst case, not a polling benchmark)."""
    entries = []
    for j in range(items):
        own = [_pseudo(i * 1000 + j * 17 + k) for k in range(12)]
        words = " ".join([*(WORDS[(i * 7 + j * 3 + k) % len(WORDS)] for k in range(28)), *own])
        entries.append(f"<item><title>Feed {i} story {j}: {' '.join(words.split()[:8])}</title>"
                       f"<link>http://example.org/{i}/{j}</link><guid>{i}-{j}</guid>"
                       f"<pubDate>Tue, 24 Nov 2026 07:{j % 60:02d}:00 GMT</pubDate>"
                       f"<description>&lt;p&gt;{words}&lt;/p&gt;</description></item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {i}</title>'
            f"<link>http://example.org/{i}</link>{''.join(entries)}</channel></rss>")


def start_server(directory: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = 18000 + os.getpid() % 1000
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                             "--directory", str(directory)], stderr=log.open("wb"), stdout=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc, port


def database(kind: str, tmp: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}", None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(PG)
    with engine.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{PG}?options=-csearch_path%3D{schema}", schema


def scenario(kind: str, workers: int, feeds: int, port: int, tmp: Path) -> dict[str, float]:
    url, schema = database(kind, tmp)
    config = tmp / f"config-{kind}-{workers}"
    (config / "watchlists").mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "config" / "watchlists").glob("*.yaml"):
        (config / "watchlists" / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    if (ROOT / "config" / "lexicons").is_dir():
        import shutil
        shutil.copytree(ROOT / "config" / "lexicons", config / "lexicons", dirs_exist_ok=True)
    (config / "channels.yaml").write_text(yaml.safe_dump({"channels": {"console": {"urls": ["console://"]}}}))
    (config / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [
        {"url": f"http://127.0.0.1:{port}/f{i}.xml", "name": f"feed-{i:04}", "interval": "1h"}
        for i in range(feeds)]}))
    (config / "monitor.yaml").write_text(yaml.safe_dump({
        "database": url, "log": {"level": "warning", "format": "json"},
        # One process per worker (no parse pool): otherwise a single worker already uses both cores of this
        # machine and the comparison says nothing about adding workers.
        "polling": {"tick": "0.5s", "timeout": "20s", "concurrency": 16, "per_host": 16, "parse_workers": 0},
        "delivery": {"interval": "1h"},
        # Several workers on one host cannot share the health port (the second would fail to start).
        "http": {"enabled": False}}))
    env = {**os.environ, "MONITOR_DATABASE_URL": url}
    # Schema first, then every worker at once, so none gets a head start.
    subprocess.run([sys.executable, "-m", "monitor", "db", "upgrade", "--config", str(config)], env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    engine = create_engine(url)
    deadline = time.monotonic() + 600
    done = 0
    while time.monotonic() < deadline:
        with engine.connect() as c:
            done = c.execute(text("select count(*) from feeds where last_success_at is not null")).scalar() or 0
        if done >= feeds:
            break
        time.sleep(0.2)
    with engine.connect() as c:
        first, last = c.execute(text("select min(last_polled_at), max(last_success_at) from feeds")).one()
        finished = sorted(row[0] for row in c.execute(text("select last_success_at from feeds")))
        items = c.execute(text("select count(*) from items")).scalar()
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=60)
    engine.dispose()
    if isinstance(first, str):  # SQLite hands back text
        from datetime import datetime
        first, last = datetime.fromisoformat(first), datetime.fromisoformat(last)
        finished = [datetime.fromisoformat(f) for f in finished]
    p90 = (finished[int(len(finished) * 0.9) - 1] - first).total_seconds()
    # The earliest recorded poll is the end of the first fetch; the span is a slight underestimate
    # of one fetch, the same for every scenario.
    span = (last - first).total_seconds()
    if schema:
        e = create_engine(PG)
        with e.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        e.dispose()
    return {"span": span, "per_min": feeds / span * 60, "items": float(items or 0), "done": float(done),
            "p90_per_min": feeds * 0.9 / p90 * 60}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=600)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        docs = tmp / "docs"
        docs.mkdir()
        for i in range(args.feeds):
            (docs / f"f{i}.xml").write_text(feed_document(i), encoding="utf-8")
        log = tmp / "server.log"
        server, port = start_server(docs, log)
        results = {}
        try:
            for kind, workers in (("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 4)):
                before = log.read_text(errors="replace").count("GET /f")
                results[(kind, workers)] = r = scenario(kind, workers, args.feeds, port, tmp)
                lines = log.read_text(errors="replace").splitlines()
                polls = Counter(m.group(1) for line in lines if (m := re.search(r'"GET (/f\d+\.xml)', line)))
                requests = sum(polls.values()) - before
                r["double"] = requests - args.feeds
                print(f"{kind:<10} workers={workers}  {r['per_min']:8.0f} feeds/min  span {r['span']:6.1f}s  "
                      f"items {int(r['items'])}  feeds done {int(r['done'])}/{args.feeds}  "
                      f"double polls {int(r['double'])}  (first 90% of feeds: {r['p90_per_min']:.0f}/min)", flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
    one = results[("postgresql", 1)]["per_min"]
    print(f"\nPostgreSQL 2 workers / 1 worker: {results[('postgresql', 2)]['per_min'] / one:.2f}x (target >= 1.7)")
    print(f"PostgreSQL 4 workers / 1 worker: {results[('postgresql', 4)]['per_min'] / one:.2f}x (2 cores)")
    print(f"SQLite 1 worker / PostgreSQL 1 worker: {results[('sqlite', 1)]['per_min'] / one:.2f}x")


if __name__ == "__main__":
    main()
