"""Reading an item's article (issue 18) against real loopback servers: news-site pages give their main text and
nothing around it; robots.txt is honoured; a huge or endless page is cut off; a public feed's article cannot lead
the fetcher to a private address.

As in test_private_networks, 127.0.0.1 stands for "the internet" where a test needs a public feed (`is_public`),
and a server on 127.0.0.2 for the internal service a hostile feed points at.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.core.fulltext import ArticleText
from monitor.core.urls import is_public_address
from monitor.feeds.addresses import getaddrinfo
from monitor.feeds.article import ArticleFetcher, Page
from monitor.feeds.extract import read_page
from monitor.feeds.fetch import Fetcher, FetchLimits
from tests.support.rawserver import RawServer
from tests.support.servers import HttpServer, InternalServer, Request, Response

ARTICLES = Path(__file__).resolve().parents[1] / "data" / "articles"
LIMITS = FetchLimits(timeout=2, deadline=5, max_redirects=3, user_agent="escalation-monitor/0.1 (+test)")
MAX_BYTES = 2_000_000
NAMES = {"news.test": ["127.0.0.1"]}
HTML = {"Content-Type": "text/html; charset=utf-8"}


async def resolve(host: str, port: int) -> list[str]:
    return NAMES[host] if host in NAMES else await getaddrinfo(host, port)


def public_loopback(address: str) -> bool:
    return address == "127.0.0.1" or is_public_address(address)


def read(*urls: str, origin: str, timeout: float = 3.0, public: bool = False,
         articles: ArticleFetcher | None = None) -> list[Page | ArticleText]:
    """Read the articles concurrently, as a poll does, with one Fetcher; `public`: 127.0.0.1 counts as public."""
    async def go() -> list[Page | ArticleText]:
        fetcher = Fetcher(LIMITS, resolve=resolve, is_public=public_loopback if public else is_public_address)
        reader = articles or ArticleFetcher(timeout=timeout, max_bytes=MAX_BYTES)
        try:
            return list(await asyncio.gather(*(reader.page(fetcher, url, origin) for url in urls)))
        finally:
            await fetcher.aclose()
    return asyncio.run(go())


def article(page: Page | ArticleText) -> ArticleText:
    assert isinstance(page, Page), page
    return read_page(page.content, page.url, page.content_type, 50_000)




@pytest.fixture
def internal() -> Iterator[HttpServer]:
    server = InternalServer().start()
    server.routes["/admin"] = Response(200, (ARTICLES / "dispatch.html").read_bytes(), HTML)
    yield server
    server.stop()


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer().start()
    yield server
    server.stop()


# --- the main text of news-site pages ---


@pytest.mark.parametrize(("name", "content_type"), [
    ("dispatch", "text/html; charset=utf-8"),  # a newspaper: cookie banner, nav, share tools, ads, related, comments
    ("wire", "text/html"),  # a wire service's component blocks, a quote, "more on this story", a sidebar
    ("region-ru-cp1251", "text/html; charset=windows-1251"),  # a Russian regional site in its own charset
    ("region-ru-cp1251", "text/html"),  # the same, the charset named only by the page's <meta>
    ("blog-de", "text/html; charset=UTF-8"),  # a WordPress blog: widgets, related posts, a threaded comment list
])
def test_news_pages_give_their_main_text_and_nothing_around_it(feed_server: HttpServer, name: str,
                                                                content_type: str) -> None:
    feed_server.routes[f"/{name}"] = Response(200, (ARTICLES / f"{name}.html").read_bytes(),
                                              {"Content-Type": content_type})
    (page,) = read(feed_server.url(f"/{name}"), origin=feed_server.url("/feed.xml"))
    got = article(page)
    assert got.status == "read"
    assert got.text == (ARTICLES / f"{name}.txt").read_text(encoding="utf-8").strip()
    request = feed_server.hits(f"/{name}")[0]
    assert request.headers["user-agent"] == LIMITS.user_agent and "text/html" in request.headers["accept"]


def test_a_paywalled_page_and_a_page_without_text_say_so(feed_server: HttpServer) -> None:
    feed_server.routes["/paid"] = Response(200, (ARTICLES / "paywall.html").read_bytes(), HTML)
    feed_server.routes["/video"] = Response(200, b"<html><body><nav><a href='/'>Home</a></nav><video src='v.mp4'>"
                                                 b"</video><p>Watch</p></body></html>", HTML)
    feed_server.routes["/report.pdf"] = Response(200, b"%PDF-1.7", {"Content-Type": "application/pdf"})
    paid, video, pdf = read(*(feed_server.url(p) for p in ("/paid", "/video", "/report.pdf")),
                            origin=feed_server.url("/feed.xml"))
    assert article(paid).status == "paywalled"
    assert article(video).status == "no_text"
    assert pdf == ArticleText("not_html", detail="application/pdf")


def test_main_text_is_bounded_at_a_word() -> None:
    sentence = "Paragraph {} of a very long report on the war in the east."
    body = "".join(f"<p>{sentence.format(n) * 4}</p>" for n in range(2000))
    got = read_page(f"<html><body><article>{body}</article></body></html>".encode(), "http://x.test/a", "text/html",
                    50_000)
    assert got.status == "read" and 49_000 < len(got.text.encode()) <= 50_000
    words = set(sentence.format(0).split()) | {f"{n}" for n in range(2000)}
    assert got.text.split()[-1] in words  # whole words only


# --- robots.txt ---


def test_robots_txt_disallow_is_honoured_and_asked_once_per_host(feed_server: HttpServer) -> None:
    feed_server.routes["/robots.txt"] = Response(200, b"User-agent: otherbot\nDisallow: /\n\n"
                                                      b"User-agent: *\nDisallow: /private/\n",
                                                 {"Content-Type": "text/plain"})
    paths = ("/news/1", "/news/2", "/private/1", "/private/2")
    for path in paths:
        feed_server.routes[path] = Response(200, (ARTICLES / "dispatch.html").read_bytes(), HTML)
    pages = read(*(feed_server.url(p) for p in paths), origin=feed_server.url("/feed.xml"))
    assert [article(p).status for p in pages[:2]] == ["read", "read"]
    assert pages[2:] == [ArticleText("disallowed", detail=f"robots.txt of http://127.0.0.1:{feed_server.port}")] * 2
    assert feed_server.hits("/private/1") == feed_server.hits("/private/2") == []
    assert len(feed_server.hits("/robots.txt")) == 1  # four articles read at once, one robots.txt


def test_a_robots_txt_group_for_this_user_agent_is_the_one_obeyed(feed_server: HttpServer) -> None:
    feed_server.routes["/robots.txt"] = Response(200, b"User-agent: escalation-monitor\nDisallow: /members/\n\n"
                                                      b"User-agent: *\nDisallow: /\n")
    for path in ("/news/1", "/members/1"):
        feed_server.routes[path] = Response(200, (ARTICLES / "wire.html").read_bytes(), HTML)
    news, members = read(feed_server.url("/news/1"), feed_server.url("/members/1"), origin=feed_server.url("/f"))
    assert isinstance(news, Page) and isinstance(members, ArticleText) and members.status == "disallowed"


@pytest.mark.parametrize(("answer", "allowed"), [
    (Response(404, b"not found"), True),  # RFC 9309: unavailable, everything allowed
    (Response(403, b"forbidden"), True),
    (Response(500, b"oops"), False),  # unreachable: nothing allowed until asked again
    (Response(429, b"slow down"), False),
])
def test_robots_txt_that_cannot_be_read(feed_server: HttpServer, answer: Response, allowed: bool) -> None:
    feed_server.routes["/robots.txt"] = answer
    feed_server.routes["/news/1"] = Response(200, (ARTICLES / "dispatch.html").read_bytes(), HTML)
    (page,) = read(feed_server.url("/news/1"), origin=feed_server.url("/feed.xml"))
    assert isinstance(page, Page) is allowed
    assert len(feed_server.hits("/news/1")) == (1 if allowed else 0)


def test_robots_txt_is_cached_until_it_expires(feed_server: HttpServer) -> None:
    feed_server.routes["/robots.txt"] = Response(200, b"User-agent: *\nDisallow: /old/\n")
    feed_server.routes["/old/1"] = Response(200, (ARTICLES / "wire.html").read_bytes(), HTML)
    now = [0.0]
    articles = ArticleFetcher(timeout=3, max_bytes=MAX_BYTES, clock=lambda: now[0])
    url, origin = feed_server.url("/old/1"), feed_server.url("/feed.xml")
    assert read(url, origin=origin, articles=articles)[0].status == "disallowed"  # type: ignore[union-attr]
    feed_server.routes["/robots.txt"] = Response(200, b"User-agent: *\nDisallow:\n")
    now[0] += 3600
    assert isinstance(read(url, origin=origin, articles=articles)[0], ArticleText)
    now[0] += 24 * 3600
    assert isinstance(read(url, origin=origin, articles=articles)[0], Page)
    assert len(feed_server.hits("/robots.txt")) == 2


# --- caps ---


def _declared_50mb(sent: list[int]) -> object:
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 52428800\r\n\r\n<html><body>")
        block = b"<p>" + b"escalation " * 6000 + b"</p>"
        while not stop.is_set() and sent[0] < 52_428_800:
            conn.sendall(block)
            sent[0] += len(block)
    return script


def _endless_html(sent: list[int]) -> object:
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
        block = b"<p>" + b"the page that never ends " * 2000 + b"</p>"
        chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n"
        while not stop.is_set():
            conn.sendall(chunk)
            sent[0] += len(block)
    return script


@pytest.mark.parametrize("route", [_declared_50mb, _endless_html])
def test_a_50_mb_or_never_ending_page_is_cut_off(raw: RawServer, route: object) -> None:
    sent = [0]
    raw.routes["/huge"] = route(sent)  # type: ignore[operator]
    started = time.monotonic()
    (page,) = read(raw.url("/huge"), origin=raw.url("/feed.xml"))
    assert isinstance(page, ArticleText) and page.status == "failed" and page.detail.startswith("too_large")
    assert time.monotonic() - started < 4
    time.sleep(0.2)
    assert sent[0] < 20_000_000  # the client hung up long before 50 MB (what was sent sat in socket buffers)


def test_a_trickling_page_hits_the_article_timeout(raw: RawServer) -> None:
    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n")
        while not stop.is_set():
            conn.sendall(b"1\r\n \r\n")
            time.sleep(0.05)
    raw.routes["/slow"] = trickle
    started = time.monotonic()
    (page,) = read(raw.url("/slow"), origin=raw.url("/feed.xml"), timeout=1.0)
    assert isinstance(page, ArticleText) and page.status == "failed" and page.detail.startswith("timeout")
    assert time.monotonic() - started < 3


# --- the private-network rule ---


def test_a_public_feeds_article_redirecting_to_a_private_address_is_refused(
        feed_server: HttpServer, internal: HttpServer) -> None:
    feed_server.routes["/news/1"] = Response(302, b"", {"Location": internal.url("/admin")})
    origin = f"http://news.test:{feed_server.port}/feed.xml"
    (page,) = read(f"http://news.test:{feed_server.port}/news/1", origin=origin, public=True)
    assert isinstance(page, ArticleText) and page.status == "failed"
    assert page.detail.startswith("blocked") and "127.0.0.2 is not a public address" in page.detail
    assert len(feed_server.hits("/news/1")) == 1 and internal.requests == []


def test_a_public_feeds_article_on_a_private_address_is_refused_unsent(internal: HttpServer) -> None:
    (page,) = read(internal.url("/admin"), origin="http://news.test/feed.xml", public=True)
    assert isinstance(page, ArticleText) and page.detail.startswith("blocked")
    assert internal.requests == []  # neither the article nor its robots.txt


def test_an_internal_feeds_article_on_its_own_host_is_read_but_not_elsewhere(internal: HttpServer,
                                                                              feed_server: HttpServer) -> None:
    on_its_host, = read(internal.url("/admin"), origin=internal.url("/feed.xml"), public=True)
    assert isinstance(on_its_host, Page)
    feed_server.routes["/x"] = Response(200, b"<html></html>", HTML)
    # the feed is internal (127.0.0.2), its item links to another private host: refused
    elsewhere, = read(f"http://127.0.0.3:{feed_server.port}/x", origin=internal.url("/feed.xml"))
    assert isinstance(elsewhere, ArticleText) and elsewhere.detail.startswith("blocked")


def test_requests_carry_the_article_accept_header_not_the_feeds(feed_server: HttpServer) -> None:
    seen: list[Request] = []

    def page(request: Request) -> Response:
        seen.append(request)
        return Response(200, (ARTICLES / "wire.html").read_bytes(), HTML)
    feed_server.routes["/a"] = page
    read(feed_server.url("/a"), origin=feed_server.url("/feed.xml"))
    assert seen[0].headers["accept"].startswith("text/html")


def test_a_site_that_does_not_answer_is_a_failure_not_a_disallow(raw: RawServer) -> None:
    raw.routes["/robots.txt"] = lambda conn, stop: stop.wait(5)  # accepts, then says nothing
    started = time.monotonic()
    (page,) = read(raw.url("/news/1"), origin=raw.url("/feed.xml"), timeout=1.0)
    assert isinstance(page, ArticleText) and page.status == "failed"
    assert page.detail.startswith("timeout") and page.detail.endswith("(robots.txt)")
    assert time.monotonic() - started < 3 and raw.paths == ["/robots.txt"]
