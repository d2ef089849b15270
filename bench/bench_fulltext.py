"""Full text for candidates (issue 18): what reading one candidate's article costs, and polling rounds with full
text on against off, in one run.

    .venv/bin/python bench/bench_fulltext.py [--feeds 1000] [--sample 200] [--corpus ../shared/corpus/news]

Cost per candidate, in one process: the article fetched on loopback (bench/feedserver.py --articles in its own
process; robots.txt once per site, then the page, through the service's Fetcher and ArticleFetcher), its main text
extracted (monitor.feeds.extract, trafilatura) from a news page of about 70 KB, and the item scored again on
headline, summary and article (bench_polling's watchlist). Fetch: wall time; extraction and scoring: CPU time.

Rounds: bench_polling's scenario A (every feed changed: 50 items each) and B (20% of feeds have one new item, the
rest answer 304), once with `fulltext: auto` and once with `fulltext: never`, each against its own server. Round B
runs twice, on copies of one database: in a fresh process, whose round loads the story index (once per process),
and in the steady state, the index loaded before the round as the daemon's preload loads it at start. Items
link to 50 "sites" (127.0.0.2 to .51, so each has its own host slots and robots.txt; the feeds themselves are on
127.0.0.1, hence polling.allow_private_networks). Escalation terms are injected into the bench feeds' text so
that their candidate rate is the news corpus's under the same watchlist (both printed). The machine has 2 cores,
shared with the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
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

from bench_polling import CONCURRENCY, WATCHLIST, emit, role  # noqa: E402

# Escalation words and actors injected into the bench feeds' text (bench/feedserver.py) at this rate make 20% of
# their items candidates under bench_polling's watchlist, as ../shared/corpus/news's are (19.8%); at the polling
# benchmark's own rate (0.002) 7% are.
RARE_RATE = 0.006


def role_cost(config_dir: str, base: str, feeds: str, sample: str) -> None:
    """Per candidate: fetch (wall), extract and rescore (CPU), on `sample` articles spread over the feeds."""
    from monitor.config import load_config
    from monitor.core.fulltext import article_document
    from monitor.core.scoring import Scorer
    from monitor.domain import Document
    from monitor.feeds.extract import read_page
    from monitor.feeds.parse import parse_feed

    items = []
    for i in range(int(feeds)):
        doc = urllib.request.urlopen(f"{base}/feed/{i}.xml").read()
        items += parse_feed(doc, feed=f"feed-{i}", url=f"{base}/feed/{i}.xml", now=datetime.now(UTC)).items[:3]
    items = random.Random(3).sample(items, min(int(sample), len(items)))
    pages, fetch = asyncio.run(_fetch_pages(base, [i.link for i in items]))
    t0 = time.process_time()
    texts = [read_page(p.content, p.url, p.content_type, 50_000).text for p in pages]
    extract = time.process_time() - t0
    scorer = Scorer(load_config(Path(config_dir), env={}).watchlists)
    t0 = time.process_time()
    for item, text in zip(items, texts, strict=True):
        scorer.score(article_document(item.title, item.summary, text))
    rescore = time.process_time() - t0
    t0 = time.process_time()
    for item in items:
        scorer.score(Document(item.title, item.summary))
    summary = time.process_time() - t0
    emit({"n": len(items), "fetch": fetch, "extract": extract, "rescore": rescore, "summary_score": summary,
          "page_bytes": sum(len(p.content) for p in pages) / len(pages),
          "text_chars": sum(map(len, texts)) / len(texts)})


async def _fetch_pages(base: str, links: list[str]) -> tuple[list[Any], float]:
    """One at a time, so the figure is one article's latency, not a throughput."""
    from monitor.feeds.article import ArticleFetcher, Page
    from monitor.feeds.fetch import Fetcher, FetchLimits

    fetcher = Fetcher(FetchLimits(allow_private_networks=True, per_host=CONCURRENCY, concurrency=CONCURRENCY))
    articles = ArticleFetcher(timeout=10.0, max_bytes=2_000_000)
    pages: list[Any] = []
    t0 = time.perf_counter()
    for link in links:
        page = await articles.page(fetcher, link, f"{base}/feed/0.xml")
        assert isinstance(page, Page), page
        pages.append(page)
    wall = time.perf_counter() - t0
    await fetcher.aclose()
    return pages, wall


def role_corpus(config_dir: str, corpus: str) -> None:
    """The share of the news corpus's items that are candidates under bench_polling's watchlist."""
    from bench_scoring import load_items

    from monitor.config import load_config
    from monitor.core.fulltext import wants_article
    from monitor.core.scoring import Scorer

    docs = load_items(Path(corpus))
    scorer = Scorer(load_config(Path(config_dir), env={}).watchlists)
    candidates = sum(wants_article("auto", scorer.score(d)) for d in docs)
    emit({"items": len(docs), "candidates": candidates})


ROLES = {"cost": role_cost, "corpus": role_corpus}


def own_role(name: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--role", name, *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"role {name} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    line = next(line for line in out.stdout.splitlines() if line.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line[7:])
    return result


def start_server(directory: Path, feeds: int) -> tuple[subprocess.Popen[bytes], str]:
    port_file = directory / "port"
    server = subprocess.Popen([sys.executable, str(HERE / "feedserver.py"), str(port_file), str(feeds), "--articles",
                               f"--rare={RARE_RATE}"])
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port_file.read_text()}"


