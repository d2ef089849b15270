"""The reload's parts without a daemon: what changed, when files count as changed, what the watcher ignores."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import yaml
from watchfiles import Change

from monitor.config import Config, load_config
from monitor.runtime.reload import ConfigFilter, Reloader, config_fingerprint, describe_changes
from tests.support.configdir import write_config
from tests.support.daemonproc import daemon_settings, watchlist

FEED_A = {"url": "http://127.0.0.1:9/a.xml", "name": "A"}
FEED_B = {"url": "http://127.0.0.1:9/b.xml", "name": "B"}


def _config(directory: Path, **kwargs: object) -> Path:
    return write_config(directory, settings=daemon_settings(), **kwargs)  # type: ignore[arg-type]


def test_describe_changes_names_what_was_added_removed_and_changed(tmp_path: Path) -> None:
    old = load_config(_config(tmp_path / "old", feeds=[FEED_A], watchlists={"w": watchlist("alpha")}), env={})
    new_dir = _config(tmp_path / "new", feeds=[{**FEED_A, "interval": "5m"}, FEED_B],
                      channels={"console": {"urls": ["console://"]}, "ops": {"urls": ["json://127.0.0.1:9/x"]}},
                      watchlists={"w": watchlist("alpha", "bravo"), "x": watchlist("x", name="second")})
    settings = yaml.safe_load((new_dir / "monitor.yaml").read_text())
    settings["polling"]["tick"] = "2s"
    settings["database"] = "sqlite:///elsewhere.db"
    (new_dir / "monitor.yaml").write_text(yaml.safe_dump(settings))
    new = load_config(new_dir, env={})
    assert describe_changes(old, new) == {
        "watchlists_added": ["second"], "watchlists_changed": ["test-list"],
        "feeds_added": ["B"], "feeds_changed": ["A"], "channels_added": ["ops"],
        "settings_changed": ["database", "polling.tick"], "restart_required": ["database"],
    }
    assert describe_changes(new, old)["feeds_removed"] == ["B"]
    assert describe_changes(old, old) == {}


def test_fingerprint_follows_yaml_content_only(tmp_path: Path) -> None:
    directory = _config(tmp_path / "config", watchlists={"w": watchlist("alpha")})
    first = config_fingerprint(directory)
    (directory / "monitor.db").write_bytes(b"database pages")  # the database beside the config
    (directory / "watchlists" / ".w.yaml.swp").write_bytes(b"editor swap")
    (directory / "watchlists" / "w.yaml").touch()  # touched, not changed
    assert config_fingerprint(directory) == first
    (directory / "watchlists" / "w.yaml").write_text(yaml.safe_dump(watchlist("alpha", "bravo")))
    assert config_fingerprint(directory) != first


def test_fingerprint_reads_through_configmap_style_symlinks(tmp_path: Path) -> None:
    """Kubernetes mounts a ConfigMap as symlinks into a hidden, timestamped folder swapped atomically."""
    real = _config(tmp_path / "..2026_01_01", watchlists={"w": watchlist("alpha")})
    mount = tmp_path / "mount"
    mount.mkdir()
    for name in ("monitor.yaml", "feeds.yaml", "channels.yaml", "watchlists", "lexicons"):
        os.symlink(real / name, mount / name)
    assert config_fingerprint(mount) == config_fingerprint(real)


@pytest.mark.parametrize(("path", "kept"), [
    ("/c/watchlists/w.yaml", True), ("/c/feeds.yaml", True), ("/c/monitor.db", False),
    ("/c/monitor.db-wal", False), ("/c/monitor.db-journal", False), ("/c/data.sqlite3", False),
    ("/c/watchlists/.w.yaml.swp", False), ("/c/feeds.yaml~", False),
])
def test_the_watcher_ignores_databases_and_editor_files(path: str, kept: bool) -> None:
    assert ConfigFilter()(Change.modified, path) is kept


def test_a_reload_that_cannot_be_applied_keeps_the_old_config_and_is_retried(tmp_path: Path) -> None:
    directory = _config(tmp_path / "config", feeds=[FEED_A], watchlists={"w": watchlist("alpha")})
    current: list[Config] = [load_config(directory, env={})]
    attempts: list[Config] = []

    async def apply(config: Config) -> None:
        attempts.append(config)
        if len(attempts) == 1:
            raise ConnectionError("database unreachable")  # e.g. sync_feeds could not write
        current.append(config)

    reloader = Reloader(directory, current=lambda: current[-1], apply=apply)
    reloader.prime()
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [FEED_A, FEED_B]}))

    async def scenario() -> tuple[bool, bool, bool]:
        return (await reloader.reload("file_change"), await reloader.reload("file_change"),
                await reloader.reload("file_change"))

    first, second, third = asyncio.run(scenario())
    assert (first, second, third) == (False, True, False)  # failed, retried and applied, then nothing new
    assert [f.name for f in current[-1].feeds] == ["A", "B"]


def test_an_edit_no_file_event_reported_is_caught_by_the_periodic_recheck(tmp_path: Path) -> None:
    """Made after start-up but before the watch began, this edit raises no event; the re-check finds it."""
    directory = _config(tmp_path / "config", feeds=[FEED_A], watchlists={"w": watchlist("alpha")})
    current: list[Config] = [load_config(directory, env={})]

    async def apply(config: Config) -> None:
        current.append(config)

    reloader = Reloader(directory, current=lambda: current[-1], apply=apply)
    reloader.prime()
    (directory / "feeds.yaml").write_text(yaml.safe_dump({"feeds": [FEED_A, FEED_B]}))

    async def scenario() -> None:
        stop = asyncio.Event()
        watching = asyncio.create_task(reloader.watch(stop, debounce=0.05, recheck=0.2))
        deadline = asyncio.get_running_loop().time() + 20
        while len(current) == 1 and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(watching, 10)

    asyncio.run(scenario())
    assert [f.name for f in current[-1].feeds] == ["A", "B"]
    assert len(current) == 2  # applied once: later re-checks see the same fingerprint


def test_digest_jobs_follow_the_channels_across_reloads(tmp_path: Path) -> None:
    """A digest added, changed or removed in channels.yaml is scheduled, rescheduled or dropped by a reload."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from monitor.runtime.scheduler import schedule_digests

    console = {"console": {"urls": ["console://"]}}  # the test watchlist notifies it

    def config(channels: dict[str, dict[str, object]]) -> Config:
        directory = _config(tmp_path / f"config-{len(list(tmp_path.iterdir()))}", feeds=[FEED_A],
                            watchlists={"w": watchlist("alpha")}, channels={**console, **channels})
        return load_config(directory, env={})

    async def deliver() -> None:
        return None

    def jobs(scheduler: AsyncIOScheduler) -> dict[str, str]:
        return {job.id: str(job.trigger) for job in scheduler.get_jobs() if job.id.startswith("digest:")}

    plain = {"urls": ["json://127.0.0.1:9/x"]}
    first = config({"desk": {**plain, "digest": {"cron": "0 8 * * *"}}, "ops": plain})
    second = config({"desk": {**plain, "digest": {"cron": "30 18 * * 1-5"}},
                     "ops": {**plain, "digest": {"cron": "0 7 * * *"}}})
    third = config({"desk": plain, "ops": plain})

    async def scenario() -> list[dict[str, str]]:
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.start(paused=True)  # running, as the daemon's is when a reload comes
        seen = []
        for each in (first, second, third):
            schedule_digests(scheduler, deliver, each)
            seen.append(jobs(scheduler))
        scheduler.shutdown(wait=False)
        return seen

    after_first, after_second, after_third = asyncio.run(scenario())
    assert list(after_first) == ["digest:desk"] and "hour='8'" in after_first["digest:desk"]
    assert sorted(after_second) == ["digest:desk", "digest:ops"]
    assert "hour='18'" in after_second["digest:desk"] and "day_of_week='1-5'" in after_second["digest:desk"]
    assert after_third == {}
