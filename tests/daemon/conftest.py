from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.daemonproc import Daemon


@pytest.fixture
def start_daemon() -> Iterator[Callable[..., Daemon]]:
    """Start `monitor run` subprocesses; any still running at the end of the test is stopped."""
    started: list[Daemon] = []

    def start(config: Path, **kwargs: object) -> Daemon:
        daemon = Daemon(config, **kwargs)  # type: ignore[arg-type]
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()
