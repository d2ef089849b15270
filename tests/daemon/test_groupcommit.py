"""Group commit: calls made while the writer thread is busy are written in one batch, each caller gets its
own result or exception, and a failing batch fails only its own calls."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.store.groupcommit import GroupCommit


class Recorder:
    def __init__(self, fail_on: str = "", broken: bool = False) -> None:
        self.batches: list[list[str]] = []
        self.fail_on, self.broken = fail_on, broken
        self.threads: set[str] = set()

    def write(self, batch: Sequence[str]) -> list[str | BaseException]:
        self.threads.add(threading.current_thread().name)
        self.batches.append(list(batch))
        if self.broken:
            raise RuntimeError("database is locked")
        return [ValueError(arg) if arg == self.fail_on else arg.upper() for arg in batch]


def test_calls_that_arrive_while_the_writer_is_busy_share_one_batch() -> None:
    recorder = Recorder()
    group: GroupCommit[str, str] = GroupCommit(recorder.write)
    writer = ThreadPoolExecutor(1, thread_name_prefix="writer")
    busy = threading.Event()

    async def go() -> list[str]:
        loop = asyncio.get_running_loop()
        blocker = loop.run_in_executor(writer, busy.wait)  # the writer is busy with something else
        calls = [asyncio.ensure_future(group.submit(writer, name)) for name in "abcde"]
        await asyncio.sleep(0.05)
        assert recorder.batches == []  # nothing written while the writer is busy
        busy.set()
        await blocker
        return list(await asyncio.gather(*calls))

    assert asyncio.run(go()) == ["A", "B", "C", "D", "E"]
    assert recorder.batches == [["a", "b", "c", "d", "e"]]
    assert recorder.threads == {"writer_0"}
    writer.shutdown()


def test_an_idle_writer_takes_a_batch_of_one_at_once() -> None:
    recorder = Recorder()
    group: GroupCommit[str, str] = GroupCommit(recorder.write)
    writer = ThreadPoolExecutor(1)

    async def go() -> list[str]:
        first = await group.submit(writer, "a")
        second = await group.submit(writer, "b")
        return [first, second]

    assert asyncio.run(go()) == ["A", "B"]
    assert recorder.batches == [["a"], ["b"]]
    writer.shutdown()


def test_each_caller_gets_its_own_exception_and_a_broken_batch_fails_only_its_calls() -> None:
    recorder = Recorder(fail_on="b")
    group: GroupCommit[str, str] = GroupCommit(recorder.write)
    writer = ThreadPoolExecutor(1)

    async def go() -> tuple[list[object], str]:
        busy = asyncio.get_running_loop().run_in_executor(writer, lambda: None)
        outcomes = await asyncio.gather(*(group.submit(writer, x) for x in "abc"), return_exceptions=True)
        await busy
        recorder.broken = True
        with pytest.raises(RuntimeError, match="database is locked"):
            await group.submit(writer, "d")
        recorder.broken = False
        return list(outcomes), await group.submit(writer, "e")  # the group still works after a failed batch

    outcomes, after = asyncio.run(go())
    assert outcomes[0] == "A" and outcomes[2] == "C"
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "b"
    assert after == "E"
    writer.shutdown()


def test_a_shut_down_writer_fails_the_call_and_leaves_nothing_pending() -> None:
    recorder = Recorder()
    group: GroupCommit[str, str] = GroupCommit(recorder.write)
    writer = ThreadPoolExecutor(1)
    writer.shutdown()

    async def go() -> None:
        with pytest.raises(RuntimeError):
            await group.submit(writer, "a")
        live = ThreadPoolExecutor(1)
        assert await group.submit(live, "b") == "B"  # not stuck behind the call that could not be scheduled
        live.shutdown()

    asyncio.run(go())
    assert recorder.batches == [["b"]]


def test_a_write_that_returns_the_wrong_number_of_results_fails_its_calls_instead_of_hanging() -> None:
    group: GroupCommit[str, str] = GroupCommit(lambda batch: [])
    writer = ThreadPoolExecutor(1)

    async def go() -> None:
        with pytest.raises(RuntimeError, match="0 results for 1 calls"):
            await asyncio.wait_for(group.submit(writer, "a"), timeout=5)

    asyncio.run(go())
    writer.shutdown()
