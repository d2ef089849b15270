"""`monitor demo`: the whole pipeline offline. Serves seeds/ on loopback, polls it once, prints the alerts."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

from alerts.render import render
from monitor.config import ChannelConfig, FeedConfig, load_config
from monitor.domain import AlertMessage
from monitor.errors import ConfigError
from monitor.runtime import cycle
from monitor.store import repo
from monitor.store.db import make_engine, session


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _find_root(package_root: Path) -> Path:
    for candidate in (package_root, Path.cwd()):
        if (candidate / "seeds" / "demo-feed.xml").is_file() and (candidate / "config").is_dir():
            return candidate
    raise click.ClickException("cannot find seeds/demo-feed.xml and config/: run from the project directory")


def run_demo(package_root: Path, port: int = 0) -> int:
    root = _find_root(package_root)
    handler = functools.partial(_QuietHandler, directory=str(root / "seeds"))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/demo-feed.xml"
    try:
        shipped = load_config(root / "config")
    except ConfigError as exc:
        raise click.ClickException(f"the shipped configuration is invalid:\n{exc}") from exc
    with tempfile.TemporaryDirectory(prefix="monitor-demo-") as tmp:
        settings = shipped.settings.model_copy(update={"database": f"sqlite:///{tmp}/demo.db"})
        config = dataclasses.replace(
            shipped, settings=settings,
            feeds=(FeedConfig(url=url, name="Demo World Desk", tags=("world",), language="en"),),
            # Whatever channels the user configured, the demo only prints.
            channels={name: ChannelConfig(urls=("console://",)) for name in shipped.channels},
        )
        click.echo(f"Serving {root / 'seeds' / 'demo-feed.xml'} at {url}; polling it once...\n")
        asyncio.run(cycle.run_once(config))
        engine = make_engine(config.database_url)
        with session(engine) as s:
            alerts = repo.list_alerts(s)
            stored = sum(repo.item_counts(s).values())
        engine.dispose()
    server.shutdown()
    click.echo(f"{stored} items stored, {len(alerts)} alert(s):\n")
    for alert in alerts:
        click.echo(render(AlertMessage.from_json({**alert.message, "alert_id": alert.id})).text)
        click.echo("")
    return 0 if alerts else 1
