"""CPU-bound work off the event loop: parsing documents and scoring new items.

With `workers` > 0 the work runs in that many worker processes (spawned, so no lock or thread state of the
daemon is inherited), which is what lets a round of polling use every core; each worker builds the scorer
once. With 0 it runs in a thread: no parallelism, but no processes either (tests, tiny installs).
A worker that dies (a crash in a C extension, the OOM killer) costs that one document, not the pool.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from monitor.core.fingerprint import Fingerprint, fingerprints_of
from monitor.core.scoring import Scorer
from monitor.domain import Score, Watchlist
from monitor.errors import ParseError
from monitor.feeds.parse import ParsedFeed, parse_feed

T = TypeVar("T")

_scorer: Scorer | None = None  # in a worker process: built once by _init_worker

Scores = dict[str, list[Score]]  # item uid -> its scores, for the items that were not known


PARENT_CHECK = 1.0  # seconds between a worker's checks that the daemon is still its parent
WORKER_NICENESS = 5
START_PAUSE = 0.05  # seconds: CpuPool.start's job
START_ROUNDS = 200  # of START_PAUSE each at least: a worker not ready after this is left to start on its own


@dataclass(frozen=True)
class Ingested:
    parsed: ParsedFeed
    scores: Scores  # by uid, for the items not known to be stored already
    fingerprints: dict[str, Fingerprint]  # by uid, the same items: story clustering's share of the CPU work
    scoring_seconds: float  # measured in the worker: the daemon's metrics cannot see inside it


def _init_worker(watchlists: Sequence[Watchlist]) -> None:
    global _scorer
    _scorer = Scorer(watchlists)
    # Below the daemon's own priority: the main process (fetching, the one writer) is on every document's path,
    # workers are throughput. On 2 busy cores (500 feeds changed at once) a fetch's mean time fell from ~850 to
    # ~550 ms and the writer's from 20 to 15 ms per feed; the round itself gained 0-10%, within the noise.
    os.nice(WORKER_NICENESS)
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _ready() -> int:
    time.sleep(START_PAUSE)  # busy long enough that the next job goes to another worker
    return os.getpid()


def _exit_with_parent(parent: int) -> None:
    """A daemon killed with SIGKILL cannot stop its workers; they notice they were orphaned and leave, rather
    than living on (holding memory and the daemon's stdout) until the machine restarts."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    os._exit(0)


def _ingest(content: bytes, known: frozenset[str], scorer: Scorer | None = None, **parse: Any) -> Ingested:
    """Parse, then score the items whose uid is not among the feed's known ones, in one go: a document's CPU
    work is one task, so its store can start while the workers parse the next documents."""
    scorer = scorer or _scorer
    assert scorer is not None, "worker not initialised"
    parsed = parse_feed(content, **parse)
    tags = parse.get("tags", ())
    start = time.perf_counter()
    fresh = [i for i in parsed.items if i.uid not in known]
    scores = {i.uid: scorer.score(i.document, tags=tags, language=i.language) for i in fresh}
    scoring = time.perf_counter() - start
    prints = fingerprints_of([(i.title, i.summary) for i in fresh])
    return Ingested(parsed, scores, {i.uid: fp for i, fp in zip(fresh, prints, strict=True)}, scoring)


class CpuPool:
    def __init__(self, workers: int, watchlists: Sequence[Watchlist]) -> None:
        self.workers = workers
        self._watchlists = tuple(watchlists)
        self._executor: ProcessPoolExecutor | None = None
        self._scorer = Scorer(self._watchlists) if workers == 0 else None  # thread mode scores here

    async def ingest(self, content: bytes, *, known: frozenset[str], feed: str, url: str, now: datetime,
                     content_type: str = "", language: str | None = None,
                     tags: tuple[str, ...] = ()) -> Ingested:
        """The parsed document, and the scores of its items that are not in `known` (surely not new)."""
        return await self._run(partial(_ingest, content, known, self._scorer, feed=feed, url=url, now=now,
                                       content_type=content_type, language=language, tags=tags))

    async def parse(self, content: bytes, *, feed: str, url: str, now: datetime, content_type: str = "",
                    language: str | None = None, tags: tuple[str, ...] = ()) -> ParsedFeed:
        job = partial(parse_feed, content, feed=feed, url=url, now=now, content_type=content_type,
                      language=language, tags=tags)
        return await self._run(job)

    async def start(self) -> set[int]:
        """Start every worker now, and wait until each is ready; returns the process ids that answered. A pool starts
        its workers on demand, one per job while none is idle, so the first busy round paid for each start (a
        process spawned, the parser, numpy and the scorer imported and built: about a second of CPU each) on the
        cores it was polling with."""
        if self.workers == 0:
            return set()
        loop = asyncio.get_running_loop()
        pool = self._pool()
        ready: set[int] = set()
        try:
            # A worker takes a job only once it is ready, and a ready one takes jobs as fast as they come: ask
            # in rounds of one short job per worker until each has answered.
            for _ in range(START_ROUNDS):
                ready |= set(await asyncio.gather(*(loop.run_in_executor(pool, _ready)
                                                    for _ in range(self.workers))))
                if len(ready) >= self.workers:
                    break
            return ready
        except BrokenProcessPool:
            self._executor = None  # as in _run: the first job starts a fresh pool
            raise ParseError("a parse worker process died while starting") from None

    async def _run(self, job: partial[T]) -> T:
        if self.workers == 0:
            return await asyncio.to_thread(job)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), job)
        except BrokenProcessPool:
            self._executor = None  # the next job gets a fresh pool
            raise ParseError("a worker process died while handling this feed") from None

    def _pool(self) -> Executor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                initargs=(self._watchlists,))
            # (no max_tasks_per_child: on Python 3.11 a pool that replaces retired workers can hang for good)
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def retire(self) -> None:
        """After a reload swapped in a new pool: let jobs already submitted finish, then the processes exit."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
