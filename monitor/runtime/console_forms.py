"""The console's forms (issue 17): story and alert actions, silences, the watchlist editor, signing in and out,
and one-click links. Each handler runs after `console.posted` has checked the size, the CSRF token and the role."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor.core import links
from monitor.core.silences import MatcherError, parse_matcher
from monitor.runtime import access
from monitor.runtime.access import Who
from monitor.runtime.http import DaemonState
from monitor.runtime.respond import page_response, refuse
from monitor.store import silences, users
from monitor.store.db import session
from monitor.store.secrets import app_secret
from monitor.usecases import desk, watchlist_edit
from monitor.usecases.context import Runtime
from monitor.web import desk as views

SNOOZE_CHOICES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(hours=24),
                  "72h": timedelta(hours=72), "7d": timedelta(days=7)}


def _back(request: Request, to: str, flash: str) -> Response:
    request.session["flash"] = flash
    return RedirectResponse(to, status_code=303)


def _story_action(request: Request, rt: Runtime, who: Who, form: FormData) -> Response:
    story_id, verb = request.path_params["story_id"], request.url.path.rsplit("/", 1)[-1]
    now, actor = datetime.now(UTC), desk.Actor(who.name)
    try:
        if verb == "ack":
            desk.acknowledge(rt, story_id, actor, now, comment=str(form.get("comment", ""))[:2000])
            done = "acknowledged: updates at this severity are held; a rise is sent"
        elif verb == "snooze":
            span = SNOOZE_CHOICES.get(str(form.get("for", "")))
            if span is None:
                return refuse(request, rt, who, 400, f"snooze for one of {', '.join(SNOOZE_CHOICES)}")
            desk.snooze(rt, story_id, now + span, actor, now)
            done = f"snoozed until {now + span:%Y-%m-%d %H:%M} UTC unless its severity rises"
        else:
            desk.reopen(rt, story_id, actor, now)
            done = "reopened"
    except desk.DeskError as exc:
        return refuse(request, rt, who, 404, str(exc))
    return _back(request, f"/stories/{story_id}", done)


def _feedback(request: Request, rt: Runtime, who: Who, form: FormData) -> Response:
    alert_id = request.path_params["alert_id"]
    verdict, reason = str(form.get("verdict", "")), str(form.get("reason", "")) or None
    try:
        desk.feedback(rt, alert_id, verdict, desk.Actor(who.name), datetime.now(UTC), reason=reason,
                      comment=str(form.get("comment", "")))
    except desk.DeskError as exc:
        return refuse(request, rt, who, 400, str(exc))
    found = views.alert(rt.engine, alert_id)
    to = f"/stories/{found['story_id']}#alert-{alert_id}" if found and found["story_id"] else f"/alerts/{alert_id}"
    return _back(request, to, f"alert {alert_id} marked {verdict}")


def _add_silence(request: Request, rt: Runtime, who: Who, form: FormData) -> Response:
    now = datetime.now(UTC)
    try:
        matchers = [parse_matcher(f"{f}={v}") for f, v in zip(form.getlist("field"), form.getlist("value"),
                                                                strict=False) if str(v).strip()]
        hours = float(str(form.get("hours", "")))
        if not 0 < hours <= 24 * 90:
            raise ValueError
    except MatcherError as exc:
        return refuse(request, rt, who, 400, str(exc))
    except ValueError:
        return refuse(request, rt, who, 400, "hours: a number of hours between 0 and 2160 (90 days)")
    try:
        with session(rt.engine) as s:
            row = silences.add_silence(s, matchers, starts_at=now, ends_at=now + timedelta(hours=hours),
                                       author=who.name, now=now, comment=str(form.get("comment", "")))
            s.commit()
    except silences.SilenceError as exc:
        return refuse(request, rt, who, 400, str(exc))
    return _back(request, "/silences", f"silence {row.id} added")


def _expire_silence(request: Request, rt: Runtime, who: Who, form: FormData) -> Response:
    with session(rt.engine) as s:
        row = silences.expire_silence(s, request.path_params["silence_id"], datetime.now(UTC))
        s.commit()
    if row is None:
        return refuse(request, rt, who, 404, "no such silence")
    return _back(request, "/silences", f"silence {row.id} expired")


def _edit_watchlist(request: Request, rt: Runtime, who: Who, form: FormData) -> Response:
    stem, draft = request.path_params["stem"], str(form.get("draft", "")).replace("\r\n", "\n")
    try:
        watchlist, problems = watchlist_edit.check(rt.config.directory, stem, draft)
        if watchlist is None or form.get("action") != "save":
            current = next((w for w in rt.config.watchlists if watchlist and w.name == watchlist.name), None)
            days = float(str(form.get("days", "7")) or 7)
            result = watchlist_edit.preview(rt, current, watchlist, datetime.now(UTC),
                                            days=min(max(days, 0.1), 90)) if watchlist else None
            return page_response(request, rt, who, "editor.html", stem=stem, draft=draft, problems=problems,
                                 preview=result, status=200 if watchlist else 422)
        diff = watchlist_edit.save(rt, stem, draft, who.name, datetime.now(UTC))
    except (watchlist_edit.EditError, ValueError) as exc:
        return refuse(request, rt, who, 400, str(exc))
    return _back(request, "/watchlists", f"{stem} saved ({diff.count(chr(10))} diff lines); the reload applies it"
                 if diff else f"{stem}: no change")


class _Throttle:
    """Failed sign-ins per user name in this process: after FAILURES in WINDOW seconds the name is refused until
    the oldest failure ages out, so a password cannot be guessed at the speed of argon2 on every core."""

    FAILURES, WINDOW = 5, 900.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed: dict[str, list[float]] = {}

    def blocked(self, name: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failed.get(name, []) if now - t < self.WINDOW]
            self._failed[name] = recent
            return len(recent) >= self.FAILURES

    def failed(self, name: str) -> None:
        with self._lock:
            self._failed.setdefault(name, []).append(time.monotonic())
            if len(self._failed) > 10_000:  # names are the client's choice: bound the memory they can take
                self._failed.clear()


_throttle = _Throttle()


def _login(request: Request, rt: Runtime, who: Who | None, form: FormData) -> Response:
    name, password = str(form.get("name", ""))[:100], str(form.get("password", ""))[:1000]
    if _throttle.blocked(name):
        return page_response(request, rt, None, "login.html", status=429, next="/",
                             error="too many failed attempts for this user: try again in 15 minutes")
    with session(rt.engine) as s:
        user = users.authenticate(s, name, password)
    if user is None:
        _throttle.failed(name)
        return page_response(request, rt, None, "login.html", status=401, error="unknown user or wrong password",
                             next=_safe_next(str(form.get("next", "/"))))
    request.session.clear()  # a new session (and CSRF token) at sign-in: nothing planted before carries over
    request.session["user"] = user.name
    return RedirectResponse(_safe_next(str(form.get("next", "/"))), status_code=303)


def _logout(request: Request, rt: Runtime, who: Who | None, form: FormData) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _safe_next(target: str) -> str:
    """Only a path on this site: `//evil.example` or `https://...` after sign-in would be an open redirect."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def _claim(rt: Runtime, request: Request) -> links.LinkClaim:
    action, token = request.path_params["action"], request.path_params["token"]
    if action not in links.ACTIONS:
        raise links.LinkError("unknown action")
    return links.read_token(app_secret(rt.engine, links.KEY_NAME), token, action)


