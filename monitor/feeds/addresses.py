"""Which addresses the fetcher may connect to (issue 16): a feed's server must not be able to point the monitor at
this machine or its private network (a redirect to 127.0.0.1, a name that resolves to 10.0.0.5, the cloud metadata
address), unless the operator's own URL for the feed is such an address.

The check sits under httpx, in the network backend of httpcore's connection pool, so it sees every connection
of every redirect hop and the address actually connected to; the rules themselves are core.urls's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore

from monitor.core.urls import is_localhost_name
from monitor.feeds.streams import CachedSocket

Resolve = Callable[[str, int], Awaitable[list[str]]]


async def getaddrinfo(host: str, port: int) -> list[str]:
    """The addresses a connection to host:port would try, in the system resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Refused(Exception):
    """Raised inside httpx's transport (which passes exceptions it does not know through unchanged)."""


class PublicOnly(httpcore.AsyncNetworkBackend):
    """Connects to public addresses only. The host is resolved here, every address checked, and the connection
    made to a checked address: letting the connect resolve again would let a DNS server answer a public address
    to the check and a private one to the connect. TLS is unchanged: httpcore sends SNI and verifies the
    certificate for the URL's host, not for the address the socket connects to."""

    def __init__(self, resolve: Resolve, is_public: Callable[[str], bool]) -> None:
        self._resolve, self._is_public = resolve, is_public
        self._inner = CachedSocket()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        addresses = await self._addresses(host, port, timeout)
        if refused := [a for a in addresses if not self._is_public(a)]:  # any: the connect may pick any of them
            raise Refused(f"{host} is not a public address" if refused == [host]
                          else f"{host} resolves to {', '.join(refused)}, not a public address")
        failure = httpcore.ConnectError(f"no address for {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # a timeout is not retried: the next address would wait as long
                failure = exc
        raise failure

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            async with asyncio.timeout(timeout):
                return await self._resolve(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took over {timeout:g}s") from None
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def trusted(url: str, origin: str | None, is_public: Callable[[str], bool]) -> bool:
    """May a request for `url` be led to private addresses? A feed's own URL (`origin` None) decides for itself; a
    URL a feed's content gave (an article's link) only when it is on the host of its feed's internal URL: a public
    feed's item linking to http://127.0.0.1:8080/admin must not make the monitor fetch it."""
    if origin is None:
        return internal_origin(url, is_public)
    host = (urlsplit(url).hostname or "").rstrip(".")
    return host == (urlsplit(origin).hostname or "").rstrip(".") and internal_origin(origin, is_public)


def internal_origin(url: str, is_public: Callable[[str], bool]) -> bool:
    """A feed whose own URL names this machine or a non-public address may be led to such addresses. A name is
    not trusted by what it resolves to: that is what a hostile DNS server controls."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return is_localhost_name(host)
    return not is_public(host)
