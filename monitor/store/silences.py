"""Silences (issue 17): rows over `SilenceRow`, written by `monitor silence` and the console, read by the alert
writer. Which alert a silence matches is core.silences' rule; this module only stores and finds them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from monitor.core.silences import FIELDS, AlertFacts, matches
from monitor.errors import MonitorError
from monitor.store.desk_tables import SilenceRow


class SilenceError(MonitorError):
    pass


def _checked(matchers: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    # The console and the CLI parse matchers first; this is the last line, so a silence never widens by a typo.
    if not matchers:
        raise SilenceError("a silence needs at least one matcher")
    out = []
    for m in matchers:
        field, value = str(m.get("field", "")), str(m.get("value", "")).strip()
        if field not in FIELDS or not value:
            raise SilenceError(f"matcher {dict(m)!r}: field must be one of {', '.join(FIELDS)} with a value")
        out.append({"field": field, "value": value})
    return out


def add_silence(s: Session, matchers: Sequence[Mapping[str, str]], *, starts_at: datetime, ends_at: datetime,
                author: str, now: datetime, comment: str = "") -> SilenceRow:
    """A new silence, flushed so that it has its id; SilenceError for no or bad matchers, or an empty span."""
    if ends_at <= starts_at:
        raise SilenceError(f"the silence ends ({ends_at.isoformat()}) before it starts ({starts_at.isoformat()})")
    if ends_at <= now:
        raise SilenceError(f"the silence would end in the past ({ends_at.isoformat()})")
    row = SilenceRow(matchers=_checked(matchers), starts_at=starts_at, ends_at=ends_at, comment=comment[:2000],
                     author=author[:100] or "unknown", created_at=now)
    s.add(row)
    s.flush()
    return row


def list_silences(s: Session, now: datetime, *, include_expired: bool = False) -> list[SilenceRow]:
    """Active and pending silences (soonest end first), or every silence, newest first, with `include_expired`."""
    if include_expired:
        return list(s.exec(select(SilenceRow).order_by(col(SilenceRow.id).desc())))
    return list(s.exec(select(SilenceRow).where(col(SilenceRow.ends_at) > now)
                       .order_by(col(SilenceRow.ends_at), col(SilenceRow.id))))


def expire_silence(s: Session, silence_id: int, now: datetime) -> SilenceRow | None:
    """End the silence now (kept, for the record, as Alertmanager does); None when there is no such silence.
    One that has ended already is returned unchanged."""
    row = s.get(SilenceRow, silence_id)
    if row is None or row.ends_at <= now:
        return row
    row.ends_at, row.starts_at = now, min(row.starts_at, now)
    s.add(row)
    return row


def active_silences(s: Session, now: datetime) -> list[SilenceRow]:
    return list(s.exec(select(SilenceRow).where(col(SilenceRow.starts_at) <= now, col(SilenceRow.ends_at) > now)
                       .order_by(col(SilenceRow.id))))


def silencing(s: Session, facts: AlertFacts, now: datetime) -> SilenceRow | None:
    """The oldest active silence that matches an alert with these facts, if any."""
    return next((row for row in active_silences(s, now) if matches(row.matchers, facts)), None)


def state(row: SilenceRow, now: datetime) -> str:
    if row.ends_at <= now:
        return "expired"
    return "active" if row.starts_at <= now else "pending"
