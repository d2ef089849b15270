"""What every command shares: the --config option, loading the configuration or exiting 2, the exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from monitor.config import Config, load_config
from monitor.config.settings import ScoringSettings
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


def model_option(fn: F) -> F:
    return click.option("--model/--no-model", "model", default=None,
                        help="With or without the learned second opinion, whatever monitor.yaml's scoring.model says "
                             "(docs/scoring.md): how an analyst sees what it changes on their own items.")(fn)


def with_model(config: Config, model: bool | None) -> Config:
    """`config` with scoring.model as --model/--no-model asks, checked as monitor.yaml's is (exit 2 naming the
    option when the model's package is missing)."""
    if model is None:
        return config
    try:
        scoring = ScoringSettings(model=model)
    except ValidationError as exc:
        click.echo(f"error: --model: {exc.errors()[0]['msg'].removeprefix('Value error, ')}", err=True)
        sys.exit(EXIT_USAGE)
    return replace(config, settings=config.settings.model_copy(update={"scoring": scoring}))
