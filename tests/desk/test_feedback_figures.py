"""Feedback figures (issue 17): `monitor evaluate --feedback` and the /metrics gauges, on verdicts seeded through
the store (store.triage.record_feedback) on the real database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import Engine

from monitor.cli import cli
from monitor.core.feedback import iso_week, weeks_start
from monitor.runtime.metrics import FeedbackCollector, Metrics
from monitor.store import repo, triage
from monitor.store.db import session
from monitor.store.tables import AlertRow
from tests.stories.helpers import engine_at_head
from tests.support.configdir import write_config

NOW = datetime.now(UTC)
THIS_WEEK = weeks_start(NOW, 1) + (NOW - weeks_start(NOW, 1)) / 2
LAST_WEEK = weeks_start(NOW, 1) - timedelta(days=3)
LONG_AGO = weeks_start(NOW, 1) - timedelta(weeks=10)
# (watchlist, when, verdict, reason)
SEED = [("russia-nato", THIS_WEEK, "useful", None), ("russia-nato", THIS_WEEK, "noise", "wrong_actor"),
        ("russia-nato", THIS_WEEK, "noise", "wrong_actor"), ("russia-nato", THIS_WEEK, "noise", "denial"),
        ("russia-nato", LAST_WEEK, "useful", None), ("russia-nato", LAST_WEEK, "useful", None),
        ("russia-nato", LONG_AGO, "noise", "duplicate"), ("taiwan", THIS_WEEK, "noise", "background")]


def seed(engine: Engine, verdicts: list[tuple[str, datetime, str, str | None]]) -> None:
    with session(engine) as s:
        for n, (watchlist, at, verdict, reason) in enumerate(verdicts):
            alert_id = repo.add_alert(s, repo.NewAlert(
                dedup_key=f"seed-{watchlist}-{n}-{at.isoformat()}", item_id=None, watchlist=watchlist, severity=2,
                score=5.0, message={"title": f"alert {n}"}, channels=()), at)
            alert = s.get(AlertRow, alert_id)
            assert alert is not None
            triage.record_feedback(s, alert, verdict, user="ana", now=at, reason=reason)
        s.commit()


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[tuple[Path, Engine]]:
    config = write_config(tmp_path / "config", database=database_url)
    engine = engine_at_head(database_url)
    seed(engine, SEED)
    yield config, engine
    engine.dispose()


def test_feedback_per_watchlist_and_week_as_json(desk: tuple[Path, Engine]) -> None:
    config, _ = desk
    result = CliRunner().invoke(cli, ["evaluate", "--feedback", "--weeks", "2", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["watchlist"], r["week"], r["useful"], r["noise"]) for r in rows] == [
        ("russia-nato", iso_week(LAST_WEEK), 2, 0), ("russia-nato", iso_week(THIS_WEEK), 1, 3),
        ("taiwan", iso_week(THIS_WEEK), 0, 1)]  # the verdict of ten weeks ago is outside --weeks 2
    assert rows[0]["noise_share"] == 0.0 and rows[1]["noise_share"] == pytest.approx(0.75)
    assert rows[1]["noise_reasons"] == [{"reason": "wrong_actor", "count": 2}, {"reason": "denial", "count": 1}]


def test_feedback_as_a_table_for_one_watchlist(desk: tuple[Path, Engine]) -> None:
    config, _ = desk
    result = CliRunner().invoke(cli, ["evaluate", "--feedback", "--weeks", "12", "--watchlist", "russia-nato",
                                      "--config", str(config)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["watchlist", "week", "useful", "noise", "noise", "share", "top", "noise", "reasons"]
    this_week = next(line for line in lines if iso_week(THIS_WEEK) in line)
    assert this_week.split()[2:5] == ["1", "3", "75%"] and "wrong_actor (2), denial (1)" in this_week
    assert iso_week(LONG_AGO) in result.stdout and "duplicate (1)" in result.stdout
    assert "taiwan" not in result.stdout


def test_no_feedback_says_so(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path / "config", database=database_url)
    result = CliRunner().invoke(cli, ["evaluate", "--feedback", "--config", str(config)])
    assert result.exit_code == 0 and "no feedback in the last 8 week(s)" in result.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["--feedback", "--weeks", "0"], "--weeks"), (["--feedback", "labelled.csv"], "FILE or --feedback"),
    ([], "FILE or --feedback"), (["--feedback", "--weeks", "many"], "--weeks")])
def test_bad_feedback_options_are_usage_errors(tmp_path: Path, args: list[str], says: str) -> None:
    config = write_config(tmp_path / "config")
    result = CliRunner().invoke(cli, ["evaluate", *args, "--config", str(config)])
    assert result.exit_code == 2 and says in result.output


def _scrape(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_metrics_carry_the_feedback_series(desk: tuple[Path, Engine]) -> None:
    _, engine = desk
    metrics = Metrics()
    metrics.watch_store(lambda: engine)
    text = _scrape(metrics.registry)
    assert "# TYPE monitor_feedback gauge" in text
    assert 'monitor_feedback{verdict="noise",watchlist="russia-nato"} 4.0' in text
    assert 'monitor_feedback{verdict="useful",watchlist="russia-nato"} 3.0' in text
    assert 'monitor_feedback{verdict="noise",watchlist="taiwan"} 1.0' in text
    assert 'monitor_feedback_noise_reasons{reason="wrong_actor",watchlist="russia-nato"} 2.0' in text
    assert 'monitor_feedback_noise_reasons{reason="duplicate",watchlist="russia-nato"} 1.0' in text
    recent = 3 if NOW - timedelta(days=7) <= LAST_WEEK else 1  # last week's verdicts fall in the 7 days or not
    assert f'monitor_feedback_7d{{verdict="useful",watchlist="russia-nato"}} {recent}.0' in text
    assert 'monitor_database_up 1.0' in text


def test_the_feedback_gauges_read_the_database_at_most_once_a_minute(desk: tuple[Path, Engine]) -> None:
    _, engine = desk
    reads: list[int] = []
    clock = [1000.0]

    def counted() -> Engine:
        reads.append(1)
        return engine

    registry = CollectorRegistry()
    registry.register(FeedbackCollector(counted, clock=lambda: clock[0]))
    assert reads == []  # registering reads nothing
    assert 'monitor_feedback{verdict="useful",watchlist="taiwan"}' not in _scrape(registry)
    seed(engine, [("taiwan", NOW, "useful", None)])
    clock[0] += 30
    assert 'monitor_feedback{verdict="useful",watchlist="taiwan"}' not in _scrape(registry)  # cached
    clock[0] += 31
    assert 'monitor_feedback{verdict="useful",watchlist="taiwan"} 1.0' in _scrape(registry)
    assert len(reads) == 2


def test_a_failing_database_keeps_the_last_figures(desk: tuple[Path, Engine]) -> None:
    _, engine = desk
    clock = [0.0]
    engines = [engine]

    def current() -> Engine:
        if not engines:
            raise RuntimeError("database is gone")
        return engines[0]

    registry = CollectorRegistry()
    registry.register(FeedbackCollector(current, clock=lambda: clock[0]))
    before = _scrape(registry)
    engines.clear()
    clock[0] += 120
    assert _scrape(registry) == before and 'watchlist="russia-nato"} 4.0' in before
