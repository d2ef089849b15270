"""How the console answers: a rendered page (with the session's CSRF token and a one-time notice), a refusal as
a page or as JSON, and the challenge to sign in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from monitor.runtime import access
from monitor.runtime.access import Who
from monitor.runtime.http import json_response
from monitor.usecases.context import Runtime
from monitor.web.page import render


def page_response(request: Request, rt: Runtime, who: Who | None, template: str, status: int = 200,
                  **context: Any) -> Response:
    flash = request.session.pop("flash", None)
    html = render(template, who=who, csrf=access.csrf_token(request), flash=flash, now=datetime.now(UTC),
                  path=request.url.path, **context)
    return HTMLResponse(html, status_code=status)


def refuse(request: Request, rt: Runtime, who: Who | None, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return json_response({"error": message}, status)
    return page_response(request, rt, who, "message.html", status, title="Refused", message=message)


def challenge(request: Request, rt: Runtime) -> Response:
    """Not signed in: a browser goes to the sign-in page when there are users to sign in as; an API client (or a
    server with a token and no users) is asked for the token."""
    if not request.url.path.startswith("/api/") and access.users_exist(rt):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    response = json_response({"error": "sign in, or send the token (Authorization: Bearer ...)"}, 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="monitor"'
    return response
