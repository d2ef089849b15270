"""Secrets out of text: apprise URLs carry tokens and passwords; logs and errors must not.

Two layers. Patterns catch the common shapes (user:password@, Slack webhook paths, xox tokens,
token= parameters) in any text. And every channel URL the sender is configured with is registered:
its exact string and each part apprise hides in its privacy form (tokens, passwords, webhook ids) are
masked wherever they appear, whatever the URL scheme.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import unquote, urlsplit

_SECRET_PATTERNS = [
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://)([^/@\s:?#]+):([^/@\s?#]+)@"), r"\1\2:***@"),  # user:password@
    (re.compile(r"(?i)(hooks\.slack\.com/services/|slack://)[^\s?'\"]+"), r"\1***"),
    (re.compile(r"(?i)(/hooks?/|/webhooks?/|/services/)[A-Za-z0-9_\-/]{8,}"), r"\1***"),
    (re.compile(r"xox[abposr]-[A-Za-z0-9-]+"), "xox*-***"),
    # A parameter's value ends where a URL's query would (&, #, space) or where the text around the URL resumes (a
    # quote or bracket of a repr, `token="..."`): the mask replaces the value, not what follows it.
    (re.compile(r"""(?i)((?:token|key|secret|password|passwd|pwd|pass|auth|sig|signature)=["']?)[^&#\s"'<>()\[\]{}]+"""),
     r"\1***"),
]
_MIN_SECRET = 4  # shorter fragments ("T0", "443") would mask ordinary words

_lock = threading.Lock()
_known: dict[str, str] = {}  # exact secret text -> replacement, longest first when applied
_ordered: list[tuple[str, str]] = []


def register_url(url: str, private_form: str) -> None:
    """Remember a configured URL: the URL maps to `private_form`; the parts missing from that form
    (what apprise considers private) are masked on their own too."""
    secrets = {} if url in private_form else {url: private_form}
    for part in _parts(url):
        if len(part) >= _MIN_SECRET and part not in private_form:
            secrets[part] = "***"
    with _lock:
        _known.update(secrets)
        _ordered[:] = sorted(_known.items(), key=lambda kv: -len(kv[0]))


def _parts(url: str) -> set[str]:
    """Candidate secrets: every piece of the authority, path and query values. Only those apprise
    leaves out of its privacy form are masked, so hosts and addresses stay readable."""
    try:
        split = urlsplit(url)
    except ValueError:
        return set()
    parts = set(re.split(r"[@:]", split.netloc))  # user, password, and tokens where a host would be
    parts.update(p for p in split.path.split("/") if p)
    for pair in split.query.split("&"):
        parts.add(pair.partition("=")[2])
    return {p for p in parts | {unquote(p) for p in parts} if p}


def redact(text: str) -> str:
    """Mask credentials in apprise URLs and free text (tokens, passwords, webhook paths)."""
    for secret, replacement in _ordered:
        if secret in text:
            text = text.replace(secret, replacement)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
