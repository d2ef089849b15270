"""CPU-bound work off the event loop: parsing documents, scoring new items, and candidates' articles (their main
text, scored again: issue 18).

With `workers` > 0 the work runs in that many worker processes (spawned, so no lock or thread state of the
daemon is inherited), which is what lets a round of polling use every core; each worker builds the scorer
once. With 0 it runs in a thread: no parallelism, but no processes either (tests, tiny installs).
A worker that dies (a crash in a C extension, the OOM killer) costs that one document, not the pool.

Nothing a feed sends can hold a worker for long (`WorkLimits`): a document gives at most `max_items` items
(the newest), an item whose scoring runs past `item_seconds` is set aside unscored with its reason, and a
document still in a worker after `document_seconds` (a parser stuck in C code) gets the pool killed and
replaced, so the run goes on. A job running longer than `STUCK_AFTER` shows in /readyz meanwhile. Workers die
with the daemon, however it dies (PR_SET_PDEATHSIG on Linux, a watchdog thread elsewhere).
"""

from __future__ import annotations

import asyncio
import ctypes
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from monitor.core.fingerprint import Fingerprint, fingerprints_of
from monitor.core.scoring import Scorer
from monitor.domain import Watchlist
from monitor.errors import ParseError
from monitor.feeds.acts_model import scorer_for
from monitor.feeds.extract import warm_extractor
from monitor.feeds.itemlimit import Scored, Scores, on_alarm, score_all
from monitor.feeds.language import item_language
from monitor.feeds.parse import ParsedFeed, parse_feed

T = TypeVar("T")

_scorer: Scorer | None = None  # in a worker process: built once by _init_worker


PARENT_CHECK = 1.0  # seconds between a worker's checks that the daemon is still its parent
WORKER_NICENESS = 5
START_PAUSE = 0.05  # seconds: CpuPool.start's job
START_ROUNDS = 200  # of START_PAUSE each at least: a worker not ready after this is left to start on its own
STUCK_AFTER = 10.0  # seconds a job may run before /readyz says a worker is stuck (a large document parses in ~2)
_PR_SET_PDEATHSIG = 1  # prctl(2)


@dataclass(frozen=True)
class WorkLimits:
    max_items: int = 500  # per document, the newest kept: a feed of 100,000 entries is a mistake or an attack
    item_seconds: float = 2.0  # scoring one item (60 us on average); 0 turns the limit off
    document_seconds: float = 60.0  # one document in a worker, parsing included; then the pool is replaced


@dataclass(frozen=True)
class Ingested:
    parsed: ParsedFeed
    scores: Scores  # by uid, for the items not known to be stored already
    fingerprints: dict[str, Fingerprint]  # by uid, the same items: story clustering's share of the CPU work
    scoring_seconds: float  # measured in the worker: the daemon's metrics cannot see inside it
    set_aside: dict[str, str] = field(default_factory=dict)  # uid -> why it was not scored (stored unscored)
    cut: int = 0  # entries beyond max_items, left out


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the daemon dies: the watchdog thread cannot run while a C extension
    holds the interpreter, and a SIGKILLed daemon would leave a spinning worker behind."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _init_worker(watchlists: Sequence[Watchlist], model: bool = False, articles: bool = False) -> None:
    global _scorer
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:  # the daemon died before the request took effect
        os._exit(0)
    signal.signal(signal.SIGALRM, on_alarm)  # item time limits; workers run jobs in their main thread
    _scorer = scorer_for(watchlists, model)
    if articles:  # the extractor's imports (0.1-0.4 s of CPU) at start, not inside the first round that reads one
        warm_extractor()
    # Below the daemon's own priority: the main process (fetching, the one writer) is on every document's path,
    # workers are throughput. On 2 busy cores (500 feeds changed at once) a fetch's mean time fell from ~850 to
    # ~550 ms and the writer's from 20 to 15 ms per feed; the round itself gained 0-10%, within the noise.
    os.nice(WORKER_NICENESS)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _ready() -> int:
    time.sleep(START_PAUSE)  # busy long enough that the next job goes to another worker
    return os.getpid()


