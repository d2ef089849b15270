"""`monitor stories` and `monitor backtest` as a user runs them: subprocesses on a database the test fills through
the real refresh path (items fetched now, so `--since` finds them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from tests.alerts.helpers import Clock
from tests.conftest import run_monitor
from tests.stories.helpers import many_feeds, webhook_channel
from tests.support.db import query
from tests.support.servers import HttpServer, WebhookReceiver

ITEMS = [("a1", "NATO war games begin on the eastern flank as allies mass troops", "http://wire.invalid/a1"),
         ("b1", "Harvest festival draws record crowds to the old town square", "http://wire.invalid/b1")]


def _populate(tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> Path:
    s = many_feeds(tmp_path, feed_server, database_url, 6, ITEMS, webhook_channel(webhook.port),
                   clock=Clock(datetime.now(UTC) - timedelta(hours=2)))
    try:
        s.poll()
    finally:
        s.close()
    return s.config_dir


def test_monitor_stories_lists_stories_with_sources_score_and_severity(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> None:
    config = _populate(tmp_path, feed_server, database_url=database_url, webhook=webhook)
    result = run_monitor("stories", "--since", "24h", "--config", str(config))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["story", "first", "seen", "sources", "best", "score", "severity", "title"]
    nato = next(line for line in lines if "NATO war games" in line)
    harvest = next(line for line in lines if "Harvest festival" in line)
    assert " 6 " in nato and "warning" in nato
    assert " 6 " in harvest and "none" in harvest
    assert lines.index(nato) < lines.index(harvest)  # highest score first

    quiet = run_monitor("stories", "--since", "30m", "--config", str(config))
    assert quiet.returncode == 0 and "NATO" not in quiet.stdout
    bad = run_monitor("stories", "--since", "soon", "--config", str(config))
    assert bad.returncode == 2 and "invalid duration" in bad.stderr


def test_monitor_backtest_replays_without_sending_or_writing_and_draws_a_chart(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> None:
    config = _populate(tmp_path, feed_server, database_url=database_url, webhook=webhook)
    before = query(database_url, "select count(*) from alerts")
    posts = len(webhook.posts())
    chart = tmp_path / "out" / "backtest.png"
    chart.parent.mkdir()
    result = run_monitor("backtest", "--since", "7d", "--watchlist", "escalation", "--chart", str(chart),
                         "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "replayed 12 items: 2 alerts would have gone out" in out
    assert "story_first" in out and "story_update" in out and "5 sources" in out
    today = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d")
    assert any(line.startswith(today) and "escalation" in line for line in out.splitlines())
    data = chart.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    with Image.open(chart) as image:
        assert image.format == "PNG" and image.size[0] > 0
        image.verify()
    assert query(database_url, "select count(*) from alerts") == before  # nothing written
    assert len(webhook.posts()) == posts  # nothing sent

    unknown = run_monitor("backtest", "--watchlist", "nope", "--config", str(config))
    assert unknown.returncode == 2 and "no watchlist 'nope'" in unknown.stderr