def _follow(request: Request, rt: Runtime, who: Who | None, form: FormData) -> Response:
    try:
        done = desk.follow_link(rt, _claim(rt, request), datetime.now(UTC))
    except links.LinkError as exc:
        return refuse(request, rt, who, 400, str(exc))
    except desk.DeskError as exc:
        return refuse(request, rt, who, 409, str(exc))
    return page_response(request, rt, who, "message.html", title="Done", message=done)


def OPEN_PAGES(state: DaemonState) -> list[tuple[str, Callable[[Request], Response]]]:
    """GET pages reachable without signing in: the sign-in form, and a link's confirmation (only a POST acts)."""
    def login(request: Request) -> Response:
        return page_response(request, state.runtime(), None, "login.html", error=None,
                             next=_safe_next(request.query_params.get("next", "/")))

    def confirm(request: Request) -> Response:
        rt = state.runtime()
        who = access.who(request, rt)
        try:
            claim = _claim(rt, request)
        except links.LinkError as exc:
            return refuse(request, rt, who, 400, str(exc))
        return page_response(request, rt, who, "confirm.html", claim=claim, alert=views.alert(rt.engine,
                                                                                              claim.alert_id))
    return [("/login", login), ("/l/{action}/{token}", confirm)]


ROUTES = [
    ("/stories/{story_id}/ack", "analyst", _story_action, True),
    ("/stories/{story_id}/snooze", "analyst", _story_action, True),
    ("/stories/{story_id}/reopen", "analyst", _story_action, True),
    ("/alerts/{alert_id:int}/feedback", "analyst", _feedback, True),
    ("/silences", "admin", _add_silence, True),
    ("/silences/{silence_id:int}/expire", "admin", _expire_silence, True),
    ("/watchlists/{stem}", "admin", _edit_watchlist, True),
    ("/login", "viewer", _login, False),
    ("/logout", "viewer", _logout, False),
    ("/l/{action}/{token}", "viewer", _follow, False),
]
