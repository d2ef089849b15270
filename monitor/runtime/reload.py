"""Hot reload: watch the configuration directory, validate the whole new configuration, apply it or keep the old.

ElastAlert's lesson: hash what was loaded, so that an event that changed nothing (an editor touching a
file, the database being written next to the config) costs one read and no reload; and when an edit is
invalid, say exactly where and keep running on the last good version.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import structlog
from watchfiles import Change, DefaultFilter, awatch

from monitor.config import Config, load_config
from monitor.errors import ConfigError
from monitor.runtime.metrics import Metrics

log = structlog.get_logger("monitor.runtime.reload")

# Settings a running process cannot take over: they are logged as needing a restart.
RESTART_SETTINGS = ("database", "http.listen", "http.enabled", "log.format", "reload.watch")
_CONFIG_SUFFIXES = (".yaml", ".yml")
RECHECK = 5.0  # seconds between fingerprint comparisons that need no file event


def config_fingerprint(directory: Path) -> str:
    """A hash of every YAML file under `directory`, following symlinks (Kubernetes ConfigMaps are symlinks)
    and skipping hidden folders (a ConfigMap's `..2024_...` copies would count twice)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(directory, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(_CONFIG_SUFFIXES) and not name.startswith("."):
                path = Path(root) / name
                digest.update(str(path.relative_to(directory)).encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class ConfigFilter(DefaultFilter):
    """watchfiles' defaults (editor swap files, VCS folders) plus SQLite files, which may live beside the config."""

    _database = re.compile(r"\.(db|sqlite3?)(-wal|-shm|-journal)?$")

    def __call__(self, change: Change, path: str) -> bool:
        return super().__call__(change, path) and not self._database.search(path)


def _compare(old: Mapping[str, object], new: Mapping[str, object]) -> tuple[list[str], list[str], list[str]]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = sorted(name for name in set(old) & set(new) if old[name] != new[name])
    return added, removed, changed


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def describe_changes(old: Config, new: Config) -> dict[str, list[str]]:
    """What a reload changes, by kind, for the log line; empty lists are left out."""
    parts: dict[str, tuple[Mapping[str, object], Mapping[str, object]]] = {
        "watchlists": ({w.name: w for w in old.watchlists}, {w.name: w for w in new.watchlists}),
        "feeds": ({f.name: f for f in old.feeds}, {f.name: f for f in new.feeds}),
        "channels": (old.channels, new.channels),
    }
    out: dict[str, list[str]] = {}
    for kind, (before, after) in parts.items():
        for verb, names in zip(("added", "removed", "changed"), _compare(before, after), strict=True):
            if names:
                out[f"{kind}_{verb}"] = names
    _, _, settings = _compare(_flatten(old.settings.model_dump()), _flatten(new.settings.model_dump()))
    if settings:
        out["settings_changed"] = settings
    if restart := [key for key in settings if key in RESTART_SETTINGS]:
        out["restart_required"] = restart
    return out


class Reloader:
    """Loads the directory again and hands a valid configuration to `apply`; one reload at a time."""

    def __init__(self, directory: Path, *, current: Callable[[], Config],
                 apply: Callable[[Config], Awaitable[None]], metrics: Metrics | None = None) -> None:
        self.directory = directory
        self.current = current
        self.apply = apply
        self.metrics = metrics
        self._lock = asyncio.Lock()
        self._fingerprint: str | None = None

    def prime(self) -> None:
        """Remember the files in force at start, so the first file event reloads only if something changed."""
        self._fingerprint = _fingerprint_or_none(self.directory)

    async def reload(self, reason: str, *, force: bool = False) -> bool:
        """True if a new configuration was applied. `force` (SIGHUP) reloads even if no file changed."""
        async with self._lock:
            fingerprint = await asyncio.to_thread(_fingerprint_or_none, self.directory)
            if not force and fingerprint is not None and fingerprint == self._fingerprint:
                log.debug("config_unchanged", reason=reason)
                return False
            self._fingerprint = fingerprint  # judged once: the same broken files are not re-reported per event
            try:
                config = await asyncio.to_thread(load_config, self.directory)
            except ConfigError as exc:
                self._rejected(reason, exc)
                return False
            changes = describe_changes(self.current(), config)
            try:
                await self.apply(config)
            except Exception:
                self._fingerprint = None  # e.g. the database was down: the next event or SIGHUP tries again
                log.exception("config_reload_failed", reason=reason, config=str(self.directory))
                self._observe(False)
                return False
            log.info("config_reloaded", reason=reason, config=str(self.directory), **changes)
            if "restart_required" in changes:
                log.warning("config_needs_restart", settings=changes["restart_required"])
            self._observe(True)
            return True

    def _rejected(self, reason: str, exc: ConfigError) -> None:
        first = exc.problems[0]
        log.error("config_reload_rejected", reason=reason, file=first.file, line=first.line, field=first.field,
                  error=first.message, problems=[str(p) for p in exc.problems],
                  keeping="the previous configuration")
        self._observe(False)

    def _observe(self, ok: bool) -> None:
        if self.metrics:
            self.metrics.observe_reload(ok)

    async def watch(self, stop: asyncio.Event, *, debounce: float, recheck: float = RECHECK) -> None:
        """Reload after each settled burst of changes in the directory, until `stop` is set.

        Every `recheck` seconds the fingerprint is compared anyway: inotify misses edits on network file
        systems and some bind mounts, and edits made before the watch was set up. (A timer, not watchfiles'
        own timeout: a database beside the config keeps the watcher busy with events we filter out.)"""
        rechecking = asyncio.create_task(self._recheck_every(recheck, stop))
        try:
            await self._follow_events(stop, debounce)
            await rechecking  # returns once `stop` is set; alone if the event watch failed
        finally:
            rechecking.cancel()

    async def _follow_events(self, stop: asyncio.Event, debounce: float) -> None:
        try:
            async for changes in awatch(self.directory, watch_filter=ConfigFilter(), stop_event=stop,
                                        debounce=max(1, int(debounce * 1000)), recursive=True):
                paths = sorted({str(Path(p).relative_to(self.directory)) for _, p in changes
                                if Path(p).is_relative_to(self.directory)})
                log.debug("config_files_changed", paths=paths)
                await self.reload("file_change")
        except Exception:  # e.g. out of inotify watches: the periodic re-check and SIGHUP remain
            log.exception("config_watch_failed", config=str(self.directory), fallback="periodic re-check")

    async def _recheck_every(self, period: float, stop: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(stop.wait(), period)
                return
            except TimeoutError:
                await self.reload("recheck")


def _fingerprint_or_none(directory: Path) -> str | None:
    try:
        return config_fingerprint(directory)
    except OSError:  # a file vanished mid-rename: let load_config report what is really there
        return None
