"""The `monitor` command: a thin face over the daemon and the services. Maps errors to exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor import logging as logsetup
from monitor.config import Config, load_config
from monitor.errors import ConfigError, MonitorError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_RUNTIME, EXIT_USAGE = 1, 2


def _config_dir(value: str | None) -> Path:
    return Path(value or os.environ.get("MONITOR_CONFIG") or "config")


def config_option(fn: F) -> F:
    return click.option("--config", "config_dir", metavar="DIR", default=None,
                        help="Configuration directory (default: $MONITOR_CONFIG or ./config).")(fn)


def load(config_dir: str | None) -> Config:
    """Load and validate, or exit 2 naming every file, line and field at fault."""
    try:
        return load_config(_config_dir(config_dir))
    except ConfigError as exc:
        click.echo(f"configuration invalid ({len(exc.problems)} problem(s)):", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_USAGE)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Escalation monitor: polls news feeds, scores items against watchlists, and alerts people."""


@cli.command()
@config_option
@click.option("--once", is_flag=True, help="Run one full cycle (poll, score, deliver) and exit.")
def run(config_dir: str | None, once: bool) -> None:
    """Run the daemon (or one cycle with --once)."""
    from monitor import daemon

    config = load(config_dir)
    logsetup.configure(config.settings.log.level, config.settings.log.format)
    try:
        if once:
            asyncio.run(daemon.run_once(config))
        else:
            asyncio.run(daemon.run_forever(config))
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_RUNTIME)


@cli.command()
@config_option
def check(config_dir: str | None) -> None:
    """Validate the configuration and channels; exit 2 on any error."""
    from monitor.commands.check import check_channels

    config = load(config_dir)
    problems = check_channels(config)
    click.echo(f"config: {config.directory}")
    click.echo(f"  database:   {config.database_url.split('@')[-1]}")
    click.echo(f"  feeds:      {len(config.feeds)} ({sum(f.enabled for f in config.feeds)} enabled)")
    click.echo(f"  watchlists: {', '.join(w.name for w in config.watchlists) or 'none'}")
    click.echo(f"  channels:   {', '.join(config.channels) or 'none'}")
    if problems:
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo("ok")


@cli.command()
@click.argument("source", default="-")
@config_option
@click.option("--watchlist", "watchlist_name", default=None, help="Only this watchlist.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per watchlist (per item for feeds).")
def score(source: str, config_dir: str | None, watchlist_name: str | None, as_json: bool) -> None:
    """Score a text file, stdin (-), a URL, or a feed document, and explain the score."""
    from monitor.commands.score import score_source

    config = load(config_dir)
    try:
        results = score_source(config, source, watchlist_name)
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_RUNTIME)
    from monitor.commands.score import as_table, to_json, would_alert

    for label, scores in results:
        if as_json:
            for s in scores:
                data = to_json(s, alert=would_alert(config, s), item=label if len(results) > 1 else None)
                click.echo(json.dumps(data, ensure_ascii=False))
        else:
            click.echo(as_table(label, scores))


@cli.command()
@click.option("--port", default=0, help="Loopback port for the demo feed server (default: any free port).")
def demo(port: int) -> None:
    """Run the whole pipeline offline on the seed article and print the alerts."""
    from monitor.commands.demo import run_demo

    logsetup.configure("warning", "console")
    sys.exit(run_demo(Path(__file__).resolve().parent.parent, port))


@cli.group(invoke_without_command=True)
@config_option
@click.pass_context
def feeds(ctx: click.Context, config_dir: str | None) -> None:
    """Feed health: status, last success, last error, items, next poll. Subcommands: OPML import and export."""
    ctx.obj = config_dir
    if ctx.invoked_subcommand is None:
        from monitor.commands.feeds import feeds_table

        click.echo(feeds_table(load(config_dir)))