def _exit_with_parent(parent: int) -> None:
    """A daemon killed with SIGKILL cannot stop its workers; they notice they were orphaned and leave, rather
    than living on (holding memory and the daemon's stdout) until the machine restarts."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK)
    os._exit(0)


def _ingest(content: bytes, known: frozenset[str], scorer: Scorer | None = None,
            limits: WorkLimits = WorkLimits(), **parse: Any) -> Ingested:
    """Parse, then score the items whose uid is not among the feed's known ones, in one go: a document's CPU
    work is one task, so its store can start while the workers parse the next documents."""
    in_worker = scorer is None  # only a worker process's main thread may take SIGALRM for the item limit
    scorer = scorer or _scorer
    assert scorer is not None, "worker not initialised"
    parsed = parse_feed(content, **parse)
    cut = max(0, len(parsed.items) - limits.max_items)
    if cut:  # the newest; sorted() is stable, so undated entries keep the document's order
        parsed = replace(parsed, items=sorted(parsed.items, key=lambda i: i.published, reverse=True)[:limits.max_items])
    tags = parse.get("tags", ())
    start = time.perf_counter()
    parsed = _with_languages(parsed, known)
    fresh = [i for i in parsed.items if i.uid not in known]
    scores, set_aside = score_all(scorer, [(i.uid, i.document, i.language) for i in fresh], tags,
                                   limits.item_seconds if in_worker else 0.0)
    scoring = time.perf_counter() - start
    prints = fingerprints_of([(i.title, i.summary) for i in fresh])
    return Ingested(parsed, scores, {i.uid: fp for i, fp in zip(fresh, prints, strict=True)}, scoring,
                    set_aside, cut)


def _with_languages(parsed: ParsedFeed, known: frozenset[str]) -> ParsedFeed:
    """The new items with the language of their text (monitor.feeds.language); known ones are not read again."""
    items = [i if i.uid in known else replace(i, language=item_language(i.title, i.summary, i.language))
             for i in parsed.items]
    return replace(parsed, items=items)


def _score_documents(documents: Sequence[Scored], tags: Sequence[str], scorer: Scorer | None = None,
                     limits: WorkLimits = WorkLimits()) -> tuple[Scores, dict[str, str]]:
    in_worker = scorer is None  # as in _ingest
    scorer = scorer or _scorer
    assert scorer is not None, "worker not initialised"
    return score_all(scorer, documents, tags, limits.item_seconds if in_worker else 0.0)


class CpuPool:
    def __init__(self, workers: int, watchlists: Sequence[Watchlist], limits: WorkLimits = WorkLimits(), *,
                 model: bool = False, articles: bool = False) -> None:
        self.workers = workers
        self.limits = limits
        self._watchlists = tuple(watchlists)
        self._model = model  # monitor.yaml scoring.model
        self._articles = articles  # some feed reads candidates' articles: workers load the extractor as they start
        self._executor: ProcessPoolExecutor | None = None
        self._scorer = scorer_for(self._watchlists, model) if workers == 0 else None  # thread mode scores here
        self._running: dict[int, float] = {}  # job number -> time.monotonic() it was submitted
        self._stopped: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()  # pools _kill stopped
        self._numbers = itertools.count()

    async def ingest(self, content: bytes, *, known: frozenset[str], feed: str, url: str, now: datetime,
                     content_type: str = "", language: str | None = None,
                     tags: tuple[str, ...] = ()) -> Ingested:
        """The parsed document, and the scores of its items that are not in `known` (surely not new)."""
        return await self._run(partial(_ingest, content, known, self._scorer, self.limits, feed=feed, url=url,
                                       now=now, content_type=content_type, language=language, tags=tags))

    async def score(self, documents: Sequence[Scored], *, tags: tuple[str, ...] = ()) -> tuple[Scores, dict[str, str]]:
        """Documents scored again (candidates with their article, issue 18) under the item time limit: scores by
        uid, and the uids set aside with why."""
        return await self._run(partial(_score_documents, tuple(documents), tags, self._scorer, self.limits))

    async def run(self, job: Callable[..., T], *args: Any) -> T:
        """A pure function of picklable arguments, off the event loop (an article's main text: CPU work)."""
        return await self._run(partial(job, *args))

    def map(self, job: Callable[..., T], calls: Sequence[tuple[Any, ...]]) -> list[T]:
        """A pure function of picklable arguments, once per argument tuple, the calls spread over the worker
        processes at once; for a thread that is not the event loop's and waits (the editor's preview). Thread mode
        runs them here, one after another. A worker that dies or a call past the document time limit raises
        ParseError."""
        if self.workers == 0:
            return [job(*args) for args in calls]
        futures: list[Future[T]] = []
        executor = self._pool()
        try:
            futures += [executor.submit(job, *args) for args in calls]
            return [future.result(timeout=self.limits.document_seconds) for future in futures]
        except (BrokenProcessPool, CancelledError, FutureTimeout) as exc:
            # The other calls are left to run, not cancelled: see _submitted (nothing is cancelled outside the pool).
            if isinstance(exc, BrokenProcessPool) and self._executor is executor:
                self._executor = None  # as in _run: the next job gets a fresh pool
            raise ParseError(f"a worker process failed a job ({type(exc).__name__})") from None

    async def start(self) -> set[int]:
        """Start every worker now, and wait until each is ready; returns the process ids that answered. A pool starts
        its workers on demand, one per job while none is idle, so the first busy round paid for each start (a
        process spawned, the parser, numpy and the scorer imported and built: about a second of CPU each) on the
        cores it was polling with."""
        if self.workers == 0:
            return set()
        pool = self._pool()
        ready: set[int] = set()
        try:
            # A worker takes a job only once it is ready, and a ready one takes jobs as fast as they come: ask
            # in rounds of one short job per worker until each has answered.
            for _ in range(START_ROUNDS):
                ready |= set(await asyncio.gather(*(_submitted(pool, _ready) for _ in range(self.workers))))
                if len(ready) >= self.workers:
                    break
            return ready
        except BrokenProcessPool:
            self._executor = None  # as in _run: the first job starts a fresh pool
            raise ParseError("a parse worker process died while starting") from None

    def stuck_for(self) -> float:
        """Seconds the oldest running job has run, if that is past STUCK_AFTER; else 0."""
        oldest = min(self._running.values(), default=None)
        age = 0.0 if oldest is None else time.monotonic() - oldest
        return age if age > STUCK_AFTER else 0.0

    async def _run(self, job: partial[T], *, again: bool = True) -> T:
        if self.workers == 0:
            return await asyncio.to_thread(job)
        number = next(self._numbers)
        self._running[number] = time.monotonic()
        executor = self._pool()
        try:
            return await asyncio.wait_for(_submitted(executor, job), self.limits.document_seconds)
        except TimeoutError:
            self._kill(executor)
            raise ParseError(f"parsing and scoring took longer than {self.limits.document_seconds:g} s: "
                             "the worker was stopped and replaced") from None
        except (BrokenProcessPool, asyncio.CancelledError) as exc:
            task = asyncio.current_task()
            if isinstance(exc, asyncio.CancelledError) and (task is None or task.cancelling()):
                raise  # this job's caller was cancelled (shutdown, an article past the budget): not the pool's doing
            if self._executor is executor:
                self._executor = None  # the next job gets a fresh pool
            if again and executor in self._stopped:
                # Another job's time limit stopped every worker of the pool, and this job ran or waited there: it
                # did nothing wrong, so it runs once more on the fresh pool rather than fail its feed.
                return await self._run(job, again=False)
            raise ParseError("a worker process died while handling this feed") from None
        finally:
            del self._running[number]

    def _kill(self, executor: ProcessPoolExecutor) -> None:
        """Stop every process of `executor`: the pool cannot say which one runs the stuck job. The other jobs that
        were running or waiting there run once more on a fresh pool (_run)."""
        if self._executor is executor:
            self._executor = None
        self._stopped.add(executor)
        for process in _processes(executor):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                initargs=(self._watchlists, self._model, self._articles))
            # (no max_tasks_per_child: on Python 3.11 a pool that replaces retired workers can hang for good)
        return self._executor

    def close(self, timeout: float | None = None) -> None:
        """Stop the workers; those still busy after `timeout` seconds (None: wait for them) are killed, so a
        stuck worker cannot hold the daemon's exit past its grace."""
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = _processes(executor)
        executor.shutdown(wait=timeout is None, cancel_futures=True)
        deadline = time.monotonic() + (timeout or 0.0)
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(1.0)

    def retire(self) -> None:
        """After a reload swapped in a new pool: let jobs already submitted finish, then the processes exit."""
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None


def _submitted(executor: ProcessPoolExecutor, job: Callable[[], T]) -> asyncio.Future[T]:
    """`job` in the pool, awaited through a shield: neither a time limit nor the caller's cancellation cancels its
    future; _kill and close cancel what waits through the pool itself. On Python 3.11 a pool that breaks while a
    waiting job's future was cancelled from outside fails to clean up (its manager thread raises InvalidStateError
    before it closes the pipe of its queue; fixed in 3.12), and the queue's thread, blocked on that pipe, keeps the
    process from exiting. A job whose caller gave up still runs: at most document_seconds of a worker."""
    future = asyncio.wrap_future(executor.submit(job))
    future.add_done_callback(_retrieved)
    return asyncio.shield(future)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """A shielded job's outcome when nobody awaits it any more: read, so that asyncio does not log it as lost."""
    if not future.cancelled():
        future.exception()


def _processes(executor: ProcessPoolExecutor) -> list[multiprocessing.process.BaseProcess]:
    """The worker processes of `executor` (no public API before 3.14). None once it is shut down: several feeds past
    their time limit at once each come to stop the same pool, and the first one's shutdown has emptied it."""
    return list((getattr(executor, "_processes", None) or {}).values())
