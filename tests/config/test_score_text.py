"""Text given by hand is cleaned as a feed entry is (issue 16, row 11): entities decoded and markup removed by the
same html_to_text, so `monitor score` and `monitor evaluate` score what the daemon would score for that text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from tests.conftest import run_monitor
from tests.support.configdir import write_config

CLEAN = "Russia threatens NATO with nuclear strike"
DIRTY = (
    "Russia threatens NATO with nuclear&nbsp;strike",
    "Russia threatens NATO with nuclear&#160;strike",
    "Russia threatens NATO with <b>nuclear</b> strike",
    "Russia threatens <a href='https://example.org/x'>NATO</a> with nuclear&nbsp;strike",
)
# A phrase term: undecoded, `nuclear&nbsp;strike` is no "nuclear strike" at all, and the score falls to zero.
WATCHLIST = {"name": "phrase", "actors": [{"id": "nato", "name": "NATO", "aliases": ["NATO"]}],
             "keywords": [{"term": "nuclear strike", "weight": 5}],
             "severities": {"watch": 2, "warning": 4}, "notify": [{"channels": ["console"], "min_severity": "warning"}]}


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_config(tmp_path_factory.mktemp("score") / "config", watchlists={"phrase": WATCHLIST})


def _score_stdin(config: Path, text: str) -> list[dict[str, object]]:
    result = run_monitor("score", "-", "--config", str(config), "--json", input_text=text)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def clean_score(config: Path) -> list[dict[str, object]]:
    scores = _score_stdin(config, CLEAN)
    assert scores[0]["severity"] == "warning"
    contributions = scores[0]["contributions"]
    assert isinstance(contributions, list) and any(c["term"] == "nuclear strike" for c in contributions)
    return scores


@pytest.mark.parametrize("text", DIRTY)
def test_stdin_with_entities_or_markup_scores_as_the_clean_text(
        config: Path, clean_score: list[dict[str, object]], text: str) -> None:
    assert _score_stdin(config, text) == clean_score  # the same score, contributions and spans


def test_a_file_with_title_and_body_is_cleaned_line_by_line(config: Path, tmp_path: Path) -> None:
    dirty, clean = tmp_path / "dirty.txt", tmp_path / "clean.txt"
    dirty.write_text("Talks &amp; threats\n<p>NATO warned of a nuclear&nbsp;strike</p>\n", encoding="utf-8")
    clean.write_text("Talks & threats\nNATO warned of a nuclear strike\n", encoding="utf-8")
    runner = CliRunner()
    out = [runner.invoke(cli, ["score", str(path), "--config", str(config), "--json"]) for path in (dirty, clean)]
    assert [r.exit_code for r in out] == [0, 0]
    dirty_scores, clean_scores = ([json.loads(line) for line in r.stdout.splitlines()] for r in out)
    assert dirty_scores == clean_scores and clean_scores[0]["score"] > 0


def test_evaluate_cleans_labelled_text_too(config: Path, tmp_path: Path) -> None:
    labelled = tmp_path / "set.csv"
    rows = "".join(f'"{text}",2\n' for text in (CLEAN, *DIRTY))
    labelled.write_text("text,label\n" + rows.replace("<a href='https://example.org/x'>", "<a href=x>"),
                        encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", str(labelled), "--config", str(config)])
    assert result.exit_code == 0, result.stderr
    # "label 2 scored lowest" lists each row: its score, severity, line and text, all as the clean row's.
    listed = result.stdout.split("label 2 scored lowest:\n")[1].split("\n\n")[0].splitlines()
    assert len(listed) == len(DIRTY) + 1
    shown = {(line.split()[0], line.split()[1], line.split(": ", 1)[1]) for line in listed}
    assert len(shown) == 1
    ((value, severity, text),) = shown
    assert text == CLEAN and severity == "warning" and float(value) > 0
