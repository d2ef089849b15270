"""The console's pages: server-rendered Jinja2 templates, autoescaped, no scripts, no build step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

_env = Environment(loader=PackageLoader("monitor.web", "templates"), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def _href(url: object) -> str:
    """Feed links are untrusted: only http(s) becomes a link (no javascript:, data:, ...)."""
    text = str(url or "")
    return text if text.lower().startswith(("http://", "https://")) else "#"


def _when(value: object) -> str:
    if not value:
        return "-"
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


_env.filters["href"] = _href
_env.filters["when"] = _when


def render(template: str, **context: Any) -> str:
    return _env.get_template(template).render(**context)
