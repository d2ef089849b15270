"""A daemon with a feed that alerted once and three console users (analyst ann, admin ada, viewer val)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import run_monitor
from tests.support.configdir import write_config
from tests.support.daemonproc import Daemon, GrowingFeed, daemon_settings, watchlist
from tests.support.servers import HttpServer, free_port

CHROMIUM = "/usr/bin/chromium"
PASSWORDS = {"ann": "analyst-password-1", "ada": "admin-password-1", "val": "viewer-password-1"}


@dataclass
class Desk:
    daemon: Daemon
    base: str
    config: Path
    feed: GrowingFeed


@pytest.fixture
def desk(tmp_path: Path, feed_server: HttpServer) -> Iterator[Desk]:
    feed = GrowingFeed("World Desk")
    feed.add("Alpha brigades cross the river")
    feed_server.routes["/world.xml"] = feed
    port = free_port()
    settings = daemon_settings(port=port)
    settings["reload"] = {"watch": True, "debounce": "0.2s"}
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/world.xml"), "name": "World Desk"}],
                          watchlists={"test": watchlist("alpha", "bravo")}, settings=settings)
    for name, role in (("ann", "analyst"), ("ada", "admin"), ("val", "viewer")):
        added = run_monitor("users", "add", name, "--role", role, "--password-stdin", "--config", str(config),
                            input_text=PASSWORDS[name] + "\n")
        assert added.returncode == 0, added.stderr
    daemon = Daemon(config)
    try:
        daemon.wait_for("alert_delivered")
        yield Desk(daemon, f"http://127.0.0.1:{port}", config, feed)
    finally:
        daemon.stop()


def chromium() -> str:
    """Debian's Chromium: skipped when absent, a failure under CI (.ci/run installs it)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {CHROMIUM} is missing (.ci/run installs Debian's chromium package)")
        pytest.skip(f"{CHROMIUM} not installed: apt-get install -y chromium")
    return CHROMIUM
