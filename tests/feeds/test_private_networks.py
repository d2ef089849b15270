"""A public feed cannot lead the fetcher to this machine or a private network (issue 16, row 3), on real loopback
servers: every request below is really sent, or provably never sent.

This machine has no public address to serve from, so the tests draw the line inside loopback: 127.0.0.1 stands
for "the internet" (`is_public` below), and a second server on 127.0.0.2 (loopback too on Linux, but not public
by the real rules) stands for the internal service a hostile feed points at. Names resolve through a small table
(`resolve`), falling back to the system resolver; both are real parameters of the Fetcher.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.core.urls import is_loopback_host, is_public_address
from monitor.errors import FetchError
from monitor.feeds.addresses import getaddrinfo
from monitor.feeds.fetch import Fetcher, FetchLimits, FetchResult
from monitor.store.db import make_engine
from monitor.store.migrate import current_revision, head_revision, upgrade
from monitor.usecases import poll
from monitor.usecases.context import Runtime
from monitor.web import queries
from tests.support.polling import Clock, feed_row, make_runtime, news_items, rss
from tests.support.servers import HttpServer, InternalServer, Response

LIMITS = FetchLimits(timeout=2, deadline=5, max_redirects=3)
NAMES = {"news.test": ["127.0.0.1"], "intranet.test": ["127.0.0.2"], "mixed.test": ["127.0.0.1", "127.0.0.2"]}
SECRET = b"<rss version='2.0'><channel><title>internal admin</title></channel></rss>"


async def resolve(host: str, port: int) -> list[str]:
    return NAMES[host] if host in NAMES else await getaddrinfo(host, port)


def is_public(address: str) -> bool:
    return address == "127.0.0.1" or is_public_address(address)




@pytest.fixture
def internal() -> Iterator[HttpServer]:
    server = InternalServer().start()
    server.routes["/secret"] = Response(200, SECRET, {"Content-Type": "application/rss+xml"})
    yield server
    server.stop()


def fetch_all(*urls: str, limits: FetchLimits = LIMITS) -> list[FetchResult | FetchError]:
    """Fetch in turn with one Fetcher (its pools kept between fetches); errors returned, not raised."""
    async def go() -> list[FetchResult | FetchError]:
        fetcher = Fetcher(limits, resolve=resolve, is_public=is_public)
        out: list[FetchResult | FetchError] = []
        try:
            for url in urls:
                try:
                    out.append(await fetcher.fetch(url))
                except FetchError as exc:
                    out.append(exc)
        finally:
            await fetcher.aclose()
        return out
    return asyncio.run(go())


def blocked(url: str) -> FetchError:
    (error,) = fetch_all(url)
    assert isinstance(error, FetchError), error
    assert error.kind == "blocked", error
    return error


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.215.14", True), ("2606:4700::1111", True), ("::ffff:93.184.215.14", True), ("64:ff9b::5db8:d70e", True),
    ("127.0.0.1", False), ("127.8.9.10", False), ("::1", False), ("0.0.0.0", False), ("0.1.2.3", False),
    ("::", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False), ("100.64.0.1", False),
    ("169.254.169.254", False), ("fe80::1%eth0", False), ("fd00:ec2::254", False), ("fec0::1", False),
    ("224.0.0.1", False), ("255.255.255.255", False), ("198.18.0.1", False), ("192.0.2.1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:169.254.169.254", False), ("64:ff9b::a00:1", False),
    ("2002:7f00:1::", False), ("::7f00:1", False), ("feeds.example.org", False), ("", False),
])
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_loopback_hosts() -> None:
    assert all(is_loopback_host(h) for h in ("127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", "a.localhost."))
    assert not any(is_loopback_host(h) for h in ("0.0.0.0", "::", "10.0.0.1", "monitor.internal", ""))


def test_redirect_of_a_public_feed_to_an_internal_address_is_refused_unsent(
        feed_server: HttpServer, internal: HttpServer) -> None:
    feed_server.routes["/feed"] = Response(301, b"", {"Location": internal.url("/secret")})
    error = blocked(feed_server.url("/feed"))
    assert f"redirect to {internal.url('/secret')}: 127.0.0.2 is not a public address" in str(error)
    assert "polling.allow_private_networks" in str(error)
    assert len(feed_server.hits("/feed")) == 1 and internal.requests == []


@pytest.mark.parametrize("host", [
    "intranet.test",  # a name that resolves to an internal address
    "mixed.test",  # one public and one internal address: the connect could take either
    "2130706434",  # 127.0.0.2 written as one number: resolved by the system resolver, refused all the same
    "[::ffff:127.0.0.2]",  # IPv4-mapped IPv6
])
def test_every_hop_and_resolved_address_is_checked(feed_server: HttpServer, internal: HttpServer, host: str) -> None:
    target = f"http://{host}:{internal.port}/secret"
    feed_server.routes["/feed"] = Response(302, b"", {"Location": "/hop"})  # the internal hop comes second
    feed_server.routes["/hop"] = Response(307, b"", {"Location": target})
    error = blocked(feed_server.url("/feed"))
    assert f"redirect to {target}" in str(error) and "not a public address" in str(error)
    assert internal.requests == []


def test_a_public_name_that_resolves_to_an_internal_address_is_refused(internal: HttpServer) -> None:
    error = blocked(f"http://intranet.test:{internal.port}/secret")  # DNS rebinding: the feed's own name
    assert "intranet.test resolves to 127.0.0.2, not a public address" in str(error)
    assert not str(error).startswith("blocked: redirect") and internal.requests == []


def test_public_hops_are_followed_through_the_checked_connection(feed_server: HttpServer) -> None:
    feed_server.routes["/feed"] = Response(301, b"", {"Location": f"http://news.test:{feed_server.port}/new"})
    feed_server.routes["/new"] = Response(200, SECRET)
    (result,) = fetch_all(feed_server.url("/feed"))
    assert isinstance(result, FetchResult) and result.content == SECRET
    assert result.moved_to == f"http://news.test:{feed_server.port}/new"
    assert feed_server.hits("/new")[0].headers["host"] == f"news.test:{feed_server.port}"  # the name, not the IP


def test_an_internal_feed_may_use_internal_addresses(feed_server: HttpServer, internal: HttpServer) -> None:
    """The operator's own URL is internal: its redirects to internal addresses are followed."""
    internal.routes["/feed"] = Response(301, b"", {"Location": f"http://localhost:{feed_server.port}/local"})
    feed_server.routes["/local"] = Response(302, b"", {"Location": internal.url("/secret")})
    (result,) = fetch_all(internal.url("/feed"))
    assert isinstance(result, FetchResult) and result.content == SECRET