def write_config(directory: Path, base: str, feeds: int, fulltext: str) -> Path:
    from tests.support.configdir import write_config as write

    return write(directory, feeds=[{"name": f"feed-{i}", "url": f"{base}/feed/{i}.xml", "fulltext": fulltext}
                                   for i in range(feeds)],
                 watchlists={"bench": WATCHLIST},
                 settings={"log": {"level": "warning", "format": "json"},
                           "polling": {"concurrency": CONCURRENCY, "per_host": CONCURRENCY, "min_interval": "1m",
                                       "allow_private_networks": True}})


def statuses(config: Path) -> dict[str, int]:
    """How reading went for the items of a round (article_status up to its first colon)."""
    import sqlite3

    db = sqlite3.connect(config / "monitor.db")
    rows = db.execute("select substr(article_status, 1, instr(article_status || ':', ':') - 1), count(*) "
                      "from items where article_status is not null group by 1").fetchall()
    db.close()
    return dict(rows)


def run_all(work: Path, n: int, sample: int, corpus: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    servers = {mode: start_server(work / mode, n) for mode in ("auto", "never") if (work / mode).mkdir() is None}
    try:
        configs = {mode: write_config(work / mode / "config", base, n, mode) for mode, (_, base) in servers.items()}
        results["cost"] = own_role("cost", str(configs["never"]), servers["never"][1], str(min(n, 100)), str(sample))
        for mode in ("never", "auto"):
            results[f"A_{mode}"] = role("ours", str(configs[mode]), "A")
        results["A_statuses"] = statuses(configs["auto"])
        changed = random.Random(1).sample(range(n), n // 5)
        for _, base in servers.values():
            for i in changed:
                urllib.request.urlopen(f"{base}/_bump/{i}").read()
        for mode in ("never", "auto"):  # round B twice on copies of one database: a fresh process, a steady one
            steady = configs[mode].parent / "steady"
            shutil.copytree(configs[mode], steady / "config")
            settings = steady / "config" / "monitor.yaml"  # its database is the copy's, not the original's
            moved = settings.read_text("utf-8").replace(str(configs[mode]), str(steady / "config"))
            settings.write_text(moved, "utf-8")
            results[f"B_{mode}"] = role("ours", str(configs[mode]), "B")
            results[f"Bsteady_{mode}"] = role("ours", str(steady / "config"), "B-steady")
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait()
    if corpus.is_dir():
        results["corpus"] = own_role("corpus", str(configs["never"]), str(corpus))
    return results


def report(r: dict[str, Any], n: int) -> None:
    c = r["cost"]
    per = {k: c[k] / c["n"] * 1000 for k in ("fetch", "extract", "rescore", "summary_score")}
    print(f"\nCost per candidate ({c['n']} articles, pages of {c['page_bytes'] / 1000:.0f} KB, main text "
          f"{c['text_chars']:.0f} characters):")
    print(f"  fetch on loopback (wall)   {per['fetch']:7.2f} ms   (robots.txt once per site included)")
    print(f"  main text (CPU)            {per['extract']:7.2f} ms")
    print(f"  scoring again (CPU)        {per['rescore']:7.2f} ms   (headline and summary alone: "
          f"{per['summary_score']:.3f} ms)")
    print(f"  total                      {per['fetch'] + per['extract'] + per['rescore']:7.2f} ms")
    for scenario, what in (("A", "every feed changed"), ("B", "20% of feeds have one new item, the rest answer 304, "
                                                         "in a fresh process (the round loads the story index)"),
                           ("Bsteady", "round B again on a copy of the database, the story index loaded before "
                                       "the round as the daemon's preload loads it at start")):
        off, on = r[f"{scenario}_never"], r[f"{scenario}_auto"]
        rate = on["articles"] / on["new_items"] if on["new_items"] else 0.0
        print(f"\nRound {scenario}, {n} feeds: {what}")
        print(f"  full text off  wall {off['wall']:6.2f} s  cpu {off['cpu']:6.2f} s  new items {off['new_items']}")
        print(f"  full text on   wall {on['wall']:6.2f} s  cpu {on['cpu']:6.2f} s  new items {on['new_items']}  "
              f"articles {on['articles']} tried, {on['articles_read']} read ({rate:.1%} of new items)")
        target = "  (target: round B under 3 s)" if scenario.startswith("B") else ""
        print(f"  -> on/off {on['wall'] / off['wall']:.2f}x wall, {on['cpu'] / off['cpu']:.2f}x cpu{target}")
        if scenario == "A":
            print(f"  articles by status: {r['A_statuses']}")
    if "corpus" in r:
        k = r["corpus"]
        print(f"\nCandidate rate of the news corpus under this watchlist: {k['candidates']} of {k['items']} items "
              f"({k['candidates'] / k['items']:.1%})")
    print("\nRESULTS " + json.dumps(r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=200, help="articles for the cost per candidate")
    parser.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus" / "news")
    parser.add_argument("--role", choices=ROLES)
    args, rest = parser.parse_known_args()
    if args.role:
        ROLES[args.role](*rest)
        return
    with tempfile.TemporaryDirectory(prefix="bench-fulltext-") as tmp:
        report(run_all(Path(tmp), args.feeds, args.sample, args.corpus), args.feeds)


if __name__ == "__main__":
    main()
