"""Keys the service makes for itself, kept in the database so that every worker signs and checks alike."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import select

from monitor.store.db import session
from monitor.store.desk_tables import SecretRow
from monitor.store.repo import insert_for


def app_secret(engine: Engine, name: str) -> str:
    """The key called `name`, made on first use. Two workers making it at once agree: the first insert wins and
    both read it back."""
    with session(engine) as s:
        row = s.exec(select(SecretRow).where(SecretRow.name == name)).first()
        if row is not None:
            return row.value
        stmt = insert_for(s.get_bind().dialect.name, SecretRow).values(name=name, value=secrets.token_urlsafe(48),
                                               created_at=datetime.now(UTC))
        s.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
        s.commit()
        return s.exec(select(SecretRow.value).where(SecretRow.name == name)).one()
