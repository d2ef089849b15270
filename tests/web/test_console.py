"""The console in a real browser (issue 17): Playwright drives Debian's Chromium against a real daemon on loopback,
with real users (argon2, `monitor users add`), a real feed server and the daemon's own SQLite file.

Set MONITOR_SCREENSHOTS=DIR to keep the screenshots (docs/console-*.png were made so).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import PASSWORDS, Desk, chromium

pytestmark = pytest.mark.slow



@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def sign_in(browser: Any, desk: Desk, name: str) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(desk.base + "/")
    assert page.url.startswith(desk.base + "/login")  # signed out: sent to the sign-in form
    page.fill("#name", name)
    page.fill("#password", PASSWORDS[name])
    page.click("#sign-in")
    assert page.url == desk.base + "/"
    return page


def shot(page: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    if target := os.environ.get("MONITOR_SCREENSHOTS"):
        shutil.copy(path, Path(target) / path.name)


def api(page: Any, url: str) -> Any:
    """The JSON API with the page's own session cookie."""
    response = page.request.get(url)
    assert response.status == 200, response.text()
    return response.json()


def test_analyst_acknowledges_snoozes_and_marks_noise(desk: Desk, browser: Any, tmp_path: Path) -> None:
    page = sign_in(browser, desk, "ann")
    assert page.inner_text("#inbox").count("Alpha brigades cross the river") == 1
    shot(page, tmp_path, "inbox")
    page.click("text=Alpha brigades cross the river")
    assert "/stories/" in page.url and page.inner_text("#story-state") == "open"
    assert "keyword “Alpha” +4.5" in page.inner_text("#alerts")  # the explanation, on the story page

    page.click("#ack")
    assert page.inner_text("#story-state") == "acked" and "acknowledged" in page.inner_text("#flash")
    page.select_option("#snooze-for", "4h")
    page.click("#snooze")
    assert page.inner_text("#story-state") == "snoozed"
    alert_id = page.get_attribute("[data-alert]", "data-alert")
    page.select_option(f"#reason-{alert_id}", "background")
    page.click(f"#noise-{alert_id}")
    assert "marked noise" in page.inner_text("#flash")
    assert "noise" in page.inner_text(f"#alert-{alert_id}") and "background" in page.inner_text(f"#alert-{alert_id}")
    timeline = page.inner_text("#timeline")
    assert "ann acknowledged" in timeline and "ann snoozed until" in timeline and "(background)" in timeline
    shot(page, tmp_path, "story")

    # The inbox filters by state, and a snoozed story is not "open".
    page.goto(desk.base + "/watchlists")  # the week's figures: one noise verdict, for a background mention
    figures = page.inner_text("#feedback")
    assert "test-list" in figures and "100%" in figures and "background (1)" in figures
    page.goto(desk.base + "/?state=open")
    assert "Alpha brigades" not in page.inner_text("#inbox")
    page.goto(desk.base + "/?state=snoozed")
    assert "Alpha brigades" in page.inner_text("#inbox")


def test_a_silence_holds_the_next_matching_alert_and_a_viewer_cannot_act(desk: Desk, browser: Any,
                                                                          tmp_path: Path) -> None:
    admin = sign_in(browser, desk, "ada")
    admin.goto(desk.base + "/silences")
    admin.select_option("#field-0", "text")
    admin.fill("#value-0", "bravo")
    admin.fill("#hours", "2")
    admin.fill("#comment", "exercise week")
    admin.click("#add-silence")
    assert "silence 1 added" in admin.inner_text("#flash")
    assert "text=bravo" in admin.inner_text("#silences") and "active" in admin.inner_text("#silences")
    shot(admin, tmp_path, "silences")

    desk.feed.add("Bravo battalion fires on the border post")
    desk.feed.add("Alpha column shells the bridge")
    desk.daemon.wait_for("alert_held")
    desk.daemon.wait_for("alert_delivered", where=lambda e: e.get("alert") not in (None, 1), timeout=60)
    alerts = {a["title"]: a for a in api(admin, desk.base + "/api/alerts")["alerts"]}
    held = alerts["Bravo battalion fires on the border post"]
    assert held["status"] == "held" and held["held_by"] == "silence:1" and held["deliveries"] == []
    assert alerts["Alpha column shells the bridge"]["status"] == "delivered"

    viewer = sign_in(browser, desk, "val")
    viewer.goto(desk.base + "/silences")
    assert viewer.query_selector("#add-silence") is None  # no form for a viewer ...
    story = viewer.get_attribute("[data-story]", "data-story") if viewer.goto(desk.base + "/") else None
    viewer.goto(f"{desk.base}/stories/{story}")
    assert viewer.query_selector("#ack") is None
    token = viewer.get_attribute("input[name=csrf]", "value")  # ... and the server refuses the POST itself
    refused = viewer.request.post(f"{desk.base}/stories/{story}/ack", form={"csrf": token})
    assert refused.status == 403 and "analyst role" in refused.text()


def test_admin_edits_a_watchlist_with_a_preview_and_the_daemon_applies_it(desk: Desk, browser: Any,
                                                                           tmp_path: Path) -> None:
    desk.feed.add("Charlie regiment reaches the depot")
    desk.daemon.wait_for("feed_refreshed", where=lambda e: e.get("items") == 2, timeout=60)
    page = sign_in(browser, desk, "ada")
    page.goto(desk.base + "/watchlists")
    page.click("text=test")
    draft = page.input_value("#draft")
    assert "alpha" in draft
    page.fill("#draft", draft.replace("keywords:", "keywords: [oops"))  # broken YAML: monitor check's error
    page.click("#preview")
    assert "test.yaml:" in page.inner_text("#problems") and page.query_selector("#save") is None

    edited = draft.replace("- term: bravo", "- term: charlie\n  weight: 3\n- term: bravo")
    assert edited != draft
    page.fill("#draft", "# the desk added charlie on the 4th\n" + edited)
    page.click("#preview")
    preview = page.inner_text("#preview-result")
    assert "Charlie regiment reaches the depot" in preview and "added" in preview
    shot(page, tmp_path, "editor")
    page.click("#save")
    assert "saved" in page.inner_text("#flash")
    saved = (desk.config / "watchlists" / "test.yaml").read_text()
    assert saved.startswith("# the desk added charlie on the 4th\n") and "charlie" in saved  # comments kept
    assert "+  weight: 3" in page.inner_text("#watchlists")  # the recorded diff
    desk.daemon.wait_for("config_reloaded", timeout=60)
    desk.feed.add("Charlie company crosses into the valley")
    desk.daemon.wait_for("alert_created", where=lambda e: e.get("item") == 3, timeout=60)  # charlie alerts now
