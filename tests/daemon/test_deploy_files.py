"""Dockerfile, docker-compose.yml and the systemd unit agree with the code (no Docker engine is needed).

What each checks: the entry point and sub-commands exist, ports and listen addresses match, every
environment variable given to the service is one the code or the documented config reads, volumes
land where the code looks, and stop timeouts exceed the daemon's grace period.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from monitor.cli import cli
from monitor.config import HttpSettings, MonitorSettings, load_config, parse_duration
from monitor.errors import ConfigError
from tests.support.configdir import write_config

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
MAILPIT_CHANNEL = "mailto://${SMTP_HOST}:${SMTP_PORT}?from=monitor@example.org&to=desk@example.org&mode=insecure"


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the final stage, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    stages = [i for i, line in enumerate(lines) if line.upper().startswith("FROM ")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines[stages[-1]:]]


def _one(instruction: str) -> str:
    found = [args for name, args in _dockerfile() if name == instruction]
    assert found, f"Dockerfile has no {instruction}"
    return found[-1]


def _env() -> dict[str, str]:
    env: dict[str, str] = {}
    for args in (a for name, a in _dockerfile() if name == "ENV"):
        for part in shlex.split(args):
            key, _, value = part.partition("=")
            env[key] = value
    return env


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return data


def _command_exists(words: list[str]) -> bool:
    """`monitor run`, `monitor health --check`: the sub-command and its options are really there."""
    group: click.Command = cli
    options = [w for w in words if w.startswith("-")]
    for word in (w for w in words if not w.startswith("-")):
        if not isinstance(group, click.Group) or word not in group.commands:
            return False
        group = group.commands[word]
    declared = {opt for p in group.params for opt in getattr(p, "opts", [])}
    return all(opt in declared for opt in options)


def _read_by_code(name: str) -> bool:
    sources = [*ROOT.joinpath("monitor").rglob("*.py"), *ROOT.joinpath("alerts").rglob("*.py")]
    return any(f'"{name}"' in path.read_text(encoding="utf-8") for path in sources)


TOKEN = "t" * 16  # listening beyond loopback needs one (MONITOR_HTTP_TOKEN)


def _port(listen: str) -> int:
    return HttpSettings(listen=listen, token=TOKEN).address[1]


def test_dockerfile_runs_the_real_entry_point_as_a_non_root_user() -> None:
    entry, cmd = json.loads(_one("ENTRYPOINT")), json.loads(_one("CMD"))
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry == ["monitor"] and scripts["monitor"] == "monitor.cli:main"
    assert _command_exists(cmd) and cmd == ["run"]
    health = json.loads(_one("HEALTHCHECK").split("CMD", 1)[1].strip())
    assert health[0] == "monitor" and _command_exists(health[1:]) and "--check" in health
    assert _one("USER") not in ("root", "0")
    base = _one("FROM")
    assert re.fullmatch(r"python:3\.1[1-9]-slim", base), base  # pyproject asks for >=3.11


def test_dockerfile_port_env_and_paths_match_the_code() -> None:
    env = _env()
    for name in env:
        if name.startswith("MONITOR_"):
            assert _read_by_code(name), f"{name} is set in the Dockerfile but nothing reads it"
    assert int(_one("EXPOSE")) == _port(env["MONITOR_HTTP_LISTEN"]) == _port(HttpSettings().listen)
    assert env["MONITOR_DATABASE_URL"].startswith("sqlite:////data/")
    assert '"/data"' in _one("VOLUME") and _one("WORKDIR") == "/data"
    assert any(name == "COPY" and args.split()[-1] == env["MONITOR_CONFIG"] for name, args in _dockerfile())
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "postgres" in extras and "model" in extras
    assert "ARG EXTRAS=postgres\n" in dockerfile and '".[${EXTRAS}]"' in dockerfile  # the model: --build-arg
    for source in ("pyproject.toml", "README.md", "monitor", "alerts", "config"):
        assert (ROOT / source).exists(), source


def test_compose_service_matches_the_image_and_the_configuration(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"monitor", "postgres", "mailpit"}
    monitor = services["monitor"]
    env = {str(k): str(v) for k, v in monitor["environment"].items()}
    assert monitor["build"] == "." and (ROOT / "Dockerfile").is_file()

    # Environment: the MONITOR_* names are read by the code; the others by the documented Mailpit channel.
    for name in env:
        if name.startswith("MONITOR_"):
            assert _read_by_code(name), name
        else:
            assert f"${{{name}}}" in MAILPIT_CHANNEL, f"{name} is set but no documented channel uses it"
    assert MAILPIT_CHANNEL in OPERATIONS
    assert env["SMTP_HOST"] == "mailpit" and env["SMTP_PORT"] == "1025"  # Mailpit's SMTP port

    # Ports: what is published is what the daemon listens on, and only on the host's loopback.
    published = [str(p) for p in monitor["ports"]]
    assert published == [f"127.0.0.1:{_port(env['MONITOR_HTTP_LISTEN'])}:{_port(env['MONITOR_HTTP_LISTEN'])}"]
    assert _port(env["MONITOR_HTTP_LISTEN"]) == int(_one("EXPOSE"))

    # Volumes: the config lands where MONITOR_CONFIG points, data where the image keeps it.
    targets = {str(v).split(":")[1] for v in monitor["volumes"]}
    assert {env["MONITOR_CONFIG"], "/data"} <= targets
    assert set(compose["volumes"]) >= {str(v).split(":")[0] for v in monitor["volumes"] if not str(v).startswith(".")}

    # The database URL names the postgres service, its user, password variable and database.
    pg = services["postgres"]["environment"]
    url = env["MONITOR_DATABASE_URL"]
    assert url == (f"postgresql+psycopg://{pg['POSTGRES_USER']}:${{POSTGRES_PASSWORD:-monitor}}"
                   f"@postgres:5432/{pg['POSTGRES_DB']}")
    assert pg["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-monitor}"
    assert monitor["depends_on"]["postgres"]["condition"] == "service_healthy"

    # Docker's stop timeout outlasts the daemon's drain.
    assert parse_duration(monitor["stop_grace_period"]) > MonitorSettings().shutdown_grace

    # Listening beyond the container's loopback: compose refuses to start without the page's token.
    assert env["MONITOR_HTTP_TOKEN"].startswith("${MONITOR_HTTP_TOKEN:?")

    # With the compose environment, a config using the documented channel loads and listens where published.
    monkeypatch.setenv("MONITOR_HTTP_TOKEN", TOKEN)  # read from the process environment, as in the container
    config = write_config(tmp_path / "config", channels={"mailpit": {"urls": [MAILPIT_CHANNEL]}})
    loaded = load_config(config, env=env)
    assert loaded.channels["mailpit"].urls == (
        "mailto://mailpit:1025?from=monitor@example.org&to=desk@example.org&mode=insecure",)
    assert loaded.settings.http.address == ("0.0.0.0", 8787)
    assert loaded.database_url.startswith("postgresql+psycopg://monitor:")


def _unit() -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for line in (ROOT / "docs" / "monitor.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def test_systemd_unit_runs_the_daemon_reloads_with_sighup_and_waits_for_the_drain() -> None:
    unit = _unit()
    exec_start = shlex.split(unit["ExecStart"][0])
    assert Path(exec_start[0]).name == "monitor" and _command_exists(exec_start[1:])
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["KillSignal"] == ["SIGTERM"]
    assert parse_duration(f"{unit['TimeoutStopSec'][0]}s") > MonitorSettings().shutdown_grace
    names = {value.split("=", 1)[0] for value in unit["Environment"]}
    assert names and all(_read_by_code(name) for name in names)
    assert unit["User"] != ["root"]


@pytest.mark.parametrize("listen", ["0.0.0.0:8787", "[::1]:9000", "monitor.internal:80"])
def test_listen_addresses_that_deployments_use_are_valid(listen: str) -> None:
    host, port = HttpSettings(listen=listen, token=TOKEN).address
    assert host and 0 < port < 65536


def test_monitor_http_listen_overrides_and_is_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write_config(tmp_path / "config")
    monkeypatch.setenv("MONITOR_HTTP_TOKEN", TOKEN)
    assert load_config(config, env={"MONITOR_HTTP_LISTEN": "0.0.0.0:9100"}).settings.http.address == ("0.0.0.0", 9100)
    with pytest.raises(ConfigError) as caught:
        load_config(config, env={"MONITOR_HTTP_LISTEN": "nowhere"})
    assert str(caught.value.problems[0]).startswith("$MONITOR_HTTP_LISTEN: listen: expected HOST:PORT")
