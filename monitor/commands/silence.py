"""`monitor silence add|list|expire` (issue 17): silences as in Alertmanager, from the terminal. A matching alert
is recorded with status "held" and not sent (monitor.usecases.alerting)."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from monitor.commands.inspect import _open
from monitor.commands.options import EXIT_USAGE, config_option, load
from monitor.commands.table import table
from monitor.core.silences import FIELDS, MatcherError, parse_matcher
from monitor.store import silences as store
from monitor.store.desk_tables import SilenceRow


@click.group()
def silence() -> None:
    """Silences: alerts matching every matcher between start and end are recorded, not sent."""


def _matchers(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        return [parse_matcher(v) for v in values]
    except MatcherError as exc:
        raise click.BadParameter(str(exc)) from None


def _duration(_ctx: click.Context, _param: click.Parameter, value: str | None) -> timedelta | None:
    from monitor.config import parse_duration

    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r}: {exc} (write e.g. 90m, 2h, 7d)") from None
    if seconds <= 0:
        raise click.BadParameter(f"{value!r}: a silence must last a while")
    return timedelta(seconds=seconds)


def _time(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """ISO 8601; a time without an offset is this machine's local time, as `date` shows it."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time such as 2026-03-02T18:00+01:00") from None
    return (when if when.tzinfo else when.astimezone()).astimezone(UTC)


def _span(starts: datetime, duration: timedelta | None, until: datetime | None,
          now: datetime) -> tuple[datetime, datetime]:
    if (duration is None) == (until is None):
        raise click.UsageError("give --for DURATION or --until TIME (one of them)")
    ends = until if until is not None else starts + (duration or timedelta())
    hint = "'--until'" if until is not None else "'--for'"
    if ends <= now:
        raise click.BadParameter(f"the silence would end in the past ({_at(ends)})", param_hint=hint)
    if ends <= starts:
        raise click.BadParameter(f"the silence would end ({_at(ends)}) before it starts ({_at(starts)})",
                                 param_hint=hint)
    return starts, ends


def _describe(row: SilenceRow) -> str:
    return " ".join(f"{m['field']}={m['value']}" for m in row.matchers)


def to_json(row: SilenceRow, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "state": store.state(row, now), "matchers": row.matchers,
            "starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat(), "comment": row.comment,
            "author": row.author, "created_at": row.created_at.isoformat()}


@silence.command("add")
@config_option
@click.option("-m", "--matcher", "matchers", multiple=True, required=True, callback=_matchers,
              metavar="FIELD=VALUE",
              help=f"Repeatable; all must match. FIELD: {', '.join(FIELDS)} (actor: the name alerts show).")
@click.option("--for", "duration", metavar="DURATION", callback=_duration, help="How long, from the start: 2h, 3d.")
@click.option("--until", "until", metavar="TIME", callback=_time,
              help="When it ends (ISO 8601; no offset: local time).")
@click.option("--start", "start", metavar="TIME", callback=_time, help="When it starts (ISO 8601; default: now).")
@click.option("--comment", required=True, help="Why: the next analyst reads it.")
@click.option("--author", default=None, help="Default: $USER.")
@click.option("--json", "as_json", is_flag=True, help="Print the silence as one JSON object.")
def add(config_dir: str | None, matchers: list[dict[str, str]], duration: timedelta | None, until: datetime | None,
        start: datetime | None, comment: str, author: str | None, as_json: bool) -> None:
    """Add a silence, e.g. `-m watchlist=nato -m text=drill --for 2h --comment "exercise"`."""
    if not comment.strip():
        raise click.BadParameter("say why the alerts are silenced", param_hint="'--comment'")
    now = datetime.now(UTC)
    starts, ends = _span(start or now, duration, until, now)
    who = author or os.environ.get("USER") or os.environ.get("LOGNAME") or "cli"
    try:
        with _open(load(config_dir)) as s:
            row = store.add_silence(s, matchers, starts_at=starts, ends_at=ends, author=who, now=now,
                                    comment=comment.strip())
            s.commit()
    except store.SilenceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if as_json:
        click.echo(json.dumps(to_json(row, now)))
    else:
        click.echo(f"silence {row.id} added: {_describe(row)}, {store.state(row, now)} "
                   f"from {_at(row.starts_at)} until {_at(row.ends_at)}")


def _at(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@silence.command("list")
@config_option
@click.option("--all", "include_expired", is_flag=True, help="Expired silences too.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per silence.")
def list_(config_dir: str | None, include_expired: bool, as_json: bool) -> None:
    """Active and pending silences (with --all, expired ones too)."""
    now = datetime.now(UTC)
    with _open(load(config_dir)) as s:
        rows = store.list_silences(s, now, include_expired=include_expired)
    if as_json:
        for row in rows:
            click.echo(json.dumps(to_json(row, now)))
        return
    click.echo(table(["id", "state", "matchers", "starts", "ends", "author", "comment"],
                     [(r.id, store.state(r, now), _describe(r), _at(r.starts_at), _at(r.ends_at), r.author,
                       r.comment) for r in rows]))


@silence.command("expire")
@click.argument("silence_id", type=int)
@config_option
def expire(silence_id: int, config_dir: str | None) -> None:
    """End silence ID now; alerts from here on are sent again (those held meanwhile stay held)."""
    now = datetime.now(UTC)
    with _open(load(config_dir)) as s:
        before = s.get(SilenceRow, silence_id)
        ended = before is not None and before.ends_at <= now
        row = store.expire_silence(s, silence_id, now)
        s.commit()
    if row is None:
        click.echo(f"no silence {silence_id}", err=True)
        sys.exit(EXIT_USAGE)
    if ended:
        click.echo(f"silence {silence_id} had already ended at {_at(row.ends_at)}")
    else:
        click.echo(f"silence {silence_id} expired: {_describe(row)}")
