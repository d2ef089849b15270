"""`monitor users add|list|set|disable`: the console's local users (issue 17)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime

import click
from sqlmodel import Session

from monitor.commands.inspect import _open
from monitor.commands.options import EXIT_USAGE, config_option, load
from monitor.commands.table import table
from monitor.store import users as store


@click.group()
def users() -> None:
    """Console users and their roles: viewer (reads), analyst (acts on alerts), admin (watchlists, silences)."""


def _password(from_stdin: bool, needed: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not needed:
        return None
    return str(click.prompt("password", hide_input=True, confirmation_prompt=True))


def _apply(config_dir: str | None, change: Callable[[Session], object]) -> None:
    try:
        with _open(load(config_dir)) as s:
            change(s)
            s.commit()
    except store.UserError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


@users.command("add")
@config_option
@click.argument("name")
@click.option("--role", type=click.Choice(store.ROLES), required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
@click.option("--proxy-only", is_flag=True, help="No password: the user signs in through http.user_header.")
def add(config_dir: str | None, name: str, role: str, password_stdin: bool, proxy_only: bool) -> None:
    """Add a user (asks for a password unless --proxy-only)."""
    password = None if proxy_only else _password(password_stdin, needed=True)
    _apply(config_dir, lambda s: store.add_user(s, name, role, password, datetime.now(UTC)))
    click.echo(f"user {name} added as {role}")


@users.command("set")
@config_option
@click.argument("name")
@click.option("--role", type=click.Choice(store.ROLES), default=None)
@click.option("--password", "new_password", is_flag=True, help="Ask for a new password.")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of stdin.")
@click.option("--enable/--disable", "enabled", default=None, help="A disabled user cannot sign in.")
def set_(config_dir: str | None, name: str, role: str | None, new_password: bool, password_stdin: bool,
         enabled: bool | None) -> None:
    """Change a user's role, password or whether they may sign in."""
    password = _password(password_stdin, needed=new_password)
    disabled = None if enabled is None else not enabled
    _apply(config_dir, lambda s: store.update_user(s, name, role=role, password=password, disabled=disabled))
    click.echo(f"user {name} updated")


@users.command("list")
@config_option
def list_(config_dir: str | None) -> None:
    """Users, roles, and how each signs in."""
    with _open(load(config_dir)) as s:
        rows = store.all_users(s)
    click.echo(table(["user", "role", "signs in", "state", "since"],
                     [(u.name, u.role, "password" if u.password_hash else "proxy header",
                       "disabled" if u.disabled else "active", u.created_at.strftime("%Y-%m-%d")) for u in rows]))
