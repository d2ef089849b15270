"""`monitor evaluate`: a labelled file scored against the shipped watchlist; bad files refused naming the line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import cli

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "config")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_labelled_csv_is_scored_and_summarised(tmp_path: Path) -> None:
    labelled = tmp_path / "set.csv"
    labelled.write_text("title,summary,label\n"
                        "Russia threatens NATO with nuclear strike,,2\n"
                        "Putin warns of imminent war with NATO,,2\n"
                        "Football club wins the cup,Fans celebrate,0\n"
                        "Recipe: a winter soup,,0\n", encoding="utf-8")
    code, out, _ = _run("evaluate", str(labelled), "--config", CONFIG, "--json")
    assert code == 0
    (report,) = [json.loads(line) for line in out.splitlines()]
    assert report["watchlist"] == "russia-nato" and report["counts"] == [2, 0, 2]
    assert report["auc"] == 1.0
    assert report["auc_interval"] == [1.0, 1.0]  # every resample of a perfect separation is perfect
    assert all(len(at["f1_interval"]) == 2 for at in report["at"])
    assert [sum(row) for row in report["confusion"]] == [2, 0, 2]


def test_min_auc_sets_the_exit_code(tmp_path: Path) -> None:
    labelled = tmp_path / "set.yaml"
    labelled.write_text("items:\n"
                        "  - {text: Weather is mild today, label: 2}\n"
                        "  - {text: Russia threatens NATO with nuclear strike, expected: none}\n", encoding="utf-8")
    code, out, _ = _run("evaluate", str(labelled), "--config", CONFIG, "--min-auc", "0.9")
    assert code == 1
    assert "AUC (2 against 0) 0.000 [0.00-0.00]" in out
    assert "95% bootstrap interval" in out


def test_a_bad_row_is_refused_with_its_line(tmp_path: Path) -> None:
    labelled = tmp_path / "set.csv"
    labelled.write_text("text,label\nfine,0\nbroken,7\n,1\n", encoding="utf-8")
    code, _, err = _run("evaluate", str(labelled), "--config", CONFIG)
    assert code == 2
    assert "set.csv:3: label: '7' is not 0, 1 or 2" in err
    assert "set.csv:4: text: missing" in err


def test_a_bad_yaml_row_names_its_line(tmp_path: Path) -> None:
    labelled = tmp_path / "set.yaml"
    labelled.write_text("- {text: one, label: 0}\n- {text: two}\n", encoding="utf-8")
    code, _, err = _run("evaluate", str(labelled), "--config", CONFIG)
    assert code == 2
    assert "set.yaml:2: label: missing" in err
