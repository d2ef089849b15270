"""Schema versions with Alembic, on SQLite and PostgreSQL alike.

A new, empty database is created at the current version on first start; a database at an older
version is refused until `monitor db upgrade` is run (an operator should back it up first).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

from monitor.errors import MonitorError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaError(MonitorError):
    pass


def head_revision() -> str:
    head = ScriptDirectory.from_config(_bare()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def _bare() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = _bare()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


_MIGRATION_LOCK = 0x6D6F6E69  # "moni": serialises schema work between workers starting together


def ensure_schema(engine: Engine) -> None:
    """Create a fresh database at head; refuse one that is behind (or ahead of) this code.

    Several workers may start at once on an empty PostgreSQL database: a session advisory lock makes
    one of them create the schema while the others wait and then find it at head."""
    with engine.connect() as lock:
        postgres = lock.dialect.name == "postgresql"
        if postgres:
            lock.exec_driver_sql(f"SELECT pg_advisory_lock({_MIGRATION_LOCK})")
        try:
            _ensure_schema(engine)
        finally:
            if postgres:
                lock.exec_driver_sql(f"SELECT pg_advisory_unlock({_MIGRATION_LOCK})")


def _ensure_schema(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if current is None:
        existing = set(inspect(engine).get_table_names())
        if existing & {"feeds", "items", "alerts"}:
            raise SchemaError("the database has tables but no schema version: it was not created by this "
                              "version of monitor; run `monitor db upgrade` after backing it up")
        upgrade(engine)
        return
    raise SchemaError(f"the database schema is at revision {current} but this code needs {head}: "
                      "back up the database, then run `monitor db upgrade`")


def new_revision(message: str, scratch: Path) -> None:
    """For developers: autogenerate a migration from the tables against a scratch database at head."""
    from monitor.store.db import make_engine

    engine = make_engine(f"sqlite:///{scratch}")
    upgrade(engine)
    config = _bare()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
    engine.dispose()
