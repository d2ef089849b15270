"""HTTP for feeds: one pooled async client, conditional GET, size/time caps -> FetchResult or FetchError."""

from __future__ import annotations

import asyncio
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from monitor.errors import FetchError


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 20.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    concurrency: int = 16
    per_host: int = 4
    user_agent: str = "escalation-monitor/0.1"


@dataclass(frozen=True)
class FetchResult:
    status: int
    url: str  # where the content finally came from
    content: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None  # set when every redirect was permanent (301/308)
    max_age: float | None = None  # Cache-Control max-age, a politeness floor

    @property
    def not_modified(self) -> bool:
        return self.status == 304


_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


class Fetcher:
    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self._global = asyncio.Semaphore(limits.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(limits.timeout, connect=min(10.0, limits.timeout)),
            limits=httpx.Limits(max_connections=limits.concurrency * 2, max_keepalive_connections=limits.concurrency),
            follow_redirects=True,
            max_redirects=limits.max_redirects,
            headers={"User-Agent": limits.user_agent,
                     "Accept": _ACCEPT,
                     "Accept-Encoding": "gzip, deflate, br"},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        host = urlsplit(url).hostname or ""
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self.limits.per_host))
        async with self._global, per_host:
            try:
                # A total deadline: read timeouts alone never end a server that trickles bytes forever.
                return await asyncio.wait_for(self._get(url, etag, last_modified), timeout=self.limits.timeout * 2)
            except TimeoutError:
                raise FetchError("timeout", f"no complete response within {self.limits.timeout * 2:.0f}s",
                                 url=url) from None

    async def _get(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return self._result(response, url, b"")
                if response.status_code >= 400:
                    raise _http_error(response, url)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
                    raise FetchError("too_large", f"Content-Length {declared} over {self.limits.max_bytes} bytes",
                                     url=url, status=response.status_code)
                body = bytearray()
                async for chunk in response.aiter_bytes():  # decoded: caps the inflated size, not the wire size
                    body += chunk
                    if len(body) > self.limits.max_bytes:
                        raise FetchError("too_large", f"body over {self.limits.max_bytes} bytes", url=url,
                                         status=response.status_code)
                return self._result(response, url, bytes(body))
        except httpx.TooManyRedirects:
            raise FetchError("redirects", f"more than {self.limits.max_redirects} redirects", url=url) from None
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", type(exc).__name__, url=url) from None
        except httpx.DecodingError as exc:
            raise FetchError("decoding", str(exc)[:200], url=url) from None
        except httpx.HTTPError as exc:
            raise FetchError("connect", f"{type(exc).__name__}: {exc}"[:300], url=url) from None

    def _result(self, response: httpx.Response, url: str, content: bytes) -> FetchResult:
        history = response.history
        moved = str(response.url) if history and all(r.status_code in (301, 308) for r in history) else None
        return FetchResult(
            status=response.status_code, url=str(response.url), content=content,
            content_type=response.headers.get("content-type", ""),
            etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified"),
            moved_to=moved, max_age=_max_age(response.headers.get("cache-control", "")),
        )


def _http_error(response: httpx.Response, url: str) -> FetchError:
    status = response.status_code
    kind = "gone" if status == 410 else ("throttled" if status in (429, 503) else "http")
    return FetchError(kind, f"HTTP {status}", url=url, status=status,
                      retry_after=parse_retry_after(response.headers.get("retry-after")))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _max_age(cache_control: str) -> float | None:
    for part in cache_control.split(","):
        key, _, value = part.strip().partition("=")
        if key.lower() == "max-age" and value.strip().isdigit():
            return float(value.strip())
    return None
