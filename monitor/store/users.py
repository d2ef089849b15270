"""Console users (issue 17): argon2id password hashes, roles, and who may do what."""

from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func
from sqlmodel import Session, col, select

from monitor.errors import MonitorError
from monitor.store.desk_tables import UserRow

ROLES = ("viewer", "analyst", "admin")  # each may do what the ones before it may
_hasher = PasswordHasher()  # argon2id with the library's current defaults (RFC 9106 low-memory profile)
_DUMMY = _hasher.hash("not a password")  # a check against it costs what a real check costs


class UserError(MonitorError):
    pass


def may(role: str, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def add_user(s: Session, name: str, role: str, password: str | None, now: datetime) -> UserRow:
    if role not in ROLES:
        raise UserError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name or len(name) > 100 or not name.isprintable() or name != name.strip():
        raise UserError(f"a user name needs 1 to 100 printable characters without surrounding blanks, not {name!r}")
    if s.exec(select(UserRow).where(UserRow.name == name)).first() is not None:
        raise UserError(f"user {name!r} exists already (monitor users set-password / set-role)")
    if password is not None and len(password) < 10:
        raise UserError("a password needs at least 10 characters")
    row = UserRow(name=name, role=role, password_hash=_hasher.hash(password) if password else None, created_at=now)
    s.add(row)
    return row


def user(s: Session, name: str) -> UserRow | None:
    row = s.exec(select(UserRow).where(UserRow.name == name)).first()
    return None if row is None or row.disabled else row


def any_users(s: Session) -> bool:
    return bool(s.exec(select(func.count()).select_from(UserRow)).one())


def all_users(s: Session) -> list[UserRow]:
    return list(s.exec(select(UserRow).order_by(col(UserRow.name))))


def authenticate(s: Session, name: str, password: str) -> UserRow | None:
    """The user if the password is theirs. A missing user costs a hash check too, so timing tells no names."""
    row = user(s, name)
    try:
        _hasher.verify(row.password_hash if row and row.password_hash else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return None
    return row if row is not None and row.password_hash else None


def update_user(s: Session, name: str, *, role: str | None = None, password: str | None = None,
                disabled: bool | None = None) -> UserRow:
    row = s.exec(select(UserRow).where(UserRow.name == name)).first()
    if row is None:
        raise UserError(f"no user {name!r} (monitor users list)")
    if role is not None:
        if role not in ROLES:
            raise UserError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
        row.role = role
    if password is not None:
        if len(password) < 10:
            raise UserError("a password needs at least 10 characters")
        row.password_hash = _hasher.hash(password)
    if disabled is not None:
        row.disabled = disabled
    s.add(row)
    return row
