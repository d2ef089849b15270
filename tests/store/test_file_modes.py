"""The SQLite database is its owner's alone: 0600 files (-wal and -shm included) in a 0700 directory, whatever the
umask, and the systemd unit sets UMask=0077 for everything else (issue 16, row 10)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from monitor.store.db import make_engine
from monitor.store.migrate import ensure_schema
from tests.support.configdir import write_config
from tests.support.daemonproc import Daemon, daemon_settings

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    """The umask of a default login (0022), which made the file 0644 before; children started meanwhile inherit it."""
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def test_the_daemon_keeps_its_database_private(tmp_path: Path) -> None:
    database = tmp_path / "state" / "db" / "monitor.db"
    config = write_config(tmp_path / "config", settings=daemon_settings(), database=f"sqlite:///{database}")
    with umask(0o022):
        daemon = Daemon(config)
    try:
        daemon.wait_for("daemon_started")  # its connections are open: WAL mode keeps -wal and -shm beside the file
        files = {p.name: mode(p) for p in database.parent.iterdir()}
        assert files == {"monitor.db": 0o600, "monitor.db-wal": 0o600, "monitor.db-shm": 0o600}, files
        assert mode(database.parent) == mode(database.parent.parent) == 0o700  # the directories it made
    finally:
        assert daemon.stop() == 0


def test_an_existing_directory_is_left_alone_and_old_files_are_narrowed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    database = home / "monitor.db"
    with umask(0o022):
        old = make_engine(f"sqlite:///{database}")
    try:
        ensure_schema(old)
        with old.connect() as c:  # a connection left open keeps the -wal and -shm files
            c.execute(text("select 1"))
            for path in (database, database.with_name("monitor.db-wal"), database.with_name("monitor.db-shm")):
                path.chmod(0o644)  # as an older version left them
            engine = make_engine(f"sqlite:///{database}")
            try:
                assert {p.name: mode(p) for p in home.iterdir()} == {
                    "monitor.db": 0o600, "monitor.db-wal": 0o600, "monitor.db-shm": 0o600}
                assert mode(home) == 0o755  # the operator's directory, not ours to change
            finally:
                engine.dispose()
    finally:
        old.dispose()


def test_the_systemd_unit_sets_a_private_umask_and_state_directory() -> None:
    unit = (ROOT / "docs" / "monitor.service").read_text(encoding="utf-8").splitlines()
    entries = [line.split("=", 1) for line in unit if "=" in line and not line.startswith("#")]
    assert ["UMask", "0077"] in entries
    assert ["StateDirectory", "monitor"] in entries and ["StateDirectoryMode", "0700"] in entries
    assert ["Environment", "MONITOR_DATABASE_URL=sqlite:////var/lib/monitor/monitor.db"] in entries  # in it
