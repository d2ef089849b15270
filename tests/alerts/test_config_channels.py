"""channels.yaml's delivery keys: valid ones load, every mistake names file, line and field."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from tests.alerts.helpers import watchlist
from tests.support.configdir import write_config

VALID = """\
channels:
  ops:
    urls: ["console://"]
    rate_limit: {messages: 5, per: 10m}
    summary_size: 40
    quiet_hours: {start: 22:00, end: "07:00", timezone: Europe/Berlin, bypass: critical}
    fallback: {channel: mail, after: 15m}
  mail:
    urls: ["console://"]
    digest: {cron: "0 8 * * 1-5", timezone: America/New_York}
    rate_limit: null
"""


def _dir(tmp_path: Path, channels: str) -> Path:
    directory = write_config(tmp_path / "config", watchlists={"w": watchlist(["ops"])})
    (directory / "channels.yaml").write_text(channels, encoding="utf-8")
    return directory


def test_valid_channel_settings_load(tmp_path: Path) -> None:
    config = load_config(_dir(tmp_path, VALID), env={})
    ops, mail = config.channels["ops"], config.channels["mail"]
    assert ops.rate_limit is not None and (ops.rate_limit.messages, ops.rate_limit.per) == (5, 600.0)
    assert ops.quiet_hours is not None and ops.quiet_hours.start == time(22, 0)  # unquoted 22:00 too
    assert ops.fallback is not None and ops.fallback.after == 900.0
    assert mail.rate_limit is None and mail.digest is not None
    assert config.channels["mail"].summary_size == 25  # the default


@pytest.mark.parametrize(("old", "new", "line", "field", "words"), [
    ("start: 22:00", "start: '25:00'", 6, "channels.ops.quiet_hours.start", "invalid time"),
    ("timezone: Europe/Berlin", "timezone: Mars/Olympus", 6, "channels.ops.quiet_hours.timezone", "unknown time zone"),
    ("channel: mail, after", "channel: pager, after", 7, "channels.ops.fallback.channel", "another configured channel"),
    ('cron: "0 8 * * 1-5"', 'cron: "0 25 * * *"', 10, "channels.mail.digest", "invalid cron"),
    ("messages: 5", "messages: 0", 4, "channels.ops.rate_limit.messages", "greater than 0"),
    ("summary_size: 40", "summary_sise: 40", 5, "channels.ops.summary_sise", "unknown key"),
    ("bypass: critical", "bypass: urgent", 6, "channels.ops.quiet_hours.bypass", "critical"),
])
def test_mistakes_name_file_line_and_field(tmp_path: Path, old: str, new: str, line: int, field: str,
                                          words: str) -> None:
    directory = _dir(tmp_path, VALID.replace(old, new))
    with pytest.raises(ConfigError) as caught:
        load_config(directory, env={})
    message = str(caught.value.problems[0])
    assert message.startswith(f"{directory}/channels.yaml:{line}: {field}: "), message
    assert words in message


def test_fallbacks_may_not_loop(tmp_path: Path) -> None:
    looped = VALID.replace('    rate_limit: null\n', '    rate_limit: null\n    fallback: {channel: ops}\n')
    with pytest.raises(ConfigError) as caught:
        load_config(_dir(tmp_path, looped), env={})
    assert any("loop" in str(p) and "fallback.channel" in str(p) for p in caught.value.problems)
