"""Items get the language of their text when the feed declares none or the wrong one (issue 18, language ID)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.core.scoring import Scorer
from monitor.domain import Document
from monitor.feeds.language import detect, item_language
from monitor.feeds.pool import CpuPool, Ingested
from tests.conftest import ROOT, run_monitor

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
RUSSIAN = "Россия не планирует нападение на страны НАТО, заявил Песков"
UKRAINIAN = "Росія завдала ракетного удару по Харкову, повідомили у міській раді"
GERMAN = "Russland plant keinen Angriff auf die NATO, sagt der Kreml am Montag"
ENGLISH = "Russia says it has no plans to attack NATO countries, the Kremlin said"


@pytest.mark.parametrize(("text", "language"), [(RUSSIAN, "ru"), (UKRAINIAN, "uk"), (GERMAN, "de"),
                                                (ENGLISH, "en")])
def test_the_language_of_a_headline(text: str, language: str) -> None:
    assert detect(text) == language


def test_too_little_text_keeps_what_the_feed_said() -> None:
    assert detect("NATO") is None and detect("12:00 — 3") is None
    assert item_language("Путин", "", "ru") == "ru" and item_language("Путин", "", None) is None
    assert item_language(RUSSIAN, "", "de") == "ru"  # the feed said German: the text says otherwise


def _rss(language: str | None, titles: list[str]) -> bytes:
    lang = f"<language>{language}</language>" if language else ""
    items = "".join(f'<item><title>{t}</title><guid isPermaLink="false">g{n}</guid></item>'
                    for n, t in enumerate(titles))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{lang}{items}</channel></rss>'.encode()


def _ingest(document: bytes, known: frozenset[str] = frozenset()) -> Ingested:
    scorer_watchlists = load_config(ROOT / "config", env={}).watchlists

    async def go() -> Ingested:
        pool = CpuPool(0, scorer_watchlists)
        return await pool.ingest(document, known=known, feed="f", url="http://127.0.0.1/f", now=NOW)
    return asyncio.run(go())


def test_new_items_are_stored_and_scored_in_the_language_of_their_text() -> None:
    ingested = _ingest(_rss("de", [RUSSIAN, GERMAN, "Kurz: NATO"]))
    assert [i.language for i in ingested.parsed.items] == ["ru", "de", "de"]
    shipped = Scorer(load_config(ROOT / "config", env={}).watchlists)
    [as_russian] = shipped.score(Document(RUSSIAN), language="ru")
    [as_german] = shipped.score(Document(RUSSIAN), language="de")
    assert as_russian.value != as_german.value  # the language matters to the score...
    assert ingested.scores["g0"][0].value == as_russian.value  # ...and the Russian reading is the one used
    undeclared = _ingest(_rss(None, [UKRAINIAN]))
    assert [i.language for i in undeclared.parsed.items] == ["uk"]


def test_known_items_are_not_read_again() -> None:
    ingested = _ingest(_rss("de", [RUSSIAN]), known=frozenset({"g0"}))
    assert [i.language for i in ingested.parsed.items] == ["de"] and ingested.scores == {}


def test_monitor_score_says_which_language_it_scored_in(tmp_path: Path) -> None:
    done = run_monitor("score", "-", "--json", "--config", str(ROOT / "config"), input_text=RUSSIAN)
    assert done.returncode == 0, done.stderr
    assert {json.loads(line)["language"] for line in done.stdout.splitlines()} == {"ru"}
    table = run_monitor("score", "-", "--config", str(ROOT / "config"), input_text=GERMAN)
    assert "[de]" in table.stdout
