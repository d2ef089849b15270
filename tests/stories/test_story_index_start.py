"""The story index costs nothing at start (issue 16, row 4): a round of unchanged feeds never loads it, and the
first new item loads it before it is filed, so a copy still joins the story stored before the restart."""

from __future__ import annotations

import json
from pathlib import Path

from tests.alerts.helpers import serve_feed
from tests.conftest import run_monitor
from tests.support.configdir import write_config
from tests.support.db import query
from tests.support.servers import HttpServer

STORY = ("wire-1", "NATO war games begin on the eastern flank as allies mass troops", "http://wire.invalid/a")
COPY = ("daily-7", "NATO war games begin on the eastern flank as allies mass troops", "http://daily.invalid/b")


def _events(stdout: str) -> list[str]:
    return [json.loads(line)["event"] for line in stdout.splitlines() if line.startswith("{")]


def test_unchanged_round_skips_the_index_and_a_new_copy_joins_the_stored_story(
        tmp_path: Path, feed_server: HttpServer) -> None:
    wire = serve_feed(feed_server, [STORY], "/wire.xml")
    config = write_config(tmp_path / "config", feeds=[{"url": wire, "name": "Wire"}],
                          settings={"log": {"format": "json"}})
    first = run_monitor("run", "--once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "story_index_loaded" in _events(first.stdout)  # filing the first item loaded the (empty) index

    again = run_monitor("run", "--once", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert "story_index_loaded" not in _events(again.stdout)  # nothing new: the index is never built

    daily = serve_feed(feed_server, [COPY], "/daily.xml")
    config = write_config(tmp_path / "config", feeds=[{"url": wire, "name": "Wire"}, {"url": daily, "name": "Daily"}],
                          settings={"log": {"format": "json"}})
    third = run_monitor("run", "--once", "--config", str(config))
    assert third.returncode == 0, third.stderr
    assert "story_index_loaded" in _events(third.stdout)
    url = f"sqlite:///{config / 'monitor.db'}"
    assert query(url, "select count(*), count(distinct story_id) from items") == [(2, 1)]
