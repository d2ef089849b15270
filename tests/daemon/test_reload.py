"""Hot reload on a real daemon: edits of watchlists and feeds take effect, broken edits are refused."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.core.scoring import compiled
from tests.support.configdir import write_config
from tests.support.daemonproc import Daemon, GrowingFeed, daemon_settings, http_get, wait_until, watchlist
from tests.support.servers import HttpServer, free_port

pytestmark = pytest.mark.slow
StartDaemon = Callable[..., Daemon]


def _write(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _console(daemon: Daemon, title: str, **kwargs: Any) -> dict[str, Any]:
    """Wait until the console channel printed the alert for `title` (its subject carries the title)."""
    return daemon.wait_for("alert_console", where=lambda e: title in e.get("subject", ""), **kwargs)


def _subjects(daemon: Daemon) -> list[str]:
    return [str(e.get("subject")) for e in daemon.named("alert_console")]


def test_valid_watchlist_edit_alerts_on_the_new_term(tmp_path: Path, feed_server: HttpServer,
                                                      start_daemon: StartDaemon) -> None:
    feed = GrowingFeed()
    feed.add("Alpha units reported near the border")
    feed.add("Bravo battalions on the move")  # not watched yet
    feed_server.routes["/a.xml"] = feed
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/a.xml"), "name": "A"}],
                          watchlists={"test": watchlist("alpha")}, settings=daemon_settings())
    daemon = start_daemon(config)
    _console(daemon, "Alpha units")
    daemon.wait_for("feed_refreshed", where=lambda e: e.get("new_items") == 2)

    _write(config / "watchlists" / "test.yaml", watchlist("alpha", "bravo"))
    reloaded = daemon.wait_for("config_reloaded")
    assert reloaded["watchlists_changed"] == ["test-list"]
    assert reloaded["reason"] == "file_change"

    feed.add("Bravo brigades cross the river")
    _console(daemon, "Bravo brigades")
    # Only new items are scored: the item stored before the edit does not alert after it.
    assert not [s for s in _subjects(daemon) if "Bravo battalions" in s]
    assert daemon.proc.poll() is None


def test_invalid_edit_is_rejected_with_file_line_field_and_the_old_watchlist_keeps_alerting(
        tmp_path: Path, feed_server: HttpServer, start_daemon: StartDaemon) -> None:
    feed = GrowingFeed()
    feed.add("Alpha units reported near the border")
    feed_server.routes["/a.xml"] = feed
    port = free_port()
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/a.xml"), "name": "A"}],
                          watchlists={"test": watchlist("alpha")}, settings=daemon_settings(port=port))
    daemon = start_daemon(config)
    _console(daemon, "Alpha units")

    path = config / "watchlists" / "test.yaml"
    broken = path.read_text(encoding="utf-8").replace("weight: 3", "wieght: 3")
    path.write_text(broken, encoding="utf-8")
    rejected = daemon.wait_for("config_reload_rejected")
    assert rejected["file"] == str(path)
    assert rejected["line"] == 4  # keywords[0] is the mapping on line 3; its misspelt key is on line 4
    assert rejected["field"] == "keywords[0].wieght"
    assert "unknown key" in rejected["error"]
    assert rejected["problems"] == [f"{path}:4: keywords[0].wieght: unknown key (check the spelling)"]

    assert daemon.proc.poll() is None
    assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    feed.add("Alpha convoy seen again")
    _console(daemon, "Alpha convoy")  # the previous watchlist is still the one in force

    metrics = http_get(f"http://127.0.0.1:{port}/metrics")[1]
    assert 'monitor_config_reloads_total{result="failed"} 1.0' in metrics
    assert "monitor_config_last_reload_successful 0.0" in metrics

    # Fixing the file is an ordinary reload.
    mark = daemon.mark()
    _write(path, watchlist("alpha", "charlie"))
    assert daemon.wait_for("config_reloaded", after=mark)["watchlists_changed"] == ["test-list"]


def test_added_and_removed_feeds_join_and_leave_the_schedule(tmp_path: Path, feed_server: HttpServer,
                                                            start_daemon: StartDaemon) -> None:
    feed_server.routes["/a.xml"] = GrowingFeed("A")
    feed_server.routes["/b.xml"] = GrowingFeed("B")
    feed_a = {"url": feed_server.url("/a.xml"), "name": "A"}
    feed_b = {"url": feed_server.url("/b.xml"), "name": "B"}
    config = write_config(tmp_path / "config", feeds=[feed_a], watchlists={"test": watchlist("alpha")},
                          settings=daemon_settings())
    daemon = start_daemon(config)
    wait_until(lambda: len(feed_server.hits("/a.xml")) >= 2, message="feed A polled")
    assert feed_server.hits("/b.xml") == []

    _write(config / "feeds.yaml", {"feeds": [feed_a, feed_b]})
    assert daemon.wait_for("config_reloaded")["feeds_added"] == ["B"]
    wait_until(lambda: len(feed_server.hits("/b.xml")) >= 2, message="added feed B polled on its interval")

    mark = daemon.mark()
    _write(config / "feeds.yaml", {"feeds": [feed_a]})
    assert daemon.wait_for("config_reloaded", after=mark)["feeds_removed"] == ["B"]
    b_after_removal = len(feed_server.hits("/b.xml"))
    # Feed A's own polls are the clock: after three more of them, B (same interval) would have been due again.
    a_now = len(feed_server.hits("/a.xml"))
    wait_until(lambda: len(feed_server.hits("/a.xml")) >= a_now + 3, message="feed A still polled")
    assert len(feed_server.hits("/b.xml")) <= b_after_removal + 1  # at most one poll already under way


def test_a_digest_added_to_channels_yaml_is_scheduled_without_a_restart(tmp_path: Path, feed_server: HttpServer,
                                                                         start_daemon: StartDaemon) -> None:
    feed_server.routes["/a.xml"] = GrowingFeed("A")
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/a.xml"), "name": "A"}],
                          watchlists={"test": watchlist("alpha")}, settings=daemon_settings())
    daemon = start_daemon(config)
    wait_until(lambda: len(feed_server.hits("/a.xml")) >= 1, message="feed A polled")
    assert daemon.named("digests_scheduled") == []  # no channel has a digest

    console = {"urls": ["console://"]}
    _write(config / "channels.yaml", {"channels": {"console": console, "desk": {
        "urls": ["json://127.0.0.1:9/desk"], "digest": {"cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}}}})
    scheduled = daemon.wait_for("digests_scheduled")["channels"]
    assert list(scheduled) == ["desk"] and "day_of_week='1-5'" in scheduled["desk"]

    mark = daemon.mark()
    _write(config / "channels.yaml", {"channels": {"console": console, "desk": {"urls": ["json://127.0.0.1:9/desk"]}}})
    assert daemon.wait_for("digests_scheduled", after=mark)["channels"] == {}
    assert daemon.proc.poll() is None


def test_sighup_reloads_even_when_the_directory_is_not_watched(tmp_path: Path, feed_server: HttpServer,
                                                              start_daemon: StartDaemon) -> None:
    feed_server.routes["/a.xml"] = GrowingFeed()
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/a.xml"), "name": "A"}],
                          watchlists={"test": watchlist("alpha")},
                          settings=daemon_settings(reload={"watch": False}))
    daemon = start_daemon(config)
    started = daemon.wait_for("daemon_started")
    assert started["watching"] is False
    assert started["scoring"] == ("compiled" if compiled() else "interpreted")  # which build runs: setup.py

    _write(config / "watchlists" / "second.yaml", watchlist("delta", name="second"))
    settings = yaml.safe_load((config / "monitor.yaml").read_text())
    settings["polling"]["timeout"] = "6s"  # new fetch limits: a new HTTP client, the old one retired
    _write(config / "monitor.yaml", settings)
    daemon.signal(signal.SIGHUP)
    reloaded = daemon.wait_for("config_reloaded")
    assert reloaded["reason"] == "sighup"
    assert reloaded["watchlists_added"] == ["second"]
    assert reloaded["settings_changed"] == ["polling.timeout"]
    polled = len(feed_server.hits("/a.xml"))
    wait_until(lambda: len(feed_server.hits("/a.xml")) >= polled + 3, message="polls go on with the new client")
    assert daemon.named("feed_fetch_failed") == []

    # SIGHUP forces a reload even when nothing changed, and says so.
    mark = daemon.mark()
    daemon.signal(signal.SIGHUP)
    again = daemon.wait_for("config_reloaded", after=mark)
    assert again["reason"] == "sighup" and "watchlists_added" not in again
    assert daemon.stop() == 0
