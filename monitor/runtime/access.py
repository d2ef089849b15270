"""Who is asking, and may they (issue 17): the Host check, sessions, the proxy header, the API token, roles, CSRF.

Order of trust: a Host this server is not known by is refused first (DNS rebinding); then a signed-in session, a
proxy-authenticated user (only when `http.user_header` is set), the bearer token (reads only), or, on a fresh
install with no users and no token, an anonymous reader (the settings allow that only on loopback).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request

from monitor.config.settings import HttpSettings
from monitor.store import users
from monitor.store.db import session
from monitor.usecases.context import Runtime

# Open to any Host and without the token: kubelets and load balancers probe by IP address, Prometheus scrapes by
# its target's name, and none of them hold a token; what they show is counts and states, no feed content.
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
OPEN = frozenset({"/login", "/static"})  # reachable before signing in (the Host check still applies)


@dataclass(frozen=True)
class Who:
    name: str
    role: str  # viewer, analyst, admin
    via: str  # session, header, token, anonymous

    def may(self, needed: str) -> bool:
        return users.may(self.role, needed)

    def acts(self, needed: str) -> bool:
        """May change something as `needed`: a signed-in person (session or proxy), never the token or a reader
        of a fresh install, whatever their role says."""
        return self.via in ("session", "header") and self.may(needed)


def host_name(header: str) -> str:
    """`example.org:8787` -> example.org, `[::1]:8787` -> ::1; lower case, no trailing dot."""
    header = header.strip().lower()
    if header.startswith("["):
        name = header[1:header.find("]")] if "]" in header else ""
    else:
        name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
    return name.rstrip(".")


def host_refusal(http: HttpSettings, path: str, host: str | None) -> tuple[int, str] | None:
    if path in PROBES:
        return None
    name = host_name(host or "")
    if not name:
        return 400, "a Host header is required"
    if name not in http.served_names():
        return 421, "unknown Host: name it in http.allowed_hosts to reach the page by it"
    return None


def bearer_ok(http: HttpSettings, authorization: str | None) -> bool:
    token = http.bearer()
    scheme, _, given = (authorization or "").strip().partition(" ")
    return token is not None and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                                                    token.encode())


def who(request: Request, rt: Runtime) -> Who | None:
    """The signed-in user, the proxy's user, the token holder, the anonymous reader, or None (must sign in)."""
    http = rt.config.settings.http
    with session(rt.engine) as s:
        name = request.session.get("user")
        if isinstance(name, str) and (row := users.user(s, name)) is not None:
            return Who(row.name, row.role, "session")
        if http.user_header and (given := request.headers.get(http.user_header)):
            row = users.user(s, given)
            return Who(row.name, row.role, "header") if row is not None else None
        if bearer_ok(http, request.headers.get("authorization")):
            return Who("token", "viewer", "token")
        if http.bearer() is None and not users.any_users(s):
            return Who("anonymous", "viewer", "anonymous")
    return None


def csrf_token(request: Request) -> str:
    """The session's form token, made on first use; every form carries it and every POST is checked against it."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def csrf_ok(request: Request, form: Any) -> bool:
    expected, given = request.session.get("csrf"), form.get("csrf")
    if not (isinstance(expected, str) and isinstance(given, str) and hmac.compare_digest(expected, given)):
        return False
    origin = request.headers.get("origin")  # a browser names the page a POST came from: it must be this site
    return origin is None or host_name(urlsplit(origin).netloc) == host_name(request.headers.get("host", ""))


def users_exist(rt: Runtime) -> bool:
    with session(rt.engine) as s:
        return users.any_users(s)
