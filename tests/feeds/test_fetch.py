"""The fetcher against real loopback servers: every way a feed server goes wrong ends in a FetchError that
says what happened, within the limits, and the client keeps working afterwards."""

from __future__ import annotations

import asyncio
import gzip
import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime

import brotli
import pytest

from monitor.domain import parse_retry_after
from monitor.errors import FetchError
from monitor.feeds.fetch import Fetcher, FetchLimits, FetchResult
from tests.support.rawserver import RawServer, endless, slow_headers, trickle
from tests.support.servers import HttpServer, Request, Response

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
LIMITS = FetchLimits(timeout=0.5, deadline=1.5, max_bytes=200_000, max_redirects=3, user_agent="test-agent/1.0")


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer().start()
    yield server
    server.stop()


def fetch(url: str, limits: FetchLimits = LIMITS, **kw: str | None) -> FetchResult:
    async def go() -> FetchResult:
        fetcher = Fetcher(limits)
        try:
            return await fetcher.fetch(url, **kw)
        finally:
            await fetcher.aclose()
    return asyncio.run(go())


def failure(url: str, limits: FetchLimits = LIMITS) -> FetchError:
    with pytest.raises(FetchError) as caught:
        fetch(url, limits)
    assert caught.value.url == url
    return caught.value


def test_ok_sends_user_agent_and_encodings(feed_server: HttpServer) -> None:
    feed_server.routes["/f"] = Response(200, FEED, {"Content-Type": "application/rss+xml; charset=utf-8",
                                                    "ETag": '"v1"', "Cache-Control": "public, max-age=900"})
    result = fetch(feed_server.url("/f"))
    assert (result.status, result.content, result.etag, result.max_age) == (200, FEED, '"v1"', 900)
    headers = feed_server.hits("/f")[0].headers
    assert headers["user-agent"] == "test-agent/1.0"
    assert {"gzip", "deflate", "br"} <= {e.strip() for e in headers["accept-encoding"].split(",")}


def test_conditional_get_sends_validators_and_takes_304(feed_server: HttpServer) -> None:
    def route(req: Request) -> Response:
        if req.headers.get("if-none-match") == '"v1"':
            return Response(304, b"", {"ETag": '"v1"'})
        return Response(200, FEED, {"ETag": '"v1"'})
    feed_server.routes["/f"] = route
    result = fetch(feed_server.url("/f"), etag='"v1"', last_modified="Tue, 01 Jan 2026 00:00:00 GMT")
    assert result.not_modified and result.content == b""
    sent = feed_server.hits("/f")[0].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Tue, 01 Jan 2026 00:00:00 GMT"


@pytest.mark.parametrize(("encoding", "encode"), [
    ("gzip", gzip.compress), ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b)[2:-4]),  # raw deflate, as some servers send it
    ("br", brotli.compress), ("gzip, br", lambda b: brotli.compress(gzip.compress(b))),
])
def test_compressed_bodies(feed_server: HttpServer, encoding: str, encode: object) -> None:
    assert callable(encode)
    feed_server.routes["/f"] = Response(200, encode(FEED * 50), {"Content-Encoding": encoding})
    assert fetch(feed_server.url("/f")).content == FEED * 50


@pytest.mark.parametrize("encoding", ["gzip", "br", "deflate"])
def test_decompression_bombs_stop_at_the_cap(feed_server: HttpServer, encoding: str) -> None:
    zeros = b"\0" * 50_000_000  # 250 times the cap; a few kB compressed (a few bytes with brotli)
    body = {"gzip": lambda: gzip.compress(zeros, 1), "br": lambda: brotli.compress(zeros, quality=1),
            "deflate": lambda: zlib.compress(zeros, 1)}[encoding]()
    feed_server.routes["/bomb"] = Response(200, body, {"Content-Encoding": encoding})
    error = failure(feed_server.url("/bomb"))
    assert error.kind == "too_large" and error.status == 200


def test_declared_length_over_the_cap_is_not_read(feed_server: HttpServer) -> None:
    feed_server.routes["/big"] = Response(200, b"x" * 300_000)
    error = failure(feed_server.url("/big"))
    assert error.kind == "too_large" and "Content-Length 300000" in str(error)


def test_endless_body_stops_at_the_cap(raw: RawServer) -> None:
    raw.routes["/endless"] = endless()
    assert failure(raw.url("/endless")).kind == "too_large"


def test_slow_headers_time_out(raw: RawServer) -> None:
    raw.routes["/slow"] = slow_headers(5)
    error = failure(raw.url("/slow"))
    assert error.kind == "timeout" and "ReadTimeout" in str(error)


def test_a_body_that_never_ends_hits_the_total_deadline(raw: RawServer) -> None:
    raw.routes["/trickle"] = trickle(0.05)  # each byte within the read timeout, so only the deadline helps
    started = time.monotonic()
    error = failure(raw.url("/trickle"))
    assert error.kind == "timeout" and "deadline" in str(error)
    assert time.monotonic() - started < 10  # generous: only proves it ended


