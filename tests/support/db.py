"""The database a test runs on: a SQLite file by default, PostgreSQL with MONITOR_TEST_DB=postgresql.

On PostgreSQL each test gets its own schema (via search_path in the URL), so tests and the
subprocesses they start share one real server without seeing each other's rows."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

PG_SERVER = os.environ.get("MONITOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def backend() -> str:
    return os.environ.get("MONITOR_TEST_DB", "sqlite")


def new_database(tmp_path: Path) -> str:
    if backend() != "postgresql":
        return f"sqlite:///{tmp_path / 'monitor.db'}"
    schema = f"t_{uuid.uuid4().hex[:16]}"
    engine = create_engine(PG_SERVER)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return f"{PG_SERVER}?options=-csearch_path%3D{schema}"


def drop_database(url: str) -> None:
    if "search_path" not in url:
        return
    schema = url.rsplit("%3D", 1)[1]
    engine = create_engine(PG_SERVER)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def query(url: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Rows of a read-only query, for assertions; works on both backends."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def scalar(url: str, sql: str, **params: Any) -> Any:
    rows = query(url, sql, **params)
    return rows[0][0] if rows else None
