"""The console's watchlist editor (issue 17): a draft is checked as `monitor check` would check it, previewed
against stored items (the backtest, current against draft) and against what analysts labelled, then saved.

The draft is checked by loading a copy of the configuration directory with the draft in place of the file, so it
gets exactly `monitor check`'s problems (file:line: field), named after the real file. Saving writes the text the
analyst edited (comments and layout are theirs), atomically and with the file's mode; the daemon's hot reload
applies it, and each save is recorded with its diff.
"""

from __future__ import annotations

import difflib
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from sqlmodel import col, select

from monitor.config import load_config
from monitor.config.files import write_atomic
from monitor.config.yamlfile import read_yaml
from monitor.core import score_memo
from monitor.core.score_memo import Entry, GroupScorer, Probes, Scored, ScoreMemo, score_each, score_group
from monitor.domain import Document, Severity, Watchlist
from monitor.errors import ConfigError, MonitorError, ParseError
from monitor.store import story_rows
from monitor.store.db import session
from monitor.store.desk_tables import FeedbackRow, WatchlistSaveRow
from monitor.store.tables import AlertRow
from monitor.usecases.backtest import Backtest, run
from monitor.usecases.context import Runtime

log = structlog.get_logger("monitor.usecases.watchlist_edit")

MAX_DRAFT = 256 * 1024
DRAFT = "\x00draft:"  # the draft's name in a replay beside the current version: no watchlist name can take it
_SEVERITY = {s.label: int(s) for s in Severity}
# Scores by watchlist version and text, kept between previews: the editor previews draft after draft against one
# current version. Two versions: a preview asks for the current version's table first, then the draft's, so the
# current one and the last draft are kept (a new draft drops the one before). 100,000 texts each: ~40 MB at most.
_MEMO = ScoreMemo(versions=2, per_version=100_000)
_WARMING = threading.Lock()  # held while a warm-up runs: one at a time
# A preview scores in the worker processes one share per SHARE entries (~0.2 s of work), at most one per worker;
# fewer entries score here (a round trip and a Scorer in a worker cost more than they save: measured).
SHARE = 4_000


class EditError(MonitorError):
    pass


def files(config_dir: Path) -> dict[str, Path]:
    """Watchlist files by stem, as the loader finds them."""
    return {p.stem: p for p in sorted((config_dir / "watchlists").glob("*.y*ml"))}


def read(config_dir: Path, stem: str) -> tuple[Path, str]:
    path = files(config_dir).get(stem)
    if path is None:
        raise EditError(f"no watchlist file {stem!r} in {config_dir / 'watchlists'}")
    return path, path.read_text(encoding="utf-8")


def check(config_dir: Path, stem: str, draft: str) -> tuple[Watchlist | None, list[str]]:
    """The draft's watchlist and no problems, or None and every problem `monitor check` would print."""
    path, _current = read(config_dir, stem)
    if len(draft.encode()) > MAX_DRAFT:
        return None, [f"{path}: the draft is over {MAX_DRAFT // 1024} KB"]
    with _copy(config_dir) as copy:
        target = copy / "watchlists" / path.name
        target.write_text(draft, encoding="utf-8")
        try:
            loaded = load_config(copy)
        except ConfigError as exc:
            return None, [str(p).replace(str(copy), str(config_dir)) for p in exc.problems]
        data = read_yaml(target, interpolate=False).data  # loaded once already: it is well-formed and bounded
    name = data.get("name") if isinstance(data, dict) else None
    drafted = [w for w in loaded.watchlists if w.name == name]
    return (drafted[0], []) if drafted else (None, [f"{path}: the draft defines no watchlist"])


@contextmanager
def _copy(config_dir: Path) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="monitor-draft-") as tmp:
        copy = Path(tmp) / "config"
        shutil.copytree(config_dir, copy, ignore=shutil.ignore_patterns("*.db", "*.db-*", "data", ".*"))
        yield copy


