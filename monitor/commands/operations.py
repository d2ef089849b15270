"""Operations commands: `monitor alerts`, `workers`, `db`, `health`, `channels` (registered by monitor.cli)."""

from __future__ import annotations

import asyncio
import sys

import click

from monitor.commands.options import EXIT_RUNTIME, EXIT_USAGE, config_dir_of, config_option, load
from monitor.runtime import logging as logsetup


@click.group()
def alerts() -> None:
    """Inspect and retry alerts."""


@alerts.command("list")
@config_option
@click.option("--status", type=click.Choice(["pending", "failed", "delivered", "held"]), default=None,
              help="held: recorded but not sent (a silence, or an acknowledged or snoozed story).")
@click.option("--limit", default=50, show_default=True)
def alerts_list(config_dir: str | None, status: str | None, limit: int) -> None:
    """Recent alerts with their delivery state per channel."""
    from monitor.commands.inspect import alerts_table

    click.echo(alerts_table(load(config_dir), status, limit))


@click.command()
@config_option
def workers(config_dir: str | None) -> None:
    """Live workers sharing the database: heartbeat age and the feed leases each holds."""
    from monitor.commands.inspect import workers_table

    click.echo(workers_table(load(config_dir)))


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@config_option
def db_upgrade(config_dir: str | None) -> None:
    """Bring the database schema to this version (back the database up first)."""
    from monitor.store.db import make_engine
    from monitor.store.migrate import current_revision, head_revision, upgrade

    engine = make_engine(load(config_dir).database_url)
    before = current_revision(engine)
    upgrade(engine)
    click.echo(f"schema: {before or 'empty'} -> {head_revision()}")


@db.command("status")
@config_option
def db_status(config_dir: str | None) -> None:
    """The schema revision of the database and of this code."""
    from monitor.store.db import make_engine
    from monitor.store.migrate import current_revision, head_revision

    engine = make_engine(load(config_dir).database_url)
    current, head = current_revision(engine), head_revision()
    click.echo(f"database: {current or 'empty'}\ncode:     {head}\n{'up to date' if current == head else 'behind'}")
    if current != head:
        sys.exit(EXIT_RUNTIME)


@click.command()
@config_option
@click.option("--ready", is_flag=True, help="Ask /readyz (database, scheduler, recent cycle) instead of /healthz.")
@click.option("--check", is_flag=True, help="Print nothing; only the exit code (for container health checks).")
@click.option("--address", metavar="HOST:PORT", default=None, help="Default: MONITOR_HTTP_LISTEN, else http.listen.")
def health(config_dir: str | None, ready: bool, check: bool, address: str | None) -> None:
    """Ask the running daemon whether it is alive (or ready); exit 0 if so, 1 if not."""
    from monitor.commands.health import listen_address, probe

    host, port = listen_address(config_dir_of(config_dir), address)
    status, body = probe(host, port, "/readyz" if ready else "/healthz")
    if not check:
        click.echo(body.strip())
    if status != 200:
        sys.exit(EXIT_RUNTIME)


@alerts.command("show")
@click.argument("alert_id", type=int)
@config_option
def alerts_show(alert_id: int, config_dir: str | None) -> None:
    """One alert: its deliveries per channel and every attempt."""
    from monitor.commands.outbox import show

    text = show(load(config_dir), alert_id)
    if text is None:
        click.echo(f"no alert {alert_id}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(text)


@alerts.command("retry")
@click.argument("alert_id", type=int, required=False)
@click.option("--failed", "all_failed", is_flag=True, help="Every failed delivery, of every alert.")
@click.option("--send", is_flag=True, help="Deliver now (one delivery pass) instead of leaving it to the daemon.")
@config_option
def alerts_retry(alert_id: int | None, all_failed: bool, send: bool, config_dir: str | None) -> None:
    """Queue failed deliveries again (of alert ID, or --failed for all), with a fresh attempt budget."""
    from monitor.commands.outbox import retry

    if (alert_id is None) == (not all_failed):
        click.echo("give an alert ID or --failed (not both)", err=True)
        sys.exit(EXIT_USAGE)
    config = load(config_dir)
    count = retry(config, alert_id)
    if count is None:
        click.echo(f"no alert {alert_id}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again")
    if send:  # also what an earlier `retry` without --send queued: pending is pending
        from monitor.commands.outbox import deliver_now

        logsetup.configure(config.settings.log.level, config.settings.log.format)
        stats = asyncio.run(deliver_now(config))
        click.echo(f"delivered {stats.delivered}, retrying {stats.retrying}, failed {stats.failed}")


@click.group()
def channels() -> None:
    """Test channels."""


@channels.command("test")
@click.argument("name")
@config_option
def channels_test(name: str, config_dir: str | None) -> None:
    """Send a test message through every URL of channel NAME; exit 1 if any URL failed."""
    from monitor.commands.channels import test_channel

    config = load(config_dir)
    if name not in config.channels:
        click.echo(f"no channel {name!r} (channels.yaml has: {', '.join(sorted(config.channels)) or 'none'})",
                   err=True)
        sys.exit(EXIT_USAGE)
    ok, lines = test_channel(config, name)
    for line in lines:
        click.echo(line)
    sys.exit(0 if ok else EXIT_RUNTIME)


COMMANDS = (alerts, workers, db, health, channels)
