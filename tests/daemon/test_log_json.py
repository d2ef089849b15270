"""JSON logs: secrets are masked on the structured fields, before rendering, so every line stays one JSON object
(issue 16, row 6: the masking of a feed URL's query token used to run over the rendered line and break it)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog

from monitor.runtime import logging as logsetup
from tests.conftest import run_monitor
from tests.support.configdir import write_config
from tests.support.daemonproc import watchlist
from tests.support.servers import HttpServer, Response, free_port

SECRETS = ("SECRETONE", "SECRETTWO", "SECRETTHREE", "SECRETFOUR", "SECRETFIVE", "SECRETSIX")

URLS = (
    'https://news.example.org/rss?q="war"&token=SECRETONE',
    "https://news.example.org/rss?api_key=SECRETTWO&x=1",
    "https://reader:SECRETTHREE@news.example.org/feed.xml",
    'https://news.example.org/a\\b.xml?lang="en"&token=SECRETFOUR#top',
)


class _Shown:
    """An object json cannot write: the renderer writes its repr, which holds a URL with a token."""

    def __repr__(self) -> str:
        return "_Shown('https://news.example.org/x?token=SECRETFIVE')"


def _lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines
    return [json.loads(line) for line in lines]  # every line, one JSON object: a broken one fails here


@contextmanager
def _json_logging() -> Iterator[None]:
    """The service's own setup (JSON, to this test's captured stdout), undone afterwards."""
    handlers, level = logging.getLogger().handlers[:], logging.getLogger().level
    logsetup.configure("debug", "json")
    try:
        yield
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers[:] = handlers
        logging.getLogger().setLevel(level)


def test_every_line_with_a_masked_url_is_valid_json(capsys: pytest.CaptureFixture[str]) -> None:
    with _json_logging():
        _log_failures()
    events = _lines(capsys.readouterr().out)
    out = json.dumps(events)
    assert not [secret for secret in SECRETS if secret in out]
    assert len(events) == 2 * len(URLS) + 3
    first = events[0]
    assert first["feed"] == 'https://news.example.org/rss?q="war"&token=***'  # only the value is masked
    assert first["error"] == 'ConnectError("https://news.example.org/rss?q="war"&token=***")'
    assert events[2]["feed"] == "https://news.example.org/rss?api_key=***&x=1"
    assert events[4]["url"] == "https://reader:***@news.example.org/feed.xml"
    crashed = events[1]["exception"][0]
    assert crashed["exc_type"] == "ConnectionError" and "token=***" in crashed["exc_value"]
    assert events[-3]["thing"] == "_Shown('https://news.example.org/x?token=***')"
    assert events[-1]["exception"][0]["exc_value"] == "https://u:***@news.example.org/?token=***"


def _log_failures() -> None:
    """Failures as the service logs them: structured fields, tracebacks, an object's repr, library lines."""
    log = structlog.get_logger("monitor.test")
    for url in URLS:
        log.warning("feed_fetch_failed", feed=url, url=url, error=f'ConnectError("{url}")',
                    detail={"tried": [url, (url,)], "quote": 'a "quoted" \\ value'})
        try:
            raise ConnectionError(f"cannot fetch {url}: refused")
        except ConnectionError:
            log.exception("feed_crashed", feed=url)
    log.info("object_value", thing=_Shown())
    logging.getLogger("httpx").warning('HTTP Request: GET %s "HTTP/1.1 500"', URLS[0])  # a library's own line
    try:
        raise ValueError("https://u:SECRETSIX@news.example.org/?token=SECRETSIX")
    except ValueError:
        logging.getLogger("apscheduler").exception("job raised")


def _feed_config(tmp_path: Path, server: HttpServer) -> tuple[Path, list[str]]:
    closed = free_port()
    urls = [server.url('/a.xml?q="x"&token=SECRETONE'), server.url("/b.xml?api_key=SECRETTWO&x=1"),
            f"http://reader:SECRETTHREE@127.0.0.1:{closed}/c.xml?token=SECRETFOUR",
            server.url("/d\\e.xml?sig=SECRETFIVE")]
    config = write_config(tmp_path / "config", feeds=[{"url": url} for url in urls],  # the name is the URL
                          watchlists={"test": watchlist("alpha")})
    return config, urls


@pytest.mark.slow
def test_a_real_poll_of_feeds_with_tokens_logs_valid_json(tmp_path: Path, feed_server: HttpServer) -> None:
    feed_server.routes["/a.xml"] = Response(500, b'{"error": "bad \\"token\\""}')
    feed_server.routes["/b.xml"] = Response(404, b"gone")
    config, urls = _feed_config(tmp_path, feed_server)
    result = run_monitor("run", "--once", "--config", str(config))
    assert result.returncode == 0, result.stderr
    events = _lines(result.stdout)  # stdout is a pipe: JSON lines
    failed = [e for e in events if e["event"] == "feed_fetch_failed"]
    assert len(failed) == len(urls)
    assert {e["status"] for e in failed} == {500, 404, None}
    assert not [secret for secret in SECRETS if secret in result.stdout + result.stderr]
    assert all("***" in e["feed"] and "***" in e["url"] for e in failed)
