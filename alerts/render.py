"""AlertMessage -> what each kind of channel shows. Feed text is untrusted: escaped per format."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from monitor.domain import AlertMessage, Contribution

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def one_line(text: str, limit: int = 200) -> str:
    """No CR/LF or control characters: safe for an email header or a single chat line."""
    flat = _CONTROL.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _contribution(c: Contribution) -> str:
    return f"{c.kind} '{one_line(c.term, 60)}' {c.value:+.1f}"


def render(message: AlertMessage, top: int = 5) -> Rendered:
    severity = message.severity.label.upper()
    title = one_line(message.title)
    subject = one_line(f"[{severity}] {message.watchlist}: {title}", 250)
    contributions = sorted(message.contributions, key=lambda c: -abs(c.value))[:top]
    when = message.published.strftime("%Y-%m-%d %H:%M UTC")
    actors = ", ".join(message.actors) or "none"
    terms = ", ".join(message.terms) or "none"
    lines = [
        f"{severity} alert for watchlist {message.watchlist} (score {message.score:.1f})",
        "",
        title,
        message.link,
        f"Source: {message.feed} · {when}" + (f" · {message.sources} sources" if message.sources > 1 else ""),
        f"Actors: {actors}",
        f"Terms: {terms}",
        "Top contributions:",
        *(f"  - {_contribution(c)}" for c in contributions),
    ]
    text = "\n".join(lines)
    esc = html.escape
    html_body = (
        f"<p><strong>{esc(severity)}</strong> alert for watchlist <strong>{esc(message.watchlist)}</strong>"
        f" (score {message.score:.1f})</p>"
        f'<p><a href="{esc(message.link, quote=True)}">{esc(title)}</a></p>'
        f"<p>Source: {esc(message.feed)} · {esc(when)}</p>"
        f"<p>Actors: {esc(actors)}<br>Terms: {esc(terms)}</p>"
        "<ul>" + "".join(f"<li>{esc(_contribution(c))}</li>" for c in contributions) + "</ul>"
    )
    return Rendered(subject=subject, text=text, html=html_body)
