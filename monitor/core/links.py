"""One-click links from chat and email (issue 17): signed, expiring, single-purpose tokens.

A token names one alert and one action and carries a random id; it is signed with the service's key and a salt
per action, so a "useful" token cannot be replayed as "noise", and one whose id has been used once is refused by
the console (the used ids are stored, `store.desk_tables.UsedLinkRow`). itsdangerous signs; nothing here does I/O.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from monitor.domain import AlertLinks

ACTIONS = ("useful", "noise", "snooze")
KEY_NAME = "links"  # the app secret (store.secrets) that signs them
LINK_TTL = timedelta(days=7)  # long enough for a weekend's messages, short enough that old mail goes stale


class LinkError(ValueError):
    """A token that is tampered with, expired, or meant for another action."""


@dataclass(frozen=True)
class LinkClaim:
    alert_id: int
    action: str
    jti: str


def _serializer(key: str, action: str) -> URLSafeTimedSerializer:
    if action not in ACTIONS:
        raise LinkError(f"unknown action {action!r}")
    return URLSafeTimedSerializer(key, salt=f"monitor-link-{action}")


def make_token(key: str, alert_id: int, action: str) -> str:
    return str(_serializer(key, action).dumps({"a": alert_id, "j": secrets.token_urlsafe(12)}))


def read_token(key: str, token: str, action: str, *, now: datetime | None = None,
               ttl: timedelta = LINK_TTL) -> LinkClaim:
    """The claim in `token` if it is genuine, unexpired and for `action`; LinkError otherwise."""
    serializer = _serializer(key, action)
    try:
        data, signed_at = serializer.loads(token, max_age=None, return_timestamp=True)
    except SignatureExpired as exc:  # pragma: no cover - max_age is checked below
        raise LinkError("this link has expired") from exc
    except BadSignature as exc:
        raise LinkError("this link is not valid for this action") from exc
    now = now or datetime.now(UTC)
    if now - signed_at > ttl:
        raise LinkError("this link has expired")
    if not (isinstance(data, dict) and isinstance(data.get("a"), int) and isinstance(data.get("j"), str)):
        raise LinkError("this link is not valid for this action")
    return LinkClaim(alert_id=data["a"], action=action, jti=data["j"])


def alert_links(public_url: str, key: str, alert_id: int, story_id: str | None) -> AlertLinks:
    """The console page of an alert (its story's, or its own for an alert about no story) and a signed link per
    action. An alert without a story gets no snooze: a snooze holds a story's updates, and a trend has none."""
    base = public_url.rstrip("/")
    page = f"{base}/stories/{quote(story_id, safe='')}" if story_id else f"{base}/alerts/{alert_id}"
    actions = ACTIONS if story_id else tuple(a for a in ACTIONS if a != "snooze")
    return AlertLinks(page, tuple((a, f"{base}/l/{a}/{make_token(key, alert_id, a)}") for a in actions))