@dataclass
class Preview:
    days: float
    items: int
    added: list[dict[str, Any]] = field(default_factory=list)  # stories the draft alerts on and the current not
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)  # a different highest severity
    unchanged: int = 0
    labelled: list[dict[str, Any]] = field(default_factory=list)  # analysts' verdicts, current and draft scores


def preview(rt: Runtime, current: Watchlist | None, draft: Watchlist, now: datetime, *, days: float = 7) -> Preview:
    with session(rt.engine) as s:
        items = story_rows.items_between(s, now - timedelta(days=days), now)
    # One replay for both versions: each item is folded and matched once, and filed in the story it was filed in.
    # The process's memo keeps the current version's scores, so the next draft's preview scores only the draft.
    drafted = replace(draft, name=DRAFT + draft.name)
    replayed = run(items, [w for w in (current, drafted) if w is not None], window=rt.config.settings.stories.window,
                   stored_stories=True, memo=_MEMO, score_groups=_spread(rt), stories_only=True)
    before = _alerted(replayed, current.name) if current else {}
    after = _alerted(replayed, drafted.name)
    result = Preview(days=days, items=len(items))
    for story, hit in after.items():
        if story not in before:
            result.added.append(hit)
        elif hit["severity"] != before[story]["severity"]:
            result.changed.append({**hit, "was": before[story]["severity"]})
        else:
            result.unchanged += 1
    result.removed = [hit for story, hit in before.items() if story not in after]
    result.labelled = _labelled(rt, current, draft)
    return result


def warm(rt: Runtime, stem: str, now: datetime, *, days: float = 7) -> threading.Thread | None:
    """Score the running version of the watchlist in `stem` over the preview's default window into the memo the
    previews use, on a thread: the editor's page starts it, so the first preview, seconds of editing later,
    scores only the draft (50,000 items with distinct texts: 7.3 s cold, 2.6 s warm). One at a time (None when
    one is running); a failure is logged, never raised: the preview then scores as it would have."""
    if not _WARMING.acquire(blocking=False):
        return None
    thread = threading.Thread(target=_warm, args=(rt, stem, now, days), name="preview-warm", daemon=True)
    thread.start()
    return thread


def _warm(rt: Runtime, stem: str, now: datetime, days: float) -> None:
    try:
        _path, text = read(rt.config.directory, stem)
        on_disk, _problems = check(rt.config.directory, stem, text)
        current = next((w for w in rt.config.watchlists if on_disk and w.name == on_disk.name), None)
        if current is None:  # a file that does not load, or not loaded yet: nothing to remember
            return
        with session(rt.engine) as s:
            items = story_rows.items_between(s, now - timedelta(days=days), now)
        score_each([(Document(i.title, i.summary), i.tags, i.language) for i in items], [current], _MEMO,
                   _spread(rt))
        log.info("preview_warmed", watchlist=current.name, items=len(items))
    except Exception:  # a thread of its own: nothing above it would see the error
        log.exception("preview_warm_failed", file=stem)
    finally:
        _WARMING.release()


