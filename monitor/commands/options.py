"""What every command shares: the --config option, loading the configuration or exiting 2, the exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from monitor.config import Config, load_config
from monitor.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])
EXIT_RUNTIME, EXIT_USAGE = 1, 2


def config_dir_of(value: str | None) -> Path:
    return Path(value or os.environ.get("MONITOR_CONFIG") or "config")


def config_option(fn: F) -> F:
    return click.option("--config", "config_dir", metavar="DIR", default=None,
                        help="Configuration directory (default: $MONITOR_CONFIG or ./config).")(fn)


def load(config_dir: str | None) -> Config:
    """Load and validate, or exit 2 naming every file, line and field at fault."""
    try:
        return load_config(config_dir_of(config_dir))
    except ConfigError as exc:
        click.echo(f"configuration invalid ({len(exc.problems)} problem(s)):", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(EXIT_USAGE)


