"""A fast loopback feed server for the polling benchmark: N feeds of 50 items, ETag/304, keep-alive.

Runs in its own process (`python bench/feedserver.py PORTFILE N [--articles] [--rare=RATE]`) so its CPU is not
charged to the client being measured. GET /feed/<i>.xml serves feed i at its current version; GET /_bump/<i> adds
one new item to it. Bodies are generated once per version, deterministically (seeded per feed), and not
compressed. --rare sets RARE_RATE below.

With --articles (bench_fulltext.py), items link to their article pages on this server instead, as 50 news sites:
the same port on 127.0.0.2 to 127.0.0.51 (loopback addresses on Linux), so each site has its own host slots and
robots.txt. GET /article/<feed>/<n>.html is a news page of about 100 KB like a real one (scripts, navigation,
the story, related links, comments), generated on demand.
"""

from __future__ import annotations

import asyncio
import html
import json
import random
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import accumulate
from pathlib import Path

ITEMS = 50
# News-like text: words drawn at the frequencies of 10,000 real 2021-22 headlines (../shared/corpus), so story
# clustering sees a real vocabulary (a few dozen words would make every headline a near-duplicate of every
# other); without the corpus, a Zipf distribution over 20,000 made-up words. Escalation terms are injected
# at the rate a real news day has them.
HEADLINES = Path(__file__).resolve().parents[2] / "shared/corpus/news-other/fwd-news/headlines.json"
RARE = ("NATO", "Russia", "Moscow", "Kremlin", "Ukraine", "missile", "troops", "drone attack", "nuclear",
        "sanctions", "airspace violation", "mobilisation", "ultimatum", "escalation", "invasion", "blockade")
# Per word: 15% of items then score against bench_polling's watchlist and 3.5% reach a severity, as the English
# items of ../shared/corpus/news do against it (13% and 4%; all languages: 8% and 2%).
RARE_RATE = 0.002
EPOCH = datetime(2026, 3, 1, 12, tzinfo=UTC)
SITES = 50
article_port = 0  # with --articles: items link to /article/... on 127.0.0.<2 + feed % SITES>:<article_port>
ROBOTS = b"User-agent: *\nDisallow: /private/\nDisallow: /search\n"


def vocabulary() -> tuple[list[str], list[float]]:
    """(words, cumulative weights) for random.choices."""
    if HEADLINES.exists():
        punctuation = ".,:;!?\"'()[]\u2018\u2019\u201c\u201d"
        counts = Counter(word.strip(punctuation).lower() for headline in json.loads(HEADLINES.read_text())
                         for word in headline["title"].split())
        counts.pop("", None)
        # The escalation vocabulary comes in only through RARE: words drawn one by one lack a real item's topic
        # (a sports report does not mention Russia), so the headlines' own "russia", "strike" ... would make
        # half of all items score where a real news day has about one in ten.
        stems = tuple({word.lower() for term in RARE for word in term.split()} | {"escalat"})
        for word in [w for w in counts if w.startswith(stems)]:
            del counts[word]
        ranked = [w for w, _ in counts.most_common()]
        weights = [float(counts[w]) for w in ranked]
    else:
        syllables = ["ka", "lo", "mi", "ve", "ru", "no", "ta", "si", "de", "po", "gu", "fa", "be", "zo", "hi", "wy"]
        ranked = ["".join(syllables[(n >> (4 * k)) % 16] for k in range(4)) for n in range(20_000)]
        weights = [1 / (rank + 1) for rank in range(len(ranked))]
    return ranked, list(accumulate(weights))


WORDS, CUMULATIVE = vocabulary()


def words(rng: random.Random, n: int) -> str:
    drawn = rng.choices(WORDS, cum_weights=CUMULATIVE, k=n)
    return " ".join(rng.choice(RARE) if rng.random() < RARE_RATE else word for word in drawn)


def item(feed: int, n: int) -> str:
    rng = random.Random(feed * 100_003 + n)
    title = html.escape(words(rng, rng.randint(6, 12)).capitalize(), quote=False)
    paragraphs = "".join(f"<p>{words(rng, rng.randint(15, 40))}.</p>" for _ in range(rng.randint(1, 3)))
    summary = f'{paragraphs}<p><a href="/story/{feed}/{n}">Read more</a> <img src="/i/{n}.jpg" alt=""></p>'
    when = format_datetime(EPOCH + timedelta(minutes=20 * n - 5 * feed % 20))
    link = f"https://news{feed % 50}.example.org/{feed}/story-{n}.html?utm_source=rss&amp;utm_medium=feed"
    if article_port:
        link = f"http://127.0.0.{2 + feed % SITES}:{article_port}/article/{feed}/{n}.html?utm_source=rss"
    escaped = summary.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (f"<item><title>{title}</title><link>{link}</link><guid isPermaLink=\"false\">f{feed}-{n}</guid>"
            f"<pubDate>{when}</pubDate><description>{escaped}</description></item>")


