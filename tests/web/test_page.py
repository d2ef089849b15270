"""The pages as a reader with no account sees them (a fresh install): real data from a real daemon, rendered by
headless Chromium (Debian's package)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from monitor.web.page import render
from tests.support.configdir import write_config
from tests.support.daemonproc import Daemon, GrowingFeed, daemon_settings, http_get, watchlist
from tests.support.servers import HttpServer, Response, free_port
from tests.web.conftest import chromium

WIDTH, HEIGHT = 1280, 1000
TITLE = "Alpha brigades cross the river & dig in"


def test_feed_text_is_escaped_and_only_http_links_are_links() -> None:
    alert = {"id": 1, "severity": "warning", "watchlist": "w", "score": 5.0, "status": "pending",
             "title": "<script>alert(1)</script>", "link": "javascript:alert(1)", "feed": "F",
             "published": None, "created_at": None, "actors": [], "terms": [], "contributions": [],
             "deliveries": [], "kind": "item", "held_by": None, "feedback": None, "language": None, "story_id": None}
    html = render("alerts.html", who=None, csrf="t", flash=None, now=None, path="/alerts", alerts=[alert], next=None,
                  alert_status="", statuses=(), reasons=())
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html and 'href="#"' in html



def _browse(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
               f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", *args, url]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=90)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def running(tmp_path: Path, feed_server: HttpServer) -> Iterator[tuple[Daemon, str]]:
    """A daemon that polled one healthy and one broken feed and delivered one alert."""
    feed = GrowingFeed("World Desk")
    feed.add(TITLE)
    feed.add("Minor alpha drill held")
    feed_server.routes["/world.xml"] = feed
    feed_server.routes["/broken.xml"] = Response(500, b"oops")
    port = free_port()
    config = write_config(tmp_path / "config",
                          feeds=[{"url": feed_server.url("/world.xml"), "name": "World Desk"},
                                 {"url": feed_server.url("/broken.xml"), "name": "Broken Wire"}],
                          watchlists={"test": watchlist("alpha")},
                          settings=_told_at_first_failure(daemon_settings(port=port)))
    daemon = Daemon(config)
    try:
        daemon.wait_for("alert_delivered")
        daemon.wait_for("feed_fetch_failed", where=lambda e: e.get("feed") == "Broken Wire")
        yield daemon, f"http://127.0.0.1:{port}/"
    finally:
        daemon.stop()


@pytest.mark.slow
def test_pages_render_real_stories_alerts_and_feed_health_in_chromium(
        tmp_path: Path, running: tuple[Daemon, str]) -> None:
    _daemon, url = running
    status, _html, headers = http_get(url)
    assert status == 200 and headers["Content-Security-Policy"].startswith("default-src 'none'")

    inbox = _dom(tmp_path, url)
    assert "Alpha brigades cross the river &amp; dig in" in inbox  # the story's title, escaped
    assert 'data-story="1"' in inbox and "no console users yet" in inbox
    feeds = _dom(tmp_path, url + "feeds")
    assert "World Desk" in feeds and "Broken Wire" in feeds and "failing" in feeds and "HTTP 500" in feeds
    alerts = _dom(tmp_path, url + "alerts")
    assert "keyword “Alpha” +4.5" in alerts  # the explanation of the alert
    assert 'data-alert="1"' in alerts and "delivered" in alerts

    shot = tmp_path / "page.png"
    result = _browse(tmp_path, url, f"--screenshot={shot}")
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (WIDTH, HEIGHT)
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50, "the screenshot is (nearly) blank"
    counts = {colour: n for n, colour in colours}
    # The header bar (#1d2330) and the warning badge (#e67e22) are drawn: the page rendered, styles applied.
    assert counts.get((0x1D, 0x23, 0x30), 0) > WIDTH * 20
    assert counts.get((0xE6, 0x7E, 0x22), 0) > 100


def _dom(tmp_path: Path, url: str) -> str:
    dom = _browse(tmp_path, url, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def _told_at_first_failure(settings: dict[str, Any]) -> dict[str, Any]:
    """A feed is `failing` once the ops channel would hear of it; here after one failure, so the run is short."""
    settings["polling"] = {**settings["polling"], "health": {"failures": 1}}
    return settings