def test_a_connection_opened_for_an_internal_feed_is_not_reused_for_a_public_one(
        feed_server: HttpServer, internal: HttpServer) -> None:
    feed_server.routes["/feed"] = Response(301, b"", {"Location": internal.url("/secret")})
    first, second = fetch_all(internal.url("/secret"), feed_server.url("/feed"))
    assert isinstance(first, FetchResult) and isinstance(second, FetchError) and second.kind == "blocked"
    assert len(internal.requests) == 1


def test_allow_private_networks_turns_the_check_off(feed_server: HttpServer, internal: HttpServer) -> None:
    feed_server.routes["/feed"] = Response(301, b"", {"Location": internal.url("/secret")})
    (result,) = fetch_all(feed_server.url("/feed"), limits=FetchLimits(timeout=2, deadline=5,
                                                                       allow_private_networks=True))
    assert isinstance(result, FetchResult) and result.content == SECRET and len(internal.requests) == 1


# --- through the poll use case: what is stored, alerted and shown ---


def poll_once(rt: Runtime) -> None:
    async def run() -> None:
        rt.fetcher = Fetcher(rt.fetcher.limits, clock=rt.clock, resolve=resolve, is_public=is_public)
        try:
            await poll.poll_due(rt)
        finally:
            await rt.fetcher.aclose()
    asyncio.run(run())
    assert isinstance(rt.clock, Clock)
    rt.clock.advance(3600)  # every feed due again


def items_of(rt: Runtime, name: str) -> list[str]:
    with rt.engine.connect() as c:
        return list(c.execute(text("select i.title from items i join feeds f on f.id = i.feed_id "
                                   "where f.name = :n order by i.id"), {"n": name}).scalars())


