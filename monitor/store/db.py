"""Engine and sessions: SQLite pragmas, and the file and its directory private to their owner. The schema is
monitor.store.migrate's."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from monitor.store import tables  # noqa: F401  (registers the tables on the metadata)


def make_engine(url: str, *, base_dir: Path | None = None) -> Engine:
    """SQLite paths are relative to `base_dir` (the working directory by default); parents are created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            path = Path(database)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            private_file(path)
            parsed = parsed.set(database=str(path))
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=10)


def private_file(path: Path) -> None:
    """The database holds what the feeds said and where alerts went: readable by its owner only (issue 16).
    Missing directories are made 0700, an existing one is left as its owner set it; the file is made 0600 before
    SQLite opens it, and SQLite gives its -wal, -shm and -journal files the database file's mode. A file an
    older version left readable to others is narrowed (group and others lose every bit)."""
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    for file in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(OSError):  # absent, or another owner's: SQLite's error will say what matters
            mode = file.stat().st_mode & 0o777
            if mode & 0o077:
                file.chmod(mode & 0o700)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session(engine: Engine) -> Session:
    return Session(engine, expire_on_commit=False)
