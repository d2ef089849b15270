"""The analysts' console and the JSON API (issue 17): Starlette routes, each a thin face over `web.desk` (reads),
`usecases.desk` (actions), `usecases.watchlist_edit` and `store.silences`. Server-rendered pages with no scripts;
every form carries the session's CSRF token, every page the Host check and a strict Content-Security-Policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from monitor.runtime import access, console_forms, console_pages
from monitor.runtime.access import Who
from monitor.runtime.http import DaemonState, json_response, probe_routes
from monitor.runtime.respond import challenge, refuse
from monitor.store.secrets import app_secret
from monitor.usecases.context import Runtime

# No scripts at all; forms post only here; no framing (clickjacking a one-click confirmation).
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
MAX_FORM = 512 * 1024  # a watchlist draft is capped at 256 KB; nothing else posted comes near

Handler = Callable[[Request, Runtime, Who], Response]
FormHandler = Callable[[Request, Runtime, Who, FormData], Response]


def guarded(state: DaemonState, role: str, handler: Handler) -> Callable[[Request], Response]:
    """A page or API read for `role` and above (run by Starlette on its thread pool: the handlers block)."""
    def endpoint(request: Request) -> Response:
        rt = state.runtime()
        who = access.who(request, rt)
        if who is None:
            return challenge(request, rt)
        if not who.may(role):
            return refuse(request, rt, who, 403, f"this needs the {role} role; you are {who.role}")
        return handler(request, rt, who)
    return endpoint


def posted(state: DaemonState, role: str, handler: FormHandler, *,
           signed_in: bool = True) -> Callable[[Request], Awaitable[Response]]:
    """A form POST: size-capped, CSRF-checked, then `role` checked (unless the form authenticates itself, as the
    sign-in form and a one-click link's confirmation do)."""
    async def endpoint(request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if not length.isdigit():  # browsers always send one with a form; a chunked body could be of any size
            return Response("a form needs a Content-Length", status_code=411)
        if int(length) > MAX_FORM:
            return Response("form too large", status_code=413)
        form = await request.form(max_files=0, max_fields=50)
        return await run_in_threadpool(_act, request, form)

    def _act(request: Request, form: FormData) -> Response:
        rt = state.runtime()
        who = access.who(request, rt)
        if not access.csrf_ok(request, form):
            return refuse(request, rt, who, 403, "the form has expired or did not come from this site: reload it")
        if not signed_in:
            return handler(request, rt, who, form)  # type: ignore[arg-type]
        if who is None:
            return challenge(request, rt)
        if not who.acts(role):
            why = (f"this needs the {role} role; you are {who.role}" if who.via in ("session", "header")
                   else "sign in to act (monitor users add NAME --role analyst)")
            return refuse(request, rt, who, 403, why)
        return handler(request, rt, who, form)
    return endpoint


class Guard(BaseHTTPMiddleware):
    """The Host check before anything else, and the response headers every reply carries."""

    def __init__(self, app: Any, state: DaemonState) -> None:
        super().__init__(app)
        self.state = state

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        http = self.state.runtime().config.settings.http
        refused = access.host_refusal(http, request.url.path, request.headers.get("host"))
        response = json_response({"error": refused[1]}, refused[0]) if refused else await call_next(request)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Nothing of a URL (a link token, a story) goes to another site; not no-referrer: Chromium then sends
        # `Origin: null` with this site's own forms, and the CSRF check could not tell them from a foreign page.
        response.headers["Referrer-Policy"] = "same-origin"
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers["Content-Security-Policy"] = CSP
            response.headers["X-Frame-Options"] = "DENY"
        return response


def build_app(state: DaemonState) -> Starlette:
    rt = state.runtime()
    http = rt.config.settings.http
    probes = [Route(path, fn) for path, fn in probe_routes(state).items()]
    pages = [Route(path, guarded(state, role, fn)) for path, role, fn in console_pages.ROUTES]
    forms = [Route(path, posted(state, role, fn, signed_in=signed), methods=["POST"])
             for path, role, fn, signed in console_forms.ROUTES]
    opened = [Route(path, fn) for path, fn in console_forms.OPEN_PAGES(state)]
    middleware = [
        Middleware(Guard, state=state),
        Middleware(SessionMiddleware, secret_key=app_secret(rt.engine, "session"), session_cookie="monitor_session",
                   max_age=int(http.session_hours * 3600), same_site="lax",
                   https_only=bool(http.public_url and http.public_url.startswith("https://"))),
    ]
    return Starlette(routes=[*probes, *opened, *pages, *forms], middleware=middleware)
