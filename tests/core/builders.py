"""Paths and hand-made watchlists shared by the scoring tests (a plain module: conftest holds fixtures)."""

from __future__ import annotations

from pathlib import Path

from monitor.domain import Actor, Keyword, Score, Severity, Watchlist

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
SEED = ROOT / "seeds" / "000_4c9c1f4a05372baa.txt"


def small_watchlist(**overrides: object) -> Watchlist:
    """A hand-made watchlist for rule-by-rule tests (weights chosen to make the arithmetic readable)."""
    fields: dict[str, object] = {
        "name": "test",
        "actors": (Actor("putin", "Vladimir Putin", ("Putin", "Путин*")), Actor("nato", "NATO", ("OTAN", "НАТО"))),
        "keywords": (Keyword("war", 2.0), Keyword("attack*", 2.0), Keyword("nuclear strike", 5.0),
                     Keyword("war film", 0.0), Keyword("ceasefire", -2.0), Keyword("talks", -1.0)),
        "severities": ((Severity.WATCH, 4.0), (Severity.WARNING, 8.0), (Severity.CRITICAL, 16.0)),
    }
    fields.update(overrides)
    return Watchlist(**fields)  # type: ignore[arg-type]


def kinds(s: Score) -> dict[str, list[str]]:
    """The matched terms of a score's contributions, by kind."""
    out: dict[str, list[str]] = {}
    for c in s.contributions:
        out.setdefault(c.kind, []).append(c.term)
    return out
