"""`monitor score`: explain how a text, a URL or a feed document scores against the watchlists."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from monitor.commands.table import table
from monitor.config import Config
from monitor.core import rules
from monitor.core.html import html_to_text
from monitor.core.scoring import Scorer
from monitor.domain import Document, Score
from monitor.errors import ConfigError, ConfigProblem, MonitorError
from monitor.feeds.acts_model import scorer_for
from monitor.feeds.language import item_language
from monitor.feeds.parse import parse_feed


def _read(source: str) -> tuple[bytes, str, str]:
    """(content, content type, base URL)."""
    if source == "-":
        return sys.stdin.buffer.read(), "", "file:///dev/stdin"
    if source.startswith(("http://", "https://")):
        try:
            response = httpx.get(source, follow_redirects=True, timeout=20)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise MonitorError(f"cannot fetch {source}: {exc}") from exc
        return response.content, response.headers.get("content-type", ""), str(response.url)
    path = Path(source)
    try:
        return path.read_bytes(), "", path.resolve().as_uri()
    except OSError as exc:
        raise MonitorError(f"cannot read {source}: {exc.strerror}") from exc


Scored = tuple[str, str | None, list[Score]]  # label, language scored in, scores


def score_source(config: Config, source: str, watchlist: str | None) -> list[Scored]:
    watchlists = [w for w in config.watchlists if watchlist is None or w.name == watchlist]
    if not watchlists:
        known = ", ".join(w.name for w in config.watchlists) or "none"
        raise ConfigError([ConfigProblem("--watchlist", None, "", f"no watchlist {watchlist!r} (known: {known})")])
    scorer = scorer_for(watchlists, config.settings.scoring.model)
    content, content_type, base = _read(source)
    head = content.lstrip()[:200].lower()
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")):
        parsed = parse_feed(content, feed=source, url=base, now=datetime.now(UTC), content_type=content_type)
        if parsed.items:
            return [_scored(scorer, item.title, item.document, item.language) for item in parsed.items]
    text = content.decode("utf-8", errors="replace")
    if "html" in content_type or head.startswith((b"<!doctype html", b"<html")):
        return [_scored(scorer, source, Document.from_text(html_to_text(text)))]  # a page: its text is one title
    raw = Document.from_text(text)  # title and body split first: cleaning turns newlines into spaces
    return [_scored(scorer, source, text_document(raw.title, raw.body))]


def _scored(scorer: Scorer, label: str, document: Document, declared: str | None = None) -> Scored:
    """As the parse workers score an item: in the language of its text where it can be told, else the one
    declared."""
    language = item_language(document.title, document.body, declared)
    return label, language, scorer.score(document, language=language)


def text_document(title: str, body: str = "") -> Document:
    """Text given by hand (stdin, a file, a labelled set) as the feed path makes an item of a feed entry's title
    and summary (monitor.feeds.parse): through html_to_text, so `nuclear&nbsp;strike` or `<b>nuclear</b> strike`
    scores as `nuclear strike` on every path."""
    return Document(html_to_text(title), html_to_text(body))


def would_alert(config: Config, score: Score) -> bool:
    watchlist = next(w for w in config.watchlists if w.name == score.watchlist)
    return bool(rules.channels_for(watchlist, score))


def to_json(score: Score, *, alert: bool, item: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "watchlist": score.watchlist, "score": score.value, "severity": score.severity.label, "alert": alert,
        "contributions": [{"kind": c.kind, "term": c.term, "span": list(c.span), "value": c.value, "part": c.part}
                          for c in score.contributions],
    }
    if item is not None:
        data["item"] = item
    return data


def as_table(label: str, scores: list[Score]) -> str:
    blocks = []
    for s in scores:
        header = f"{label}\n  watchlist {s.watchlist}: score {s.value:.2f}, severity {s.severity.label}"
        if s.actors:
            header += f"\n  actors: {', '.join(s.actors)}"
        rows = [(c.kind, c.term, c.part, f"{c.span[0]}-{c.span[1]}", f"{c.value:+.2f}", c.detail)
                for c in sorted(s.contributions, key=lambda c: c.span)]
        blocks.append(header + "\n" + _indent(table(["kind", "term", "part", "span", "value", "detail"], rows)))
    return "\n\n".join(blocks)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