def article(feed: int, n: int) -> bytes:
    """Item n's page: its title and summary's text, more paragraphs of the same kind, and a news site's chrome."""
    rng = random.Random(feed * 100_003 + n)
    title = html.escape(words(rng, rng.randint(6, 12)).capitalize(), quote=False)
    story = "".join(f"<p>{words(rng, rng.randint(15, 40))}.</p>" for _ in range(rng.randint(1, 3) + 8))
    menu = "".join(f'<li><a href="/section/{k}">{words(rng, 2)}</a></li>' for k in range(150))
    related = "".join(f'<li><a href="/article/{feed}/{k}.html">{words(rng, 8)}</a></li>' for k in range(20))
    comments = "".join(f'<div class="comment"><b>user{k}</b><p>{words(rng, 25)}</p></div>' for k in range(10))
    script = "window.__STATE__=" + repr([words(rng, 12) for _ in range(500)]) + ";"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title} | News {feed % SITES}'
            f"</title><script>{script}</script></head><body><header><nav><ul>{menu}</ul></nav></header><main>"
            f'<article><h1>{title}</h1><div class="byline">By Staff</div><div class="body">{story}</div></article>'
            f'<section class="related"><h2>Related</h2><ul>{related}</ul></section><section class="comments">'
            f"{comments}</section></main><footer>News {feed % SITES} (c) 2026</footer></body></html>").encode()


def document(feed: int, version: int) -> bytes:
    """The newest ITEMS items; each version adds one."""
    items = "".join(item(feed, n) for n in range(version + ITEMS - 1, version - 1, -1))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {feed}</title>'
            f"<link>https://news{feed % 50}.example.org/</link><description>bench feed</description>"
            f"<language>en</language>{items}</channel></rss>").encode()


class Feeds:
    def __init__(self, count: int) -> None:
        self.versions = [0] * count
        self.bodies: dict[tuple[int, int], bytes] = {}

    def body(self, feed: int) -> tuple[bytes, str]:
        key = (feed, self.versions[feed])
        if key not in self.bodies:
            self.bodies[key] = document(*key)
        return self.bodies[key], f'"{feed}-{key[1]}"'


async def handle(feeds: Feeds, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
            writer.write(respond(feeds, path, headers))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def respond(feeds: Feeds, path: str, headers: dict[str, str]) -> bytes:
    parts = path.strip("/").split("/")
    if parts[0] == "_bump" and len(parts) == 2:
        feeds.versions[int(parts[1])] += 1
        feeds.body(int(parts[1]))
        return b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
    if parts[0] == "robots.txt":
        return f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(ROBOTS)}\r\n\r\n".encode() + ROBOTS
    if parts[0] == "article" and len(parts) == 3:
        body = article(int(parts[1]), int(parts[2].split(".")[0]))
        return (f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
                .encode() + body)
    if parts[0] == "feed" and len(parts) == 2 and parts[1].removesuffix(".xml").isdigit():
        body, etag = feeds.body(int(parts[1].removesuffix(".xml")))
        if headers.get("if-none-match") == etag:
            return f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode()
        return (f"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\nETag: {etag}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


async def main(port_file: Path, count: int, articles: bool, rare: float | None) -> None:
    global article_port, RARE_RATE
    RARE_RATE = rare or RARE_RATE
    feeds = Feeds(count)
    server = await asyncio.start_server(lambda r, w: handle(feeds, r, w), "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    servers = [server]
    if articles:  # the sites on the same port of other loopback addresses (documents link to it: bound first)
        article_port = port
        hosts = [f"127.0.0.{2 + k}" for k in range(SITES)]
        servers.append(await asyncio.start_server(lambda r, w: handle(feeds, r, w), hosts, port, backlog=1024))
    for i in range(count):  # generate up front: the first client measured must not pay for it
        feeds.body(i)
    port_file.write_text(str(port))
    await asyncio.gather(*(s.serve_forever() for s in servers))


if __name__ == "__main__":
    rare = next((float(a.split("=")[1]) for a in sys.argv[3:] if a.startswith("--rare=")), None)
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), "--articles" in sys.argv[3:], rare))