@feeds.command("import-opml")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option("--tag", "tags", multiple=True, help="Add this tag to every imported feed (repeatable).")
@click.option("--dry-run", is_flag=True, help="Show what would be added; change nothing.")
@click.pass_obj
def feeds_import_opml(group_config: str | None, file: Path, config_dir: str | None, tags: tuple[str, ...],
                      dry_run: bool) -> None:
    """Append the feeds of an OPML file that are not configured yet to feeds.yaml."""
    from monitor.commands.feeds import import_opml

    config = load(config_dir or group_config)
    try:
        report = import_opml(config, file, extra_tags=tags, dry_run=dry_run)
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    verb = "would add" if dry_run else "added"
    for feed in report.added:
        click.echo(f"{verb}: {feed.name} <{feed.url}>" + (f" [{', '.join(feed.tags)}]" if feed.tags else ""))
    for url, why in report.skipped:
        click.echo(f"skipped: {url} ({why})")
    target = config.directory / "feeds.yaml"
    click.echo(f"{len(report.added)} feed(s) {verb} to {target}, {len(report.skipped)} skipped")


@feeds.command("export-opml")
@config_option
@click.pass_obj
def feeds_export_opml(group_config: str | None, config_dir: str | None) -> None:
    """Print the configured feeds as OPML (at the URLs they are polled from now)."""
    from monitor.commands.feeds import export_opml

    click.echo(export_opml(load(config_dir or group_config)).decode("utf-8"), nl=False)


def _duration(value: str) -> float:
    from monitor.config import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command()
@config_option
@click.option("--since", default="24h", show_default=True, help="Stories seen within this long (90m, 24h, 7d).")
def stories(config_dir: str | None, since: str) -> None:
    """Stories (one text through many feeds): sources, best score, severity, title."""
    from monitor.commands.stories import stories_table

    click.echo(stories_table(load(config_dir), _duration(since)))


@cli.command()
@config_option
@click.option("--since", default="7d", show_default=True, help="Replay items fetched within this long.")
@click.option("--watchlist", "watchlist_name", default=None, help="Only this watchlist.")
@click.option("--chart", "chart_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG chart of daily escalation score and alert counts per watchlist.")
def backtest(config_dir: str | None, since: str, watchlist_name: str | None, chart_path: Path | None) -> None:
    """Replay stored items through the current watchlists, stories and trend rules; nothing is sent or written."""
    from monitor.commands.backtest import chart, replay, report

    config = load(config_dir)
    if watchlist_name and watchlist_name not in {w.name for w in config.watchlists}:
        click.echo(f"no watchlist {watchlist_name!r} (have: {', '.join(w.name for w in config.watchlists)})",
                   err=True)
        sys.exit(EXIT_USAGE)
    result = replay(config, _duration(since), watchlist_name)
    click.echo(report(result))
    if chart_path is not None:
        chart(result, chart_path)
        click.echo(f"chart: {chart_path}")


@cli.group()
def alerts() -> None:
    """Inspect and retry alerts."""


@alerts.command("list")
@config_option
@click.option("--status", type=click.Choice(["pending", "failed", "delivered"]), default=None)
@click.option("--limit", default=50, show_default=True)
def alerts_list(config_dir: str | None, status: str | None, limit: int) -> None:
    """Recent alerts with their delivery state per channel."""
    from monitor.commands.inspect import alerts_table

    click.echo(alerts_table(load(config_dir), status, limit))


@cli.command()
@config_option
def workers(config_dir: str | None) -> None:
    """Live workers sharing the database: heartbeat age and the feed leases each holds."""
    from monitor.commands.inspect import workers_table

    click.echo(workers_table(load(config_dir)))


@cli.group()
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


@cli.command()
@config_option
@click.option("--ready", is_flag=True, help="Ask /readyz (database, scheduler, recent cycle) instead of /healthz.")
@click.option("--check", is_flag=True, help="Print nothing; only the exit code (for container health checks).")
@click.option("--address", metavar="HOST:PORT", default=None, help="Default: MONITOR_HTTP_LISTEN, else http.listen.")
def health(config_dir: str | None, ready: bool, check: bool, address: str | None) -> None:
    """Ask the running daemon whether it is alive (or ready); exit 0 if so, 1 if not."""
    from monitor.commands.health import listen_address, probe

    host, port = listen_address(_config_dir(config_dir), address)
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
    click.echo(f"{count} failed deliver{'y' if count == 1 else 'ies'} queued again")
    if send and count:
        from monitor.commands.outbox import deliver_now

        logsetup.configure(config.settings.log.level, config.settings.log.format)
        stats = asyncio.run(deliver_now(config))
        click.echo(f"delivered {stats.delivered}, retrying {stats.retrying}, failed {stats.failed}")


@cli.group()
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


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="monitor")
