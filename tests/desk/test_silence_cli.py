"""`monitor silence add|list|expire` (issue 17), through the real command line in-process (click's runner) on the
real database; the last test adds a silence from the CLI and sees the next matching alert held, and how
`monitor alerts list` and `alerts show` present it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from tests.alerts.helpers import Clock, Setup, serve_feed, watchlist
from tests.support.configdir import write_config
from tests.support.servers import HttpServer, WebhookReceiver


def run(config: Path, *args: str, user: str = "ana") -> Result:
    return CliRunner().invoke(cli, [*args, "--config", str(config)], env={"USER": user})


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    return write_config(tmp_path / "config", database=database_url)


def test_add_list_and_expire(config: Path) -> None:
    added = run(config, "silence", "add", "-m", "watchlist=nato", "-m", "text=drill", "--for", "2h",
                "--comment", "Steadfast exercise")
    assert added.exit_code == 0, added.output
    assert added.stdout.startswith("silence 1 added: watchlist=nato text=drill, active from ")
    listed = run(config, "silence", "list")
    assert listed.exit_code == 0
    row = listed.stdout.splitlines()[2].split()
    assert row[:4] == ["1", "active", "watchlist=nato", "text=drill"] and "ana" in row
    (item,) = [json.loads(line) for line in run(config, "silence", "list", "--json").stdout.splitlines()]
    assert item["matchers"] == [{"field": "watchlist", "value": "nato"}, {"field": "text", "value": "drill"}]
    assert (item["state"], item["author"], item["comment"]) == ("active", "ana", "Steadfast exercise")
    span = datetime.fromisoformat(item["ends_at"]) - datetime.fromisoformat(item["starts_at"])
    assert span == timedelta(hours=2)

    expired = run(config, "silence", "expire", "1")
    assert expired.exit_code == 0 and "silence 1 expired: watchlist=nato text=drill" in expired.stdout
    assert run(config, "silence", "list", "--json").stdout == ""  # only active and pending ones
    (old,) = [json.loads(line) for line in run(config, "silence", "list", "--all", "--json").stdout.splitlines()]
    assert old["state"] == "expired"
    again = run(config, "silence", "expire", "1")
    assert again.exit_code == 0 and "had already ended" in again.stdout
    missing = run(config, "silence", "expire", "99")
    assert missing.exit_code == 2 and "no silence 99" in missing.stderr


def test_a_silence_may_start_later_and_end_at_a_given_time(config: Path) -> None:
    start = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    until = start + timedelta(hours=3)
    added = run(config, "silence", "add", "-m", "actor=Vladimir Putin", "--start", start.isoformat(),
                "--until", until.isoformat(), "--comment", "speech replayed all day", "--author", "desk lead",
                "--json")
    assert added.exit_code == 0, added.output
    item = json.loads(added.stdout)
    assert item["state"] == "pending" and item["author"] == "desk lead"
    assert datetime.fromisoformat(item["ends_at"]) == until
    assert "pending" in run(config, "silence", "list").stdout


@pytest.mark.parametrize(("args", "says"), [
    (["-m", "colour=red", "--for", "1h"], "'-m' / '--matcher': matcher 'colour=red'"),
    (["-m", "watchlist=", "--for", "1h"], "the value is empty"),
    (["-m", "watchlist", "--for", "1h"], "expected FIELD=VALUE"),
    (["--for", "1h"], "Missing option '-m' / '--matcher'"),
    (["-m", "tag=world", "--for", "2x"], "'--for': '2x'"),
    (["-m", "tag=world", "--for", "0s"], "must last a while"),
    (["-m", "tag=world"], "give --for DURATION or --until TIME"),
    (["-m", "tag=world", "--for", "1h", "--until", "2099-01-01T00:00Z"], "give --for DURATION or --until TIME"),
    (["-m", "tag=world", "--until", "2020-01-01T00:00+00:00"], "'--until': the silence would end in the past"),
    (["-m", "tag=world", "--until", "next tuesday"], "'--until': 'next tuesday' is not an ISO 8601 time"),
    (["-m", "tag=world", "--start", "2099-01-02T00:00Z", "--until", "2099-01-01T00:00Z"], "before it starts"),
])
def test_bad_options_are_named_and_exit_2(config: Path, args: list[str], says: str) -> None:
    result = run(config, "silence", "add", *args, "--comment", "why")
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert run(config, "silence", "list", "--all", "--json").stdout == ""  # nothing written


def test_a_silence_needs_a_reason(config: Path) -> None:
    blank = run(config, "silence", "add", "-m", "tag=world", "--for", "1h", "--comment", "  ")
    assert blank.exit_code == 2 and "'--comment'" in blank.output
    missing = run(config, "silence", "add", "-m", "tag=world", "--for", "1h")
    assert missing.exit_code == 2 and "--comment" in missing.output


def test_a_silence_from_the_cli_holds_the_next_matching_alert(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> None:
    url = serve_feed(feed_server, [("w1", "NATO war games drill in the Baltic")])
    config = write_config(tmp_path / "config", feeds=[{"url": url, "name": "Wire", "tags": ["baltic"]}],
                          channels={"hook": {"urls": [f"json://127.0.0.1:{webhook.port}/hook"]}},
                          watchlists={"escalation": watchlist(["hook"])}, database=database_url)
    assert run(config, "silence", "add", "-m", "tag=baltic", "-m", "actor=nato", "--for", "1h",
               "--comment", "BALTOPS").exit_code == 0
    s = Setup(config, clock=Clock(datetime.now(UTC)))  # the CLI's silence runs on the real clock
    try:
        s.poll()
        s.deliver()
    finally:
        s.close()
    assert webhook.posts() == []
    listed = run(config, "alerts", "list", "--status", "held")
    assert listed.exit_code == 0 and "held (silence:1)" in listed.stdout and "drill in the Baltic" in listed.stdout
    assert "held (silence:1)" not in run(config, "alerts", "list", "--status", "pending").stdout
    shown = run(config, "alerts", "show", "1")
    assert shown.exit_code == 0 and "not sent: held by silence:1 (recorded, no deliveries)" in shown.stdout
