"""Write a configuration directory for a test, with the shipped lexicons."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config"


def write_config(directory: Path, *, feeds: list[dict[str, Any]] | None = None,
                 channels: dict[str, Any] | None = None, watchlists: dict[str, dict[str, Any]] | None = None,
                 settings: dict[str, Any] | None = None, shipped_watchlists: bool = False,
                 database: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "watchlists").mkdir(exist_ok=True)
    if (SHIPPED / "lexicons").is_dir():
        shutil.copytree(SHIPPED / "lexicons", directory / "lexicons", dirs_exist_ok=True)
    base_settings: dict[str, Any] = {"database": database or f"sqlite:///{directory / 'monitor.db'}",
                                     "log": {"format": "json"}, "http": {"enabled": False}}
    base_settings.update(settings or {})
    _dump(directory / "monitor.yaml", base_settings)
    _dump(directory / "feeds.yaml", {"feeds": feeds or []})
    _dump(directory / "channels.yaml", {"channels": channels or {"console": {"urls": ["console://"]}}})
    if shipped_watchlists:
        for path in (SHIPPED / "watchlists").glob("*.yaml"):
            shutil.copy(path, directory / "watchlists" / path.name)
    for name, body in (watchlists or {}).items():
        _dump(directory / "watchlists" / f"{name}.yaml", body)
    return directory


def _dump(path: Path, data: Any) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