def test_a_feed_redirected_inside_is_not_re_pointed_stored_or_alerted(
        tmp_path: Path, feed_server: HttpServer, internal: HttpServer) -> None:
    internal.routes["/secret"] = Response(200, rss(news_items(2, prefix="internal")))
    feed_server.routes["/feed"] = Response(301, b"", {"Location": internal.url("/secret")})
    rt = make_runtime(tmp_path, [{"name": "hostile", "url": feed_server.url("/feed")}])
    for _ in range(2):
        poll_once(rt)
    row = feed_row(rt, "hostile")
    assert (row["url"], row["pending_url"], row["last_error_kind"]) == (feed_server.url("/feed"), None, "blocked")
    assert row["consecutive_failures"] == 2 and items_of(rt, "hostile") == [] and internal.requests == []
    (shown,) = queries.feeds(rt.engine)
    assert "127.0.0.2 is not a public address" in str(shown)


def test_a_permanent_move_to_another_host_applies_when_seen_twice(tmp_path: Path, feed_server: HttpServer) -> None:
    new = f"http://news.test:{feed_server.port}/new"
    feed_server.routes["/old"] = Response(301, b"", {"Location": new})
    feed_server.routes["/new"] = Response(200, rss(news_items(2)))
    rt = make_runtime(tmp_path, [{"name": "moving", "url": feed_server.url("/old")}])

    poll_once(rt)  # seen once: followed and stored, recorded, not applied
    row = feed_row(rt, "moving")
    assert (row["url"], row["pending_url"], row["last_error_kind"]) == (feed_server.url("/old"), new, None)
    assert len(items_of(rt, "moving")) == 2

    poll_once(rt)  # seen again: the feed moves
    row = feed_row(rt, "moving")
    assert (row["url"], row["pending_url"], row["config_url"]) == (new, None, feed_server.url("/old"))
    hits = len(feed_server.hits("/old"))
    poll_once(rt)
    assert len(feed_server.hits("/old")) == hits and feed_row(rt, "moving")["url"] == new


def test_a_move_seen_once_is_forgotten_when_the_redirect_stops(tmp_path: Path, feed_server: HttpServer) -> None:
    feed_server.routes["/old"] = Response(301, b"", {"Location": f"http://news.test:{feed_server.port}/new"})
    feed_server.routes["/new"] = Response(200, rss(news_items(2)))
    rt = make_runtime(tmp_path, [{"name": "flapping", "url": feed_server.url("/old")}])
    poll_once(rt)
    feed_server.routes["/old"] = Response(200, rss(news_items(2)))
    poll_once(rt)
    row = feed_row(rt, "flapping")
    assert (row["url"], row["pending_url"]) == (feed_server.url("/old"), None)
    feed_server.routes["/old"] = Response(301, b"", {"Location": f"http://news.test:{feed_server.port}/new"})
    poll_once(rt)  # the count starts again
    assert feed_row(rt, "flapping")["url"] == feed_server.url("/old")


def test_upgrade_undoes_moves_made_without_the_check(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        upgrade(engine, "e70ef0f574db")
        with engine.begin() as c:
            c.execute(text("insert into feeds (name, url, config_url, tags, interval, enabled, status, "
                           "consecutive_failures, health, health_notified) values "
                           "('moved', 'http://127.0.0.1:8080/admin', 'https://news.example/rss', '[]', 600, 1, "
                           "'active', 0, 'ok', 'ok'), ('kept', 'https://b.example/rss', 'https://b.example/rss', "
                           "'[]', 600, 1, 'active', 0, 'ok', 'ok')"))
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as c:
            rows = c.execute(text("select name, url, pending_url from feeds order by name")).all()
        assert rows == [("kept", "https://b.example/rss", None), ("moved", "https://news.example/rss", None)]
    finally:
        engine.dispose()


def test_the_setting_reaches_the_fetcher(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, [], settings={"polling": {"allow_private_networks": True}})
    assert rt.fetcher.limits.allow_private_networks
    assert not make_runtime(tmp_path / "b", []).fetcher.limits.allow_private_networks
