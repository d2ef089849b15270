"""Who may change what (issue 17), over real HTTP against a real daemon: signed one-click links that are expired,
reused, tampered with or meant for another action are refused; no state change without a session (or a link) and
its CSRF token; sign-in does not redirect off-site; a fresh install with no users is read-only."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from monitor.core import links
from monitor.store.db import make_engine
from monitor.store.secrets import app_secret
from tests.support.configdir import write_config
from tests.support.daemonproc import Daemon, GrowingFeed, daemon_settings, watchlist
from tests.support.servers import HttpServer, free_port
from tests.web.conftest import PASSWORDS, Desk

pytestmark = pytest.mark.slow


def csrf(client: httpx.Client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def signed_in(base: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=base)
    answer = client.post("/login", data={"csrf": csrf(client, "/login"), "name": name, "password": PASSWORDS[name],
                                         "next": "/"})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    return client


def feedback_of(base: str, alert_id: int) -> dict[str, object] | None:
    viewer = signed_in(base, "val")
    (alert,) = [a for a in viewer.get("/api/alerts").json()["alerts"] if a["id"] == alert_id]
    return alert["feedback"]  # type: ignore[no-any-return]


def test_signed_links_act_once_and_only_as_signed(desk: Desk) -> None:
    key = app_secret(make_engine(f"sqlite:///{desk.config / 'monitor.db'}"), links.KEY_NAME)
    token = links.make_token(key, 1, "useful")
    browser = httpx.Client(base_url=desk.base)  # not signed in: the link is the authority

    confirm = browser.get(f"/l/useful/{token}")
    assert confirm.status_code == 200 and "Confirm: mark this alert useful" in confirm.text
    assert feedback_of(desk.base, 1) is None  # a GET (a chat app's link preview, say) changes nothing
    assert browser.post(f"/l/useful/{token}", data={}).status_code == 403  # no CSRF token
    form = {"csrf": re.search(r'name="csrf" value="([^"]+)"', confirm.text).group(1)}  # type: ignore[union-attr]
    done = browser.post(f"/l/useful/{token}", data=form)
    assert done.status_code == 200 and "alert marked useful" in done.text
    given = feedback_of(desk.base, 1)
    assert given is not None and (given["verdict"], given["user"]) == ("useful", "link")

    again = browser.post(f"/l/useful/{token}", data=form)
    assert again.status_code == 409 and "used already" in again.text
    fresh = links.make_token(key, 1, "noise")
    assert browser.get(f"/l/useful/{fresh}").status_code == 400  # a noise link is no useful link
    assert browser.post(f"/l/snooze/{fresh}", data=form).status_code == 400
    tampered = fresh[:-3] + ("aaa" if not fresh.endswith("aaa") else "bbb")
    assert browser.post(f"/l/noise/{tampered}", data=form).status_code == 400
    assert browser.post(f"/l/noise/{links.make_token('another key', 1, 'noise')}", data=form).status_code == 400

    class Old(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 8 * 86400

    stale = URLSafeTimedSerializer(key, salt="monitor-link-noise", signer=Old).dumps({"a": 1, "j": "stale-one"})
    expired = browser.post(f"/l/noise/{stale}", data=form)
    assert expired.status_code == 400 and "expired" in expired.text
    assert (feedback_of(desk.base, 1) or {}).get("verdict") == "useful"  # nothing after the first took effect


def test_no_state_change_without_a_session_and_its_csrf_token(desk: Desk) -> None:
    stranger = httpx.Client(base_url=desk.base)
    assert stranger.get("/").status_code == 303 and stranger.get("/api/alerts").status_code == 401
    assert stranger.post("/stories/1/ack", data={}).status_code == 403
    analyst = signed_in(desk.base, "ann")
    token = csrf(analyst, "/stories/1")
    assert analyst.post("/stories/1/ack", data={}).status_code == 403  # a CSRF-less POST
    assert analyst.post("/stories/1/ack", data={"csrf": "guess"}).status_code == 403
    forged = analyst.post("/stories/1/ack", data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert analyst.get("/api/stories/1").json()["state"]["name"] == "open"
    assert analyst.post("/stories/1/ack", data={"csrf": token}).status_code == 303
    assert analyst.get("/api/stories/1").json()["state"]["name"] == "acked"

    assert analyst.post("/logout", data={"csrf": token}).status_code == 303
    assert analyst.post("/stories/1/reopen", data={"csrf": token}).status_code == 403  # signed out: token void
    wrong = stranger.post("/login", data={"csrf": csrf(stranger, "/login"), "name": "ann", "password": "nope"})
    assert wrong.status_code == 401 and "wrong password" in wrong.text
    for _ in range(5):
        stranger.post("/login", data={"csrf": csrf(stranger, "/login"), "name": "val", "password": "guess-guess"})
    throttled = stranger.post("/login", data={"csrf": csrf(stranger, "/login"), "name": "val",
                                              "password": PASSWORDS["val"]})  # even the right one, for a while
    assert throttled.status_code == 429 and "too many failed attempts" in throttled.text
    off_site = stranger.post("/login", data={"csrf": csrf(stranger, "/login"), "name": "ann",
                                             "password": PASSWORDS["ann"], "next": "//evil.example/"})
    assert off_site.status_code == 303 and off_site.headers["location"] == "/"


def test_a_fresh_install_without_users_is_read_only(tmp_path: Path, feed_server: HttpServer) -> None:
    feed = GrowingFeed("World Desk")
    feed.add("Alpha brigades cross the river")
    feed_server.routes["/world.xml"] = feed
    port = free_port()
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/world.xml"), "name": "World Desk"}],
                          watchlists={"test": watchlist("alpha")}, settings=daemon_settings(port=port))
    daemon = Daemon(config)
    try:
        daemon.wait_for("alert_delivered")
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}")
        page = client.get("/")
        assert page.status_code == 200 and "no console users yet" in page.text and "Alpha brigades" in page.text
        refused = client.post("/stories/1/ack", data={"csrf": csrf(client, "/login")})
        assert refused.status_code == 403 and "sign in to act" in refused.text
        assert client.get("/api/stories/1").json()["state"]["name"] == "open"
    finally:
        daemon.stop()
