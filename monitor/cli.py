"""The `monitor` command: a thin face over the daemon and the services. Maps errors to exit codes."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from pathlib import Path
from typing import ClassVar

import click

from monitor.commands import operations
from monitor.commands.options import EXIT_RUNTIME, EXIT_USAGE, config_option, load, model_option, with_model
from monitor.config import Config
from monitor.errors import ConfigError, MonitorError
from monitor.runtime import logging as logsetup


class _Commands(click.Group):
    """The `monitor` group. The desk's commands import the store's tables and the password hasher, so their
    modules load when one of them is called or listed: `run --once` does not pay for them (issue 16, row 4)."""

    # command -> its module
    LAZY: ClassVar[dict[str, str]] = {"users": "monitor.commands.users", "silence": "monitor.commands.silence"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            self.add_command(getattr(importlib.import_module(self.LAZY[cmd_name]), cmd_name))
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Escalation monitor: polls news feeds, scores items against watchlists, and alerts people."""


@cli.command()
@config_option
@click.option("--once", is_flag=True, help="Run one full cycle (poll, score, deliver) and exit.")
def run(config_dir: str | None, once: bool) -> None:
    """Run the daemon (or one cycle with --once)."""
    config = load(config_dir)
    logsetup.configure(config.settings.log.level, config.settings.log.format)
    try:
        if once:
            from monitor.runtime.cycle import run_once  # without the daemon's console, scheduler and metrics

            asyncio.run(run_once(config))
        else:
            from monitor.runtime.daemon import run_forever

            asyncio.run(run_forever(config))
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
    model = "on (scoring.model: the learned second opinion)" if config.settings.scoring.model else "off"
    click.echo(f"  model:      {model}")
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
@model_option
def score(source: str, config_dir: str | None, watchlist_name: str | None, as_json: bool, model: bool | None) -> None:
    """Score a text file, stdin (-), a URL, or a feed document, and explain the score."""
    from monitor.commands.score import score_source

    config = with_model(load(config_dir), model)
    try:
        results = score_source(config, source, watchlist_name)
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_RUNTIME)
    from monitor.commands.score import as_table, to_json, would_alert

    for label, language, scores in results:
        if as_json:
            for s in scores:
                data = to_json(s, alert=would_alert(config, s), item=label if len(results) > 1 else None)
                click.echo(json.dumps({**data, "language": language}, ensure_ascii=False))
        else:
            click.echo(as_table(f"{label} [{language or 'language unknown'}]", scores))


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@config_option
@click.option("--watchlist", "watchlist_name", default=None, help="Only this watchlist.")
@click.option("--min-auc", type=float, default=None, help="Exit 1 when a watchlist's AUC is below this.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per watchlist (per week with --feedback).")
@click.option("--feedback", is_flag=True, help="Instead of a file: analysts' verdicts per watchlist and ISO week.")
@click.option("--weeks", type=click.IntRange(1, 520), default=8, show_default=True,
              help="With --feedback: this many weeks, the current one included.")
@model_option
def evaluate(file: Path | None, config_dir: str | None, watchlist_name: str | None, min_auc: float | None,
             as_json: bool, feedback: bool, weeks: int, model: bool | None) -> None:
    """Score a labelled file (CSV or YAML: text, label 0/1/2 or expected severity): AUC, precision and recall at
    each severity, the confusion table and the worst misses. With --feedback, what analysts marked useful or
    noise per watchlist and week, with the noise share and the top noise reasons."""
    from monitor.commands.evaluate import read_labelled, render, score_file, to_json

    if (file is None) != feedback:
        raise click.UsageError("give a labelled FILE or --feedback (one of them)")
    config = with_model(load(config_dir), model)
    if feedback:
        _feedback(config, weeks, watchlist_name, as_json)
        return
    assert file is not None
    try:
        reports = score_file(config, read_labelled(file), watchlist_name)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(EXIT_USAGE)
    for name, report in reports.items():
        click.echo(json.dumps(to_json(name, report)) if as_json else render(name, report) + "\n")
    if min_auc is not None and any(r.auc is None or r.auc < min_auc for r in reports.values()):
        sys.exit(EXIT_RUNTIME)


def _feedback(config: Config, weeks: int, watchlist_name: str | None, as_json: bool) -> None:
    from monitor.commands import feedback

    rows = feedback.figures(config, weeks, watchlist_name)
    if as_json:
        for row in rows:
            click.echo(json.dumps(feedback.to_json(row)))
    else:
        click.echo(feedback.render(rows, weeks))


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


for command in operations.COMMANDS:
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="monitor")
