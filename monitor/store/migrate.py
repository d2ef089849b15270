"""Schema versions with Alembic, on SQLite and PostgreSQL alike.

A new, empty database is created at the current version on first start; a database at an older
version is refused until `monitor db upgrade` is run (an operator should back it up first).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import MonitorError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest migration, written down so that a start on a database already there reads one row instead of
# importing Alembic and its migration scripts (a tenth of a second of every `monitor run --once`). A test holds it
# equal to what Alembic finds; a new migration must update it.
HEAD = "5aad63550a17"


class SchemaError(MonitorError):
    pass


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_bare()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def _bare() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

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


def _at_head(engine: Engine) -> bool:
    """The database is stamped with HEAD (no Alembic needed to tell); False when it may not be, Alembic decides."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none() == HEAD
    except SQLAlchemyError:  # no version table yet
        return False


def _ensure_schema(engine: Engine) -> None:
    if _at_head(engine):
        return
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
    from alembic import command

    from monitor.store.db import make_engine

    engine = make_engine(f"sqlite:///{scratch}")
    upgrade(engine)
    config = _bare()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
    engine.dispose()
