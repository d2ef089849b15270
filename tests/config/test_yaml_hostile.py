"""Hostile configuration (issue 16): YAML aliases that multiply (row 7), and `${VAR}` where a secret would be shown
(row 8). Both are refused with the file and the line, by `monitor check` and by every load (a hot reload too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.config.yamlfile import MAX_ALIAS_VALUES
from monitor.errors import ConfigError
from tests.conftest import run_monitor
from tests.support.configdir import write_config
from tests.support.daemonproc import watchlist


def _laughs(levels: int) -> str:
    """feeds.yaml whose tags are nine aliases of nine aliases ... of nine strings: 9**levels values expanded."""
    lines = ["feeds:", "  - url: https://example.org/0.xml", "    tags: &l0 [" + ", ".join(["lol"] * 9) + "]"]
    for level in range(1, levels + 1):
        lines += [f"  - url: https://example.org/{level}.xml",
                  f"    tags: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]"]
    return "\n".join(lines) + "\n"


def _directory(tmp_path: Path, **files: str) -> Path:
    directory = write_config(tmp_path / "config", watchlists={"test": watchlist("alpha")})
    for name, text in files.items():
        (directory / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return directory


def _problems(directory: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(directory, env=env or {})
    return [str(problem) for problem in caught.value.problems]


def test_billion_laughs_is_refused_by_monitor_check_with_file_and_line(tmp_path: Path) -> None:
    directory = _directory(tmp_path, feeds_yaml=_laughs(9))  # 9**9: 387 million values once expanded
    result = run_monitor("check", "--config", str(directory), timeout=60)
    assert result.returncode == 2
    # Refused at the first alias past the budget: levels 1-4 add 74,718 values, level 5's first alias 66,430 more.
    assert f"{directory}/feeds.yaml:13: invalid YAML: too many YAML aliases" in result.stderr
    assert f"more than {MAX_ALIAS_VALUES} values" in result.stderr


def test_an_alias_inside_its_own_anchor_and_deep_nesting_are_refused(tmp_path: Path) -> None:
    loop = "feeds:\n  - url: https://example.org/a.xml\n    tags: &t [a, *t]\n"
    assert _problems(_directory(tmp_path, feeds_yaml=loop)) == [
        f"{tmp_path}/config/feeds.yaml:3: invalid YAML: the alias *t is inside the block it names (a loop)"]
    deep = "feeds:\n  - url: https://example.org/a.xml\n    tags: " + "[" * 150 + "]" * 150 + "\n"
    assert _problems(_directory(tmp_path, feeds_yaml=deep)) == [
        f"{tmp_path}/config/feeds.yaml:3: invalid YAML: nested deeper than 100 levels"]
    deeper = "feeds:\n  - url: https://example.org/a.xml\n    tags: " + "[" * 5000 + "]" * 5000 + "\n"
    assert _problems(_directory(tmp_path, feeds_yaml=deeper)) == [  # libyaml's parser stops it before composing
        f"{tmp_path}/config/feeds.yaml:3: invalid YAML: exceeded maximum nesting depth"]


def test_ordinary_anchors_aliases_and_merge_keys_still_load(tmp_path: Path) -> None:
    rows = ["feeds:", "  - &first {url: https://example.org/0.xml, name: f0, interval: 15m, tags: &tags [a, b]}"]
    rows += [f"  - {{<<: *first, url: 'https://example.org/{i}.xml', name: f{i}}}" for i in range(1, 3000)]
    rows += ["  - {url: https://example.org/x.xml, name: x, tags: *tags}"]
    directory = _directory(tmp_path, feeds_yaml="\n".join(rows) + "\n")
    config = load_config(directory, env={})
    assert len(config.feeds) == 3001  # 2,999 merges of an 11-value mapping: 33,000 values, within the budget
    assert config.feeds[5].name == "f5" and config.feeds[5].interval == 900 and config.feeds[5].tags == ("a", "b")
    assert config.feeds[-1].tags == ("a", "b")
    # A block of defaults under a key of its own is still an unknown key, reported on its line.
    defaults = "defaults: &defaults {interval: 15m, tags: [world]}\nfeeds:\n  - {<<: *defaults, url: 'https://e.org/a'}\n"
    (directory / "feeds.yaml").write_text(defaults, encoding="utf-8")
    assert _problems(directory) == [f"{directory}/feeds.yaml:1: defaults: unknown key (check the spelling)"]


def test_a_variable_in_a_feed_name_is_refused_naming_file_line_and_field(tmp_path: Path) -> None:
    feeds = "feeds:\n  - url: https://example.org/a.xml\n    name: \"x-${SECRET}\"\n"
    directory = _directory(tmp_path, feeds_yaml=feeds)
    result = run_monitor("check", "--config", str(directory), env={"SECRET": "hunter2-in-a-name"}, timeout=60)
    assert result.returncode == 2
    assert (f"{directory}/feeds.yaml:3: feeds[0].name: environment variables (${{VAR}}) are allowed only in "
            f"channel URLs") in result.stderr
    assert "hunter2-in-a-name" not in result.stdout + result.stderr
    result = run_monitor("feeds", "--config", str(directory), env={"SECRET": "hunter2-in-a-name"}, timeout=60)
    assert result.returncode == 2 and "hunter2-in-a-name" not in result.stdout + result.stderr


@pytest.mark.parametrize(("name", "text", "where"), [
    ("feeds.yaml", "feeds:\n  - url: https://example.org/a.xml?key=${SECRET}\n", "feeds.yaml:2: feeds[0].url"),
    ("feeds.yaml", "feeds:\n  - url: https://example.org/a.xml\n    tags: [a, \"${SECRET}\"]\n",
     "feeds.yaml:3: feeds[0].tags[1]"),
    ("channels.yaml", "channels:\n  console:\n    urls: [\"console://\"]\n    digest: {cron: \"${SECRET}\"}\n",
     "channels.yaml:4: channels.console.digest.cron"),
    ("monitor.yaml", "database: sqlite:///x.db\npolling:\n  user_agent: \"bot ${SECRET}\"\n",
     "monitor.yaml:3: polling.user_agent"),
    ("watchlists/test.yaml", "name: \"w-${SECRET}\"\nkeywords: [{term: war, weight: 2}]\n"
     "severities: {watch: 2, warning: 4}\n", "watchlists/test.yaml:1: name"),
])
def test_a_variable_outside_the_secret_places_is_refused(tmp_path: Path, name: str, text: str, where: str) -> None:
    directory = write_config(tmp_path / "config", watchlists={"test": watchlist("alpha")})
    (directory / name).write_text(text, encoding="utf-8")
    problems = _problems(directory, env={"SECRET": "s3cr3t"})
    assert any(p.startswith(f"{directory}/{where}: environment variables (${{VAR}}) are allowed only in")
               for p in problems), problems
    assert not any("s3cr3t" in p for p in problems)


def test_variables_in_channel_urls_the_database_url_and_the_http_token_are_substituted(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path}/monitor.db"
    directory = write_config(tmp_path / "config", channels={"hook": {"urls": ["json://bot:${PW}@127.0.0.1/x"]}},
                             database="${DATABASE_URL}", settings={"http": {"token": "${HTTP_TOKEN}"}})
    env = {"PW": "hunter2", "DATABASE_URL": database, "HTTP_TOKEN": "t" * 32}
    config = load_config(directory, env=env)
    assert config.channels["hook"].urls == ("json://bot:hunter2@127.0.0.1/x",)
    assert config.database_url == database
    token = config.settings.http.token
    assert token is not None and token.get_secret_value() == "t" * 32
    # A "$" that names no variable is plain text, wherever it is.
    (directory / "feeds.yaml").write_text("feeds:\n  - url: https://example.org/a.xml\n    name: \"costs ${5}\"\n",
                                          encoding="utf-8")
    assert load_config(directory, env=env).feeds[0].name == "costs ${5}"
