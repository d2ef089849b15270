"""HTTP for feeds: one pooled async client, conditional GET, caps on time, size and redirects, and no request
to a private network on behalf of a public feed.

-> FetchResult (200 with a body, or 304), or FetchError with a kind an operator can act on:
timeout, connect, http (4xx/5xx), gone (410), throttled (429/503), too_large, redirects, decoding, blocked.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from monitor.core.urls import is_public_address
from monitor.domain import parse_retry_after
from monitor.errors import FetchError
from monitor.feeds.addresses import PublicOnly, Refused, Resolve, getaddrinfo, trusted
from monitor.feeds.connections import bounded, reclaiming
from monitor.feeds.decode import BoundedDecoder, DecodeFailed, TooLarge
from monitor.feeds.streams import CachedSocket


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 20.0  # connect, each read, each write: a server that stalls this long has failed
    deadline: float = 60.0  # the whole exchange: a server that trickles bytes forever has failed too
    max_bytes: int = 10_000_000  # decoded body, and the bytes on the wire
    max_redirects: int = 5
    concurrency: int = 16
    per_host: int = 4
    user_agent: str = "escalation-monitor/0.1"
    allow_private_networks: bool = False  # True: no address check at all (internal feeds by name, egress proxies)


DRAIN_LIMIT = 64 * 1024  # bytes of a redirect's or a 304's body read only to keep the connection
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class Caps:
    """One request's limits and trust where they are not a feed's (FetchLimits): an article or a robots.txt
    (monitor.feeds.article) is smaller and quicker, and its URL, taken from a feed's content, does not vouch for
    itself: it may reach a private address only on the host of its feed's own internal URL (`origin`)."""

    deadline: float
    max_bytes: int
    accept: str = _ACCEPT
    origin: str | None = None  # None: the URL is the operator's own (a feed), and decides for itself


@dataclass(frozen=True)
class FetchResult:
    status: int
    url: str  # where the content finally came from
    content: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # the URL reached through permanent redirects (301/308) only
    max_age: float | None = None  # Cache-Control max-age, a politeness floor

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def digest(self) -> str:
        """Identifies the body: a server that ignores validators but sends the same bytes costs no parse."""
        return hashlib.sha256(self.content).hexdigest()


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})


