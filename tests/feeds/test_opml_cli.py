"""`monitor feeds` (the health table), `monitor feeds import-opml FILE` and `monitor feeds export-opml`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import load_config
from monitor.feeds.opml import OpmlError, read_opml
from tests.support.configdir import write_config
from tests.support.polling import cycle, make_runtime, news_items, rss
from tests.support.servers import HttpServer, Response

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>My feeds</title></head><body>
  <outline text="World News">
    <outline type="rss" text="BBC World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
    <outline type="rss" title="Meduza" text="m" xmlUrl="https://meduza.io/rss/all"
             category="/Russia,/Independent Media"/>
  </outline>
  <outline type="rss" text="Already there" xmlUrl="https://example.org/existing.xml"/>
  <outline type="rss" text="BBC World" xmlUrl="https://example.org/another-bbc.xml"/>
  <outline type="link" text="A web page" url="https://example.org/"/>
  <outline type="rss" text="Not http" xmlUrl="ftp://example.org/feed"/>
</body></opml>"""

FEEDS_YAML = """\
# Feeds to poll. Comments like this one must survive an import.
feeds:
  # the one we had
  - {url: "https://example.org/existing.xml", name: Existing, tags: [world]}
"""


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_read_opml_folders_and_categories_become_tags() -> None:
    feeds = read_opml(OPML)
    assert [(f.name, f.tags) for f in feeds] == [
        ("BBC World", ("world-news",)), ("Meduza", ("world-news", "russia", "independent-media")),
        ("Already there", ()), ("BBC World", ())]
    with pytest.raises(OpmlError, match="DOCTYPE"):
        read_opml(b'<!DOCTYPE x [<!ENTITY a "b">]><opml><body/></opml>')
    with pytest.raises(OpmlError, match="not an OPML"):
        read_opml(b"<rss/>")


def test_import_appends_and_keeps_comments(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c")
    (config / "feeds.yaml").write_text(FEEDS_YAML, encoding="utf-8")
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)

    dry = run("feeds", "import-opml", str(opml), "--config", str(config), "--dry-run")
    assert "3 feed(s) would add" in dry and (config / "feeds.yaml").read_text() == FEEDS_YAML

    out = run("feeds", "import-opml", str(opml), "--config", str(config), "--tag", "imported")
    assert "3 feed(s) added" in out and "skipped: https://example.org/existing.xml (already configured)" in out
    text = (config / "feeds.yaml").read_text()
    assert text.startswith(FEEDS_YAML)  # appended, comments and layout untouched
    loaded = load_config(config, env={})
    assert [(f.name, f.tags) for f in loaded.feeds] == [
        ("Existing", ("world",)), ("BBC World", ("world-news", "imported")),
        ("Meduza", ("world-news", "russia", "independent-media", "imported")), ("BBC World (2)", ("imported",))]

    again = run("feeds", "import-opml", str(opml), "--config", str(config))
    assert "0 feed(s) added" in again  # idempotent


def test_import_into_an_empty_feeds_file(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c")  # feeds: []
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    run("feeds", "import-opml", str(opml), "--config", str(config))
    assert len(load_config(config, env={}).feeds) == 4


def test_import_of_a_broken_file_changes_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c")
    before = (config / "feeds.yaml").read_text()
    bad = tmp_path / "bad.opml"
    bad.write_bytes(b"<opml><body><outline")
    result = CliRunner().invoke(cli, ["feeds", "import-opml", str(bad), "--config", str(config)])
    assert result.exit_code == 2 and "not well-formed" in result.output
    assert (config / "feeds.yaml").read_text() == before


def test_export_round_trips_through_import(tmp_path: Path, feed_server: HttpServer) -> None:
    feed_server.routes["/old"] = Response(301, b"", {"Location": "/new"})
    feed_server.routes["/new"] = Response(200, rss(news_items(2)))
    rt = make_runtime(tmp_path / "c", [{"name": "Moved Feed", "url": feed_server.url("/old"), "tags": ["a", "b"]}])
    cycle(rt)
    exported = run("feeds", "export-opml", "--config", str(tmp_path / "c"))
    feeds = read_opml(exported.encode())
    assert [(f.name, f.url, f.tags) for f in feeds] == [("Moved Feed", feed_server.url("/new"), ("a", "b"))]


def test_feeds_table_shows_health(tmp_path: Path, feed_server: HttpServer) -> None:
    feed_server.routes["/ok"] = Response(200, rss(news_items(3)))
    feed_server.routes["/down"] = Response(503, b"", {"Retry-After": "600"})
    rt = make_runtime(tmp_path / "c", [{"name": "Good", "url": feed_server.url("/ok")},
                                       {"name": "Down", "url": feed_server.url("/down")}])
    cycle(rt)
    out = run("feeds", "--config", str(tmp_path / "c"))
    header, _rule, *lines = out.splitlines()
    assert header.split() == ["name", "status", "last", "ok", "error", "items", "next", "poll", "failures"]
    down = next(line for line in lines if line.startswith("Down"))
    good = next(line for line in lines if line.startswith("Good"))
    assert "retrying (1)" in down and "throttled: HTTP 503" in down
    assert " ok " in good and " 3 " in good
