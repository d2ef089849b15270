"""httpcore's connection pool kept whole when requests are cancelled: orphaned connections taken back, and a
request stopped only by a cancellation its cleanup can shield against.

httpcore 1.0.9 (the last release; encode/httpcore#1093, open) loses a pool slot for good when a request is
cancelled after the pool gave it a new connection and before the request used it: that connection is neither
idle, closed nor expired, so the pool never reclaims it. The fetcher cancels requests (a fetch's deadline, the
article budget of a poll, shutdown): in a polling round of 1,000 feeds with full text on, the four slots were all
lost within a minute, and from then on every fetch of every feed failed with PoolTimeout until the daemon was
restarted (bench_fulltext's round A, 2026-12-05).

The invariant restored here: a connection that is not idle and not closed is in use by a request still in the
pool. One that no such request holds is an orphan: it is taken out of the pool and closed like an expired one.
A request holds its connection from assignment until its response is closed (httpcore's PoolByteStream), so a
connection streaming a body is never taken. This is the rule of the fix merged in httpx's maintained fork
(pydantic/httpx2#983).

The second way a slot is lost: httpcore closes a response under an anyio shield, which a plain asyncio
`Task.cancel()` goes through. A cancel that lands while the response is being closed leaves its request in the
pool for ever (seen in a loopback test: one cancel at the wrong step, one slot gone). So `bounded` runs an exchange
in a task of its own, under an anyio cancel scope: its deadline, or its caller's cancellation, cancels that scope,
which httpcore's shields do hold off while they clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import httpcore
from httpcore._async.interfaces import AsyncConnectionInterface


class ReclaimingPool(httpcore.AsyncConnectionPool):
    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        held = {id(request.connection) for request in self._requests if request.connection is not None}
        orphans = [connection for connection in self._connections
                   if id(connection) not in held and not connection.is_idle() and not connection.is_closed()]
        for connection in orphans:
            self._connections.remove(connection)
        return [*orphans, *super()._assign_requests_to_connections()]


def reclaiming(pool: httpcore.AsyncConnectionPool, backend: httpcore.AsyncNetworkBackend) -> None:
    """Make httpx's pool (built with the client's limits, TLS context and proxies settings) a ReclaimingPool that
    connects through `backend`. The class is swapped in place: the pool keeps every setting httpx gave it, and
    the subclass adds no state."""
    pool.__class__ = ReclaimingPool
    pool._network_backend = backend


T = TypeVar("T")


async def bounded(exchange: Callable[[], Awaitable[T]], seconds: float) -> T:
    """`exchange()` within `seconds`, else TimeoutError. If the caller is cancelled meanwhile, the exchange is
    stopped through its scope, and the caller waits for it to unwind (its connection back in the pool, the
    caller's slots still held) before the CancelledError goes on."""
    scope = anyio.CancelScope(deadline=anyio.current_time() + seconds)

    async def run() -> T:
        with scope:
            return await exchange()
        raise TimeoutError  # the scope was cancelled: its deadline passed (or the caller gave up, and is not told)

    task = asyncio.ensure_future(run())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        scope.cancel()
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait((task,))  # shutdown may cancel the caller again: the exchange still unwinds
        if not task.cancelled():
            task.exception()  # retrieved: the caller's cancellation is the outcome, not the exchange's error
        raise