class Fetcher:
    """`resolve` and `is_public` are the address policy's view of the network (the system resolver and
    core.urls by default); a test passes its own to stand a loopback server in for a public host."""

    def __init__(self, limits: FetchLimits, *, clock: Callable[[], datetime] | None = None,
                 resolve: Resolve = getaddrinfo, is_public: Callable[[str], bool] = is_public_address) -> None:
        self.limits = limits
        self.clock = clock or (lambda: datetime.now(UTC))  # the runtime's clock: Retry-After dates are relative
        # Called after every fetch with its outcome (ok, not_modified, error) and seconds, slot wait included: the
        # daemon's metrics (monitor.runtime.hooks); None costs nothing.
        self.on_fetch: Callable[[str, float], None] | None = None
        self._global = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._is_public = is_public
        # Two pools, so a connection opened for an internal feed is never reused for a public one unchecked.
        self._open = self._client(None)
        self._guarded = self._open if limits.allow_private_networks else self._client(PublicOnly(resolve, is_public))

    def _client(self, backend: httpcore.AsyncNetworkBackend | None) -> httpx.AsyncClient:
        limits = httpx.Limits(max_connections=self.limits.concurrency,
                              max_keepalive_connections=self.limits.concurrency)
        transport = None
        if backend is not None:  # (the environment's HTTP(S)_PROXY is not used then: the proxy would connect)
            transport = httpx.AsyncHTTPTransport(limits=limits)
            # httpx has no parameter for it; its pool is httpcore's, which connects through this backend
            reclaiming(transport._pool, backend)
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.limits.timeout), limits=limits, transport=transport,
            follow_redirects=False,  # followed here: loops detected, permanence tracked, every hop capped
            headers={"User-Agent": self.limits.user_agent, "Accept": _ACCEPT,
                     "Accept-Encoding": "gzip, deflate, br"})
        if backend is None and isinstance(client._transport, httpx.AsyncHTTPTransport):
            # The direct transport (proxies, if the environment sets any, keep theirs): sockets looked up once
            reclaiming(client._transport._pool, CachedSocket())
        return client

    async def aclose(self) -> None:
        await self._open.aclose()
        if self._guarded is not self._open:
            await self._guarded.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        caps = Caps(self.limits.deadline, self.limits.max_bytes)
        if self.on_fetch is None:
            return await self._fetch(url, _conditional(etag, last_modified), caps)
        start, outcome = time.perf_counter(), "error"
        try:
            result = await self._fetch(url, _conditional(etag, last_modified), caps)
            outcome = "not_modified" if result.not_modified else "ok"
            return result
        finally:
            self.on_fetch(outcome, time.perf_counter() - start)

    async def fetch_page(self, url: str, caps: Caps) -> FetchResult:
        """A page that is not a feed (an article, a robots.txt): the same client, host slots, redirect rules and
        address check, under `caps`; not counted by `on_fetch`, which the feed metrics read."""
        return await self._fetch(url, {"Accept": caps.accept}, caps)

    async def _fetch(self, url: str, headers: dict[str, str], caps: Caps) -> FetchResult:
        host = urlsplit(url).hostname or ""
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self.limits.per_host))
        # The host slot first: a feed waiting for its busy host must not hold a global slot meanwhile.
        async with per_host, self._global:
            try:
                return await bounded(partial(self._follow, url, headers, caps), caps.deadline)
            except TimeoutError:
                raise FetchError("timeout", f"no complete response within the {caps.deadline:g}s deadline",
                                 url=url) from None

    async def _follow(self, url: str, headers: dict[str, str], caps: Caps) -> FetchResult:
        chain, moved_to, permanent = [url], None, True
        client = self._open if trusted(url, caps.origin, self._is_public) else self._guarded
        for hop in range(self.limits.max_redirects + 1):
            current = chain[-1]
            response = await self._send(client, current, headers, redirected=hop > 0)
            try:
                if response.status_code not in _REDIRECTS:
                    return await self._read(response, current, moved_to, caps.max_bytes)
                target = _location(response, current)
                await _drain(response)
            finally:
                await response.aclose()
            permanent = permanent and response.status_code in _PERMANENT
            if permanent:
                moved_to = target
            if target in chain:
                raise FetchError("redirects", "redirect loop: " + " -> ".join([*chain[chain.index(target):], target]),
                                 url=url, status=response.status_code)
            chain.append(target)
        raise FetchError("redirects", f"more than {self.limits.max_redirects} redirects: " + " -> ".join(chain),
                         url=url)

    async def _send(self, client: httpx.AsyncClient, url: str, headers: dict[str, str], *,
                    redirected: bool) -> httpx.Response:
        try:
            return await client.send(client.build_request("GET", url, headers=headers), stream=True)
        except Refused as exc:
            where = f"redirect to {url}" if redirected else url
            raise FetchError("blocked", f"{where}: {exc}; refused (polling.allow_private_networks)",
                             url=url) from None
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", f"{type(exc).__name__} after {self.limits.timeout:g}s", url=url) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise FetchError("connect", f"{type(exc).__name__}: {exc}"[:300], url=url) from None

    async def _read(self, response: httpx.Response, url: str, moved_to: str | None, cap: int) -> FetchResult:
        status = response.status_code
        if status == 304:
            await _drain(response)
            return _result(response, url, b"", moved_to)
        if status >= 400 or status < 200:
            raise _http_error(response, url, self.clock())
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError("too_large", f"Content-Length {declared} is over {cap} bytes", url=url, status=status)
        return _result(response, url, await self._body(response, url, cap), moved_to)

    async def _body(self, response: httpx.Response, url: str, cap: int) -> bytes:
        try:
            decoder = BoundedDecoder(response.headers.get("content-encoding", ""), cap)
            body, wire = bytearray(), 0
            async for chunk in response.aiter_raw():
                wire += len(chunk)
                if wire > cap:  # a stream that inflates to nothing must not run forever either
                    raise TooLarge
                body += decoder.feed(chunk)
            return bytes(body)
        except TooLarge:
            raise FetchError("too_large", f"body over {cap} bytes (stopped reading)", url=url,
                             status=response.status_code) from None
        except DecodeFailed as exc:
            raise FetchError("decoding", str(exc)[:200], url=url, status=response.status_code) from None
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", f"{type(exc).__name__} after {self.limits.timeout:g}s", url=url,
                             status=response.status_code) from None
        except httpx.HTTPError as exc:
            raise FetchError("connect", f"{type(exc).__name__}: {exc}"[:300], url=url,
                             status=response.status_code) from None


async def _drain(response: httpx.Response) -> None:
    """Read a small body to its end, so the connection goes back to the pool: closing a response mid-stream
    closes its connection, and every 304 would cost the feed's host a new TCP (and TLS) handshake. A body over
    DRAIN_LIMIT is left unread (the connection is closed instead)."""
    read = 0
    try:
        async for chunk in response.aiter_raw():
            read += len(chunk)
            if read > DRAIN_LIMIT:
                return
    except httpx.HTTPError:
        return  # the response itself was already understood; a broken connection is closed by aclose


def _conditional(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _location(response: httpx.Response, url: str) -> str:
    location = response.headers.get("location", "").strip()
    target = urljoin(url, location) if location else ""
    if urlsplit(target).scheme not in ("http", "https"):
        raise FetchError("redirects", f"HTTP {response.status_code} to {location or 'nowhere'!r}", url=url,
                         status=response.status_code)
    return target


def _result(response: httpx.Response, url: str, content: bytes, moved_to: str | None) -> FetchResult:
    headers = response.headers
    return FetchResult(status=response.status_code, url=url, content=content,
                       content_type=headers.get("content-type", ""), etag=headers.get("etag"),
                       last_modified=headers.get("last-modified"), moved_to=moved_to,
                       max_age=_max_age(headers.get("cache-control", "")))


def _http_error(response: httpx.Response, url: str, now: datetime) -> FetchError:
    status = response.status_code
    kind = "gone" if status == 410 else ("throttled" if status in (429, 503) else "http")
    reason = response.reason_phrase or ""
    return FetchError(kind, f"HTTP {status} {reason}".strip(), url=url, status=status,
                      retry_after=parse_retry_after(response.headers.get("retry-after"), now))


def _max_age(cache_control: str) -> float | None:
    for part in cache_control.split(","):
        key, _, value = part.strip().partition("=")
        if key.lower() in ("max-age", "s-maxage") and value.strip().strip('"').isdigit():
            return float(value.strip().strip('"'))
    return None
