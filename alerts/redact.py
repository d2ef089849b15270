"""Secrets out of text: apprise URLs carry tokens and passwords; logs and errors must not."""

from __future__ import annotations

import re

_SECRET_PATTERNS = [
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://)([^/@\s:?#]+):([^/@\s?#]+)@"), r"\1\2:***@"),  # user:password@
    (re.compile(r"(?i)(hooks\.slack\.com/services/|slack://)[^\s?'\"]+"), r"\1***"),
    (re.compile(r"(?i)(/hooks?/|/webhooks?/|/services/)[A-Za-z0-9_\-/]{8,}"), r"\1***"),
    (re.compile(r"xox[abposr]-[A-Za-z0-9-]+"), "xox*-***"),
    (re.compile(r"(?i)((?:token|key|secret|password|pass|apikey|api_key)=)[^&\s]+"), r"\1***"),
]


def redact(text: str) -> str:
    """Mask credentials in apprise URLs and free text (tokens, passwords, webhook paths)."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text
