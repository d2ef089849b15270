"""`monitor feeds`: feed health table; `import-opml` appends to feeds.yaml; `export-opml` prints OPML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from monitor.commands.table import table
from monitor.config import Config, FeedsFile
from monitor.config.files import write_atomic
from monitor.core.health import feed_state
from monitor.errors import MonitorError
from monitor.feeds.opml import OpmlFeed, read_opml, write_opml
from monitor.store import repo
from monitor.store.db import make_engine, session
from monitor.store.migrate import ensure_schema
from monitor.store.tables import FeedRow


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _status(row: FeedRow) -> str:
    state = feed_state(row.enabled, row.status, row.health, row.consecutive_failures)
    return f"{state} ({row.consecutive_failures})" if state in ("retrying", "failing") else state


def _error(row: FeedRow) -> str:
    if not row.last_error:
        return ""
    since = f" ({_when(row.last_error_at)})" if row.last_error_at and row.consecutive_failures else ""
    return f"{row.last_error}{since}"


def _rows(config: Config) -> tuple[list[FeedRow], dict[int, int]]:
    engine = make_engine(config.database_url)
    try:
        ensure_schema(engine)
        with session(engine) as s:
            return repo.all_feeds(s), repo.item_counts(s)
    finally:
        engine.dispose()


def feeds_table(config: Config) -> str:
    feeds, counts = _rows(config)
    rows = [(f.name, _status(f), _when(f.last_success_at), _error(f), counts.get(f.id or 0, 0),
             _when(f.next_poll_at), f.consecutive_failures) for f in feeds]
    return table(["name", "status", "last ok", "error", "items", "next poll", "failures"], rows)


def export_opml(config: Config) -> bytes:
    """The configured feeds, each at the URL it is polled from now (after permanent redirects)."""
    current = {row.name: row.url for row in _rows(config)[0]}
    feeds = [OpmlFeed(current.get(f.name, f.url), f.name, f.tags) for f in config.feeds if f.enabled]
    return write_opml(feeds, title="escalation-monitor feeds", now=datetime.now(UTC))


@dataclass(frozen=True)
class ImportReport:
    added: list[OpmlFeed]
    skipped: list[tuple[str, str]]  # (url, why)


def import_opml(config: Config, source: Path, *, extra_tags: tuple[str, ...] = (),
                dry_run: bool = False) -> ImportReport:
    """Append the OPML's feeds that are not configured yet to feeds.yaml, keeping its comments and layout.
    The new file is validated before it replaces the old one; nothing is written when anything is wrong."""
    try:
        content = source.read_bytes()
    except OSError as exc:
        raise MonitorError(f"cannot read {source}: {exc.strerror}") from exc
    known_urls = {f.url.rstrip("/") for f in config.feeds}
    names = {f.name for f in config.feeds}
    added, skipped = [], []
    for feed in read_opml(content):
        if feed.url.rstrip("/") in known_urls:
            skipped.append((feed.url, "already configured"))
            continue
        name = _unique(feed.name, names)
        names.add(name)
        known_urls.add(feed.url.rstrip("/"))
        added.append(OpmlFeed(feed.url, name, tuple(dict.fromkeys((*feed.tags, *extra_tags)))))
    if added and not dry_run:
        _append(config.directory / "feeds.yaml", added)
    return ImportReport(added, skipped)


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name} ({n})", n + 1
    return candidate


def _append(path: Path, feeds: list[OpmlFeed]) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = [_flow(_entry(f)) for f in feeds]
    indent = _item_indent(text)
    if indent is not None:  # extend the block list in place: comments and layout stay as the user wrote them
        new_text = text + ("" if text.endswith("\n") or not text else "\n")
        new_text += "".join(f"{indent}- {line}\n" for line in lines)
    elif existing := (yaml.safe_load(text) or {}).get("feeds"):  # a flow list `feeds: [...]`: rewritten
        new_text = yaml.safe_dump({"feeds": [*existing, *map(_entry, feeds)]}, allow_unicode=True, sort_keys=False)
    else:  # no feeds yet (`feeds: []`, or no file): keep the comments, start the list
        new_text = _without_feeds_key(text) + "feeds:\n" + "".join(f"  - {line}\n" for line in lines)
    FeedsFile.model_validate(yaml.safe_load(new_text) or {})  # never leave an invalid feeds.yaml behind
    write_atomic(path, new_text, mode=path.stat().st_mode & 0o777 if path.exists() else None)


def _entry(feed: OpmlFeed) -> dict[str, object]:
    return {"url": feed.url, "name": feed.name, **({"tags": list(feed.tags)} if feed.tags else {})}


def _flow(data: dict[str, object]) -> str:
    return yaml.safe_dump(data, default_flow_style=True, allow_unicode=True, sort_keys=False, width=10_000).strip()


def _item_indent(text: str) -> str | None:
    """The indentation of the `- ` items of the top-level `feeds:` block list, or None when there is none."""
    try:
        node = yaml.compose(text) if text.strip() else None
    except yaml.YAMLError as exc:
        raise MonitorError(f"feeds.yaml is not valid YAML: {exc}") from exc
    if not isinstance(node, yaml.MappingNode):
        return None
    for key, value in node.value:
        if key.value == "feeds" and isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
            line: str = text.splitlines()[value.value[0].start_mark.line]
            return line[: len(line) - len(line.lstrip())]
    return None


def _without_feeds_key(text: str) -> str:
    kept = [line for line in text.splitlines(keepends=True) if not line.startswith("feeds:")]
    return "".join(kept)