def test_connection_refused() -> None:
    from tests.support.servers import free_port

    error = failure(f"http://127.0.0.1:{free_port()}/f")
    assert error.kind == "connect"


def test_permanent_redirects_report_the_new_url(feed_server: HttpServer) -> None:
    feed_server.routes["/old"] = Response(301, b"", {"Location": "/newer"})
    feed_server.routes["/newer"] = Response(308, b"", {"Location": feed_server.url("/new")})
    feed_server.routes["/new"] = Response(200, FEED)
    result = fetch(feed_server.url("/old"))
    assert result.url == feed_server.url("/new") and result.moved_to == feed_server.url("/new")


def test_temporary_redirects_do_not_move_the_feed(feed_server: HttpServer) -> None:
    feed_server.routes["/a"] = Response(301, b"", {"Location": "/b"})
    feed_server.routes["/b"] = Response(302, b"", {"Location": "/c"})
    feed_server.routes["/c"] = Response(200, FEED)
    feed_server.routes["/t"] = Response(307, b"", {"Location": "/c"})
    assert fetch(feed_server.url("/a")).moved_to == feed_server.url("/b")  # only the permanent part
    result = fetch(feed_server.url("/t"))
    assert result.moved_to is None and result.url == feed_server.url("/c")


def test_redirect_loop_and_cap(feed_server: HttpServer) -> None:
    feed_server.routes["/x"] = Response(302, b"", {"Location": "/y"})
    feed_server.routes["/y"] = Response(302, b"", {"Location": "/x"})
    loop = failure(feed_server.url("/x"))
    assert loop.kind == "redirects" and "loop" in str(loop)
    for i in range(10):
        feed_server.routes[f"/hop{i}"] = Response(302, b"", {"Location": f"/hop{i + 1}"})
    capped = failure(feed_server.url("/hop0"))
    assert capped.kind == "redirects" and "more than 3 redirects" in str(capped)
    assert len(feed_server.hits("/hop4")) == 0  # stopped at the cap, not after


def test_redirect_to_another_scheme_is_refused(feed_server: HttpServer) -> None:
    feed_server.routes["/f"] = Response(301, b"", {"Location": "file:///etc/passwd"})
    assert failure(feed_server.url("/f")).kind == "redirects"


def test_304s_and_redirects_keep_the_connection_for_the_next_request(feed_server: HttpServer) -> None:
    """Steady state is mostly 304s: each must not cost the feed's host a new TCP (and TLS) handshake."""
    feed_server.routes["/f"] = lambda req: (Response(304, b"", {"ETag": '"v1"'})
                                            if req.headers.get("if-none-match") == '"v1"'
                                            else Response(200, FEED, {"ETag": '"v1"'}))
    feed_server.routes["/old"] = Response(301, b"moved to /f" * 100, {"Location": "/f"})

    async def go() -> list[int]:
        fetcher = Fetcher(FetchLimits(concurrency=1, per_host=1))
        try:
            first = await fetcher.fetch(feed_server.url("/f"))
            again = [await fetcher.fetch(feed_server.url("/f"), etag=first.etag) for _ in range(3)]
            moved = await fetcher.fetch(feed_server.url("/old"), etag=first.etag)
            return [first.status, *(r.status for r in again), moved.status]
        finally:
            await fetcher.aclose()
    assert asyncio.run(go()) == [200, 304, 304, 304, 304]
    assert len(feed_server.requests) == 6  # the redirect and its target included
    assert len({r.peer for r in feed_server.requests}) == 1



@pytest.mark.parametrize(("status", "kind"), [(404, "http"), (500, "http"), (502, "http"), (410, "gone"),
                                              (429, "throttled"), (503, "throttled"), (401, "http")])
def test_status_kinds(feed_server: HttpServer, status: int, kind: str) -> None:
    feed_server.routes["/f"] = Response(status, b"nope", {"Retry-After": "120"})
    error = failure(feed_server.url("/f"))
    assert (error.kind, error.status, error.retry_after) == (kind, status, 120)
    assert f"HTTP {status}" in str(error)


def test_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Thu, 01 Jan 2026 12:05:00 GMT", now) == 300
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None, now) is None


def test_per_host_and_global_concurrency_limits(feed_server: HttpServer) -> None:
    active, peak, lock = [0], [0], threading.Lock()

    def slow(_req: Request) -> Response:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return Response(200, FEED)

    feed_server.routes["/f"] = slow
    limits = FetchLimits(timeout=5, deadline=10, concurrency=8, per_host=3)

    async def go() -> None:
        fetcher = Fetcher(limits)
        try:
            await asyncio.gather(*(fetcher.fetch(feed_server.url(f"/f?{i}")) for i in range(12)))
        finally:
            await fetcher.aclose()
    asyncio.run(go())
    assert peak[0] == 3