def _spread(rt: Runtime) -> GroupScorer:
    """score_group with the entries split among the daemon's worker processes: a cold preview scores every item of
    the window (50,000 distinct texts: about 3 s on one core). Fewer entries than SHARE, or a pool in
    thread mode, score here; a worker failing its share (the pool being replaced) has it scored here too. Entries
    travel as plain values (`score_memo.plain`)."""

    def score_groups(watchlists: Sequence[Watchlist], entries: Sequence[Entry], probes: Probes) -> list[
            tuple[Scored, tuple[bool, ...]]]:
        cpu = rt.cpu
        if cpu is None or cpu.workers == 0 or len(entries) < SHARE:
            return score_group(watchlists, entries, probes)
        shares = min(cpu.workers, len(entries) // SHARE)
        size, rows = -(-len(entries) // shares), score_memo.plain(entries)
        calls = [(tuple(watchlists), rows[k:k + size], tuple(probes)) for k in range(0, len(rows), size)]
        try:
            return [scored for part in cpu.map(score_memo.score_plain, calls) for scored in part]
        except ParseError as exc:
            log.warning("preview_scored_here", reason=str(exc))
            return score_group(watchlists, entries, probes)

    return score_groups


def forget_scores() -> None:
    """Drop the scores kept between previews: the next preview scores every item again (a cold start)."""
    _MEMO.clear()


def _alerted(result: Backtest, watchlist: str) -> dict[str, dict[str, Any]]:
    """Each replayed story's highest severity alerted for `watchlist`, with its title and first alert time."""
    out: dict[str, dict[str, Any]] = {}
    for hit in result.hits:
        if not hit.story or hit.watchlist != watchlist:
            continue
        seen = out.setdefault(hit.story, {"title": hit.title, "at": hit.at, "severity": hit.severity})
        if _SEVERITY.get(hit.severity, 0) > _SEVERITY.get(seen["severity"], 0):
            seen["severity"] = hit.severity
    return out


def _labelled(rt: Runtime, current: Watchlist | None, draft: Watchlist, limit: int = 200) -> list[dict[str, Any]]:
    """The items analysts gave a verdict on (for this watchlist), scored by the current and the draft version."""
    with session(rt.engine) as s:
        rows = s.exec(select(FeedbackRow.verdict, FeedbackRow.reason, AlertRow.item_id)
                      .join(AlertRow, col(AlertRow.id) == col(FeedbackRow.alert_id))
                      .where(col(FeedbackRow.watchlist) == (current or draft).name,
                             col(AlertRow.item_id).is_not(None))
                      .order_by(col(FeedbackRow.at).desc()).limit(limit)).all()
        items = {i.id: i for i in story_rows.items_by_id(s, [r[2] for r in rows if r[2] is not None])}
    found = [(verdict, reason, items[item_id]) for verdict, reason, item_id in rows if item_id in items]
    # Scored as the replay scored them (the draft under its replay name): most come from the memo.
    drafted = replace(draft, name=DRAFT + draft.name)
    scored = score_each([(Document(i.title, i.summary), i.tags, i.language) for _, _, i in found],
                        [w for w in (current, drafted) if w is not None], _MEMO)
    out = []
    for (verdict, reason, item), scores in zip(found, scored, strict=True):
        old, new = (scores[0], scores[1]) if current else (None, scores[0])
        out.append({"title": item.title, "verdict": verdict, "reason": reason,
                    "current": old.value if old else 0.0, "draft": new.value if new else 0.0,
                    "current_severity": old.severity.label if old else "none",
                    "draft_severity": new.severity.label if new else "none"})
    return out


def save(rt: Runtime, stem: str, draft: str, user: str, now: datetime) -> str:
    """Write the checked draft over the file and record the save; returns the unified diff."""
    config_dir = rt.config.directory
    path, current = read(config_dir, stem)
    watchlist, problems = check(config_dir, stem, draft)
    if watchlist is None:
        raise EditError("\n".join(problems))
    diff = "".join(difflib.unified_diff(current.splitlines(keepends=True), draft.splitlines(keepends=True),
                                        f"a/{path.name}", f"b/{path.name}"))
    if not diff:
        return ""
    write_atomic(path, draft, mode=path.stat().st_mode & 0o777)  # the reloader sees one whole file, never half
    with session(rt.engine) as s:
        s.add(WatchlistSaveRow(watchlist=watchlist.name, path=str(path), user=user, at=now, diff=diff))
        s.commit()
    log.info("watchlist_saved", watchlist=watchlist.name, path=str(path), user=user, lines=diff.count("\n"))
    return diff


def saves(rt: Runtime, name: str, limit: int = 20) -> list[WatchlistSaveRow]:
    with session(rt.engine) as s:
        return list(s.exec(select(WatchlistSaveRow).where(WatchlistSaveRow.watchlist == name)
                           .order_by(col(WatchlistSaveRow.at).desc()).limit(limit)))
