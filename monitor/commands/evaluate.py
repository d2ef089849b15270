"""`monitor evaluate FILE`: score a labelled file against the watchlists and report how well the scores separate
the labels (monitor.core.evaluation). How an analyst checks a watchlist edit, and how the suite checks ours.

A labelled file is CSV (a header row) or YAML (a list of mappings, or `items:` holding one). Each row has the
text, as `text` or as `title` with an optional `summary`, and either `label` (0, 1, 2: tests/data/realnews/
RUBRIC.md) or `expected` (a severity: none and watch count as label 0 and 1, warning and critical as 2).
An optional `lang` is passed to the scorer as the item's language. A bad row is refused naming its line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.commands.score import text_document
from monitor.commands.table import table
from monitor.config import Config
from monitor.config.yamlfile import read_yaml
from monitor.core.evaluation import Report, Scored, evaluate
from monitor.domain import Document, Severity
from monitor.errors import ConfigError, ConfigProblem
from monitor.feeds.acts_model import scorer_for

_EXPECTED = {"none": 0, "watch": 1, "warning": 2, "critical": 2}


@dataclass(frozen=True, slots=True)
class Labelled:
    line: int
    document: Document
    label: int
    language: str | None


def read_labelled(path: Path) -> list[Labelled]:
    """Every row of the file, or ConfigError naming the first bad rows' lines."""
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _yaml_rows(path)
    out, problems = [], []
    for line, row in rows:
        try:
            out.append(_labelled(line, row))
        except ValueError as exc:
            field, _, message = str(exc).partition(": ")
            problems.append(ConfigProblem(str(path), line, field, message))
    if problems:
        raise ConfigError(problems[:20])
    if not out:
        raise ConfigError([ConfigProblem(str(path), None, "", "no labelled rows")])
    return out


def _csv_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {exc}")]) from None
    reader = csv.DictReader(io.StringIO(raw))
    for row in reader:
        yield reader.line_num, row


def _yaml_rows(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    doc = read_yaml(path, interpolate=False)  # labelled text is data: "${X}" in a headline stays as written
    data, loc = doc.data, tuple[str, ...]()
    if isinstance(data, dict) and "items" in data:
        data, loc = data["items"], ("items",)
    if not isinstance(data, list):
        raise ConfigError([doc.problem(loc, "expected a list of labelled items (or items: [...])")])
    for i, row in enumerate(data):
        yield doc.line((*loc, i)) or 0, row if isinstance(row, dict) else {"": row}


def _labelled(line: int, row: Mapping[str, Any]) -> Labelled:
    title = str(row.get("text") or row.get("title") or "").strip()
    if not title:
        raise ValueError("text: missing (give `text`, or `title` with an optional `summary`)")
    summary = str(row.get("summary") or "") if "text" not in row else ""
    if (label := row.get("label")) not in (None, ""):
        if str(label).strip() not in ("0", "1", "2"):
            raise ValueError(f"label: {label!r} is not 0, 1 or 2")
        value = int(str(label).strip())
    elif (expected := str(row.get("expected") or "").strip().lower()) in _EXPECTED:
        value = _EXPECTED[expected]
    else:
        raise ValueError("label: missing (give `label` 0/1/2 or `expected` none/watch/warning/critical)")
    title, _, rest = title.partition("\n")
    lang = str(row.get("lang") or row.get("language") or "").strip() or None
    return Labelled(line, text_document(title, "\n".join(filter(None, (rest, summary)))), value, lang)


def score_file(config: Config, rows: Sequence[Labelled], watchlist: str | None) -> dict[str, Report]:
    """One report per watchlist (or the one named)."""
    watchlists = [w for w in config.watchlists if watchlist is None or w.name == watchlist]
    if not watchlists:
        known = ", ".join(w.name for w in config.watchlists) or "none"
        raise ConfigError([ConfigProblem("--watchlist", None, "", f"no watchlist {watchlist!r} (known: {known})")])
    scorer = scorer_for(watchlists, config.settings.scoring.model)
    scored: dict[str, list[Scored]] = {w.name: [] for w in watchlists}
    for row in rows:
        for score in scorer.score(row.document, language=row.language):
            scored[score.watchlist].append(Scored(row.document.title, row.label, score.value, score.severity, row.line))
    return {name: evaluate(items) for name, items in scored.items()}


def render(name: str, report: Report) -> str:
    auc = "n/a" if report.auc is None else f"{report.auc:.3f}{_interval(report.auc_interval)}"
    head = (f"watchlist {name}: {report.items} items (label 0/1/2: {'/'.join(map(str, report.counts))}), "
            f"AUC (2 against 0) {auc}")
    at = table(["severity", "precision", "recall", "F1", "reached by label 0 / 1 / 2"],
               [(a.severity.label, f"{a.precision:.3f}", f"{a.recall:.3f}", f"{a.f1:.3f}{_interval(a.f1_interval)}",
                 " / ".join(f"{share:.0%}" for share in a.share_by_label)) for a in report.at])
    confusion = table(["label", *(s.label for s in Severity)],
                      [(str(label), *map(str, row)) for label, row in enumerate(report.confusion)])
    return (f"{head}\n\n{at}\n(in brackets: 95% bootstrap interval, how far a figure could move on another sample of "
            f"this size)\n\n"
            f"confusion (rows: label, columns: severity reached)\n{confusion}\n\n"
            f"label 2 scored lowest:\n{_listed(report.missed)}\n\n"
            f"label 0 scored highest:\n{_listed(report.false_alarms)}")


def _interval(interval: tuple[float, float] | None) -> str:
    return "" if interval is None else f" [{interval[0]:.2f}-{interval[1]:.2f}]"


def _listed(items: Sequence[Scored]) -> str:
    return "\n".join(f"  {s.value:6.2f} {s.severity.label:8} line {s.line}: {s.text[:90]}" for s in items) or "  none"


def to_json(name: str, report: Report) -> dict[str, object]:
    return {"watchlist": name, "items": report.items, "counts": list(report.counts), "auc": report.auc,
            "auc_interval": _pair(report.auc_interval),
            "at": [{"severity": a.severity.label, "precision": a.precision, "recall": a.recall, "f1": a.f1,
                    "f1_interval": _pair(a.f1_interval), "share_by_label": list(a.share_by_label)}
                   for a in report.at],
            "confusion": [list(row) for row in report.confusion]}


def _pair(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else list(interval)
