"""Group commit: calls that arrive while the writer thread is busy are written together, in one transaction.

Every feed that answers 304 needs its poll bookkeeping written; one transaction each made the writer thread (a
session, a SELECT, an UPDATE and a COMMIT, all under the GIL that fetching also needs) the slowest part of a
round in which most feeds are unchanged. Here the first call queues a job on the writer; by the time the job
runs, the calls that came meanwhile have joined it, and one transaction serves them all. A call never waits
for a batch to fill: an idle writer takes a batch of one at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

A = TypeVar("A")
R = TypeVar("R")


class GroupCommit(Generic[A, R]):
    def __init__(self, write: Callable[[Sequence[A]], Sequence[R | BaseException]]) -> None:
        """`write` gets the batch and returns one result per call, in order: a value, or the exception that
        call alone must raise. An exception raised by `write` itself fails every call of the batch."""
        self._write = write
        self._lock = threading.Lock()
        self._pending: list[tuple[A, asyncio.Future[R]]] = []

    async def submit(self, executor: Executor, arg: A) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        with self._lock:
            self._pending.append((arg, future))
            first = len(self._pending) == 1
        if first:
            try:
                loop.run_in_executor(executor, self._drain, loop)
            except BaseException:  # the executor is shut down: nothing will take this batch
                with self._lock:
                    self._pending = [entry for entry in self._pending if entry[1] is not future]
                raise
        return await future

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """In the writer thread: take every call queued so far and write them at once."""
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            results: Sequence[R | BaseException] = self._write([arg for arg, _ in batch])
        except BaseException as exc:
            results = [exc] * len(batch)
        if len(results) != len(batch):  # a caller left waiting would wait for ever
            results = [RuntimeError(f"group write returned {len(results)} results for {len(batch)} calls")] * len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            try:
                loop.call_soon_threadsafe(_settle, future, result)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return


def _settle(future: asyncio.Future[R], result: R | BaseException) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
