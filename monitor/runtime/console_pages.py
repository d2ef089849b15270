"""The console's pages and API reads (issue 17): parse the query, read through `web.desk`, render or answer JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor.core.feedback import weekly, weeks_start
from monitor.core.silences import FIELDS
from monitor.core.triage import NOISE_REASONS
from monitor.runtime.access import Who
from monitor.runtime.http import json_response
from monitor.runtime.respond import page_response, refuse
from monitor.store import feedback, silences
from monitor.store.db import session
from monitor.usecases import watchlist_edit
from monitor.usecases.context import Runtime
from monitor.web import desk, queries

_SEVERITIES = {"watch": 1, "warning": 2, "critical": 3}
FEEDBACK_WEEKS = 8


def filters_of(request: Request) -> desk.Filters:
    q = request.query_params
    state = q.get("state", "")
    return desk.Filters(watchlist=q.get("watchlist", "")[:200], severity=_SEVERITIES.get(q.get("severity", ""), 0),
                        actor=q.get("actor", "")[:200], feed=q.get("feed", "")[:300],
                        state=state if state in desk.STATES else "", q=q.get("q", "")[:200])


def cursor_of(request: Request) -> tuple[datetime, str] | None:
    at, sep, story_id = request.query_params.get("after", "").partition("~")
    try:
        return (datetime.fromisoformat(at), story_id) if sep and story_id else None
    except ValueError:
        return None


def _next_query(request: Request, cursor: tuple[datetime, str] | None) -> str | None:
    if cursor is None:
        return None
    params = {k: v for k, v in request.query_params.items() if k != "after" and v}
    return urlencode({**params, "after": f"{cursor[0].isoformat()}~{cursor[1]}"})


def inbox(request: Request, rt: Runtime, who: Who) -> Response:
    filters, now = filters_of(request), datetime.now(UTC)
    stories, cursor = desk.inbox(rt.engine, filters, now, after=cursor_of(request))
    return page_response(request, rt, who, "inbox.html", stories=stories, filters=filters,
                         severity=request.query_params.get("severity", ""), next=_next_query(request, cursor),
                         watchlists=[w.name for w in rt.config.watchlists], feeds=[f.name for f in rt.config.feeds])


def story(request: Request, rt: Runtime, who: Who) -> Response:
    found = desk.story(rt.engine, request.path_params["story_id"], datetime.now(UTC))
    if found is None:
        return refuse(request, rt, who, 404, "no such story (it may have been removed by retention)")
    return page_response(request, rt, who, "story.html", story=found, reasons=NOISE_REASONS)


def alerts(request: Request, rt: Runtime, who: Who) -> Response:
    rows, before = _alerts(request, rt)
    status = request.query_params.get("status", "")
    more = urlencode({**({"status": status} if status else {}), "before": before}) if before else None
    return page_response(request, rt, who, "alerts.html", alerts=rows, next=more, alert_status=status,
                         statuses=queries.ALERT_STATUSES)


def _alerts(request: Request, rt: Runtime) -> tuple[list[dict[str, Any]], int | None]:
    status = request.query_params.get("status") or None
    before = request.query_params.get("before", "")
    limit = request.query_params.get("limit", "")
    return desk.alerts_page(rt.engine, status=status if status in queries.ALERT_STATUSES else None,
                            before=int(before) if before.isdigit() else None,
                            limit=max(1, min(500, int(limit))) if limit.isdigit() else desk.PAGE)


def alert(request: Request, rt: Runtime, who: Who) -> Response:
    found = desk.alert(rt.engine, request.path_params["alert_id"])
    if found is None:
        return refuse(request, rt, who, 404, "no such alert")
    if found["story_id"]:
        return RedirectResponse(f"/stories/{found['story_id']}#alert-{found['id']}", status_code=303)
    return page_response(request, rt, who, "alerts.html", alerts=[found], next=None, alert_status="",
                         statuses=queries.ALERT_STATUSES, reasons=NOISE_REASONS)


def feeds(request: Request, rt: Runtime, who: Who) -> Response:
    return page_response(request, rt, who, "feeds.html", feeds=queries.feeds(rt.engine))


def silence_list(request: Request, rt: Runtime, who: Who) -> Response:
    now = datetime.now(UTC)
    with session(rt.engine) as s:
        rows = silences.list_silences(s, now, include_expired=request.query_params.get("all") == "1")
    views = [{"id": r.id, "matchers": r.matchers, "starts_at": r.starts_at, "ends_at": r.ends_at,
              "comment": r.comment, "author": r.author, "state": silences.state(r, now)} for r in rows]
    if request.url.path.startswith("/api/"):
        return json_response({"silences": views})
    return page_response(request, rt, who, "silences.html", silences=views, fields=FIELDS)


def watchlists(request: Request, rt: Runtime, who: Who) -> Response:
    files = watchlist_edit.files(rt.config.directory)
    with session(rt.engine) as s:  # the analysts' verdicts per watchlist and week, as `evaluate --feedback` counts
        figures = weekly(feedback.verdicts_since(s, weeks_start(datetime.now(UTC), FEEDBACK_WEEKS)))
    return page_response(request, rt, who, "watchlists.html", files=sorted(files), figures=figures,
                         weeks=FEEDBACK_WEEKS,
                         saves={w.name: watchlist_edit.saves(rt, w.name, 5) for w in rt.config.watchlists})


def editor(request: Request, rt: Runtime, who: Who) -> Response:
    stem = request.path_params["stem"]
    try:
        _path, text = watchlist_edit.read(rt.config.directory, stem)
    except watchlist_edit.EditError as exc:
        return refuse(request, rt, who, 404, str(exc))
    watchlist_edit.warm(rt, stem, datetime.now(UTC))  # the current version's scores, before the first preview
    return page_response(request, rt, who, "editor.html", stem=stem, draft=text, problems=[], preview=None)


def api_stories(request: Request, rt: Runtime, who: Who) -> Response:
    stories, cursor = desk.inbox(rt.engine, filters_of(request), datetime.now(UTC), after=cursor_of(request))
    return json_response({"stories": stories, "next": f"{cursor[0].isoformat()}~{cursor[1]}" if cursor else None})


def api_story(request: Request, rt: Runtime, who: Who) -> Response:
    found = desk.story(rt.engine, request.path_params["story_id"], datetime.now(UTC))
    return json_response(found) if found else json_response({"error": "no such story"}, 404)


def api_alerts(request: Request, rt: Runtime, who: Who) -> Response:
    status = request.query_params.get("status")
    if status is not None and status not in queries.ALERT_STATUSES:
        return json_response({"error": f"status must be one of {', '.join(queries.ALERT_STATUSES)}"}, 400)
    rows, before = _alerts(request, rt)
    return json_response({"alerts": rows, "next": before})


def api_feeds(request: Request, rt: Runtime, who: Who) -> Response:
    return json_response({"feeds": queries.feeds(rt.engine)})


ROUTES = [
    ("/", "viewer", inbox), ("/stories/{story_id}", "viewer", story), ("/alerts", "viewer", alerts),
    ("/alerts/{alert_id:int}", "viewer", alert), ("/feeds", "viewer", feeds), ("/silences", "viewer", silence_list),
    ("/watchlists", "viewer", watchlists), ("/watchlists/{stem}", "admin", editor),
    ("/api/stories", "viewer", api_stories), ("/api/stories/{story_id}", "viewer", api_story),
    ("/api/alerts", "viewer", api_alerts), ("/api/feeds", "viewer", api_feeds),
    ("/api/silences", "viewer", silence_list),
]
