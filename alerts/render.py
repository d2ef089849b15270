"""AlertMessage -> what each kind of channel shows, through Jinja2 templates. Pure: no clock, no network.

Feed text is untrusted, so escaping belongs to the template environment, not to each template:
- email HTML: autoescape (a title `<script>` is text), links only for http(s) URLs;
- Slack mrkdwn: every `{{ value }}` passes through `escape_slack` (&, <, > as entities; formatting
  characters swapped for look-alikes, since Slack has no escape for them; @channel/@here defused);
  only `slack_link` may emit a `<url|label>` sequence;
- text and headers: CR/LF and control characters become spaces, so a title cannot add a header line.

Templates come from `alerts/templates/`; a config directory's `templates/` may override any of them.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2

from monitor.domain import AlertMessage, Severity

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SLACK_CHARS = {"&": "&amp;", "<": "&lt;", ">": "&gt;",
                # Slack mrkdwn has no backslash escape: look-alikes keep the text readable and inert.
                "*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_SLACK_RE = re.compile("[" + re.escape("".join(_SLACK_CHARS)) + "]")
_MENTION = re.compile(r"(?i)@(?=(channel|here|everyone)\b)")
SLACK_SECTION_LIMIT = 3000  # characters in one Block Kit section; Slack rejects longer ones
SLACK_HEADER_LIMIT = 150


class SlackMarkup(str):
    """Text already safe for Slack mrkdwn (built by this module); the environment does not escape it."""

    __slots__ = ()


def one_line(text: str, limit: int = 200) -> str:
    """No CR/LF or control characters: safe for an email header or a single chat line."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def escape_slack(text: str) -> str:
    """Untrusted text as inert Slack mrkdwn: no mention, link, or formatting can start from it."""
    flat = _CONTROL.sub(" ", text)
    escaped = _SLACK_RE.sub(lambda m: _SLACK_CHARS[m.group()], _MENTION.sub("@\u2060", flat))
    # A value that starts a line with ">" would quote it; a soft hyphen in front keeps it literal.
    return "\u00ad" + escaped if escaped.startswith("&gt;") else escaped


def http_url(url: str) -> str:
    """The URL if it is http(s) and well-formed, else "" (no javascript:, data:, or mailto: links)."""
    url = _CONTROL.sub("", url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


def slack_link(url: str, label: str) -> SlackMarkup:
    """`<url|label>` with the URL unable to close the link early and the label escaped."""
    safe = http_url(url)
    text = escape_slack(one_line(label)).replace("|", "\u2223")
    if not safe:
        return SlackMarkup(text)
    target = quote(safe, safe="/:?#[]@!$&'()*+,;=%-._~").replace("&", "&amp;")
    return SlackMarkup(f"<{target}|{text}>")


@dataclass(frozen=True)
class Rendered:
    subject: str  # one line: email subject, chat title
    text: str  # plain text: console, webhooks, chat services without a richer format
    html: str  # email body (apprise derives the text/plain part from it)
    slack_title: str = ""  # plain-text header, at most 150 characters
    slack: str = ""  # mrkdwn section, at most 3,000 characters


# What a one-click link says; the console decides what the action does (a snooze lasts 24 hours there).
ACTION_LABELS = {"useful": "Useful", "noise": "Noise", "snooze": "Snooze 24h"}


def _links(message: AlertMessage) -> dict[str, Any]:
    """The console page and one-click links as template values: empty without http.public_url, so a template
    tests `alert.page_url` and shows nothing then. Only http(s) URLs pass, like every other link."""
    links = message.links
    page = http_url(links.page) if links else ""
    if links is None or not page:
        return {"page_url": "", "actions": []}
    actions = [{"action": a, "label": ACTION_LABELS.get(a, a.title()), "url": http_url(url)}
               for a, url in links.actions if http_url(url)]
    return {"page_url": page, "actions": actions}


def _view(message: AlertMessage, top: int) -> dict[str, Any]:
    # A contribution worth nothing is a note (an article that could not be read): said once, not listed as a term.
    contributions = sorted((c for c in message.contributions if c.value), key=lambda c: -abs(c.value))[:top]
    notes = list(dict.fromkeys(one_line(c.detail, 300) for c in message.contributions if not c.value and c.detail))
    return {
        **_links(message),
        "alert_id": message.alert_id, "watchlist": message.watchlist, "severity": message.severity.label,
        "score": message.score, "title": one_line(message.title), "link": one_line(message.link, 2000),
        "feed": one_line(message.feed, 200), "sources": message.sources,
        "published": message.published.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "actors": [one_line(a, 80) for a in message.actors], "terms": [one_line(t, 80) for t in message.terms],
        "contributions": [{"kind": c.kind, "term": one_line(c.term, 60), "value": c.value} for c in contributions],
        "notes": notes,
    }


def _flat(value: Any) -> Any:
    return _CONTROL.sub(" ", value) if isinstance(value, str) else value


def _slack_finalize(value: Any) -> Any:
    if isinstance(value, SlackMarkup) or value is None:
        return value
    return escape_slack(str(value))


def _truncate_to(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(1, room - 1)] + "…"


class Renderer:
    """Renders alerts and summaries for every format; `overrides` is a directory of user templates."""

    def __init__(self, overrides: Path | None = None, *, top: int = 5) -> None:
        loaders: list[jinja2.BaseLoader] = []
        if overrides is not None and overrides.is_dir():
            loaders.append(jinja2.FileSystemLoader(str(overrides)))
        loaders.append(jinja2.PackageLoader("alerts", "templates"))
        loader = jinja2.ChoiceLoader(loaders)
        common: dict[str, Any] = {"loader": loader, "undefined": jinja2.StrictUndefined,
                                  "keep_trailing_newline": False, "trim_blocks": False}
        self._text = jinja2.Environment(autoescape=False, finalize=_flat, **common)  # noqa: S701 (plain text)
        self._html = jinja2.Environment(autoescape=True, finalize=_flat, **common)
        self._slack = jinja2.Environment(autoescape=False, finalize=_slack_finalize, **common)  # noqa: S701
        for env in (self._text, self._html, self._slack):
            env.filters["http_url"] = http_url
            env.filters["truncate_to"] = _truncate_to
        self._slack.globals["slack_link"] = slack_link
        self.top = top

    def alert(self, message: AlertMessage) -> Rendered:
        view = _view(message, self.top)
        context = {"kind": "alert", "alert": view}
        subject = one_line(self._text.get_template("subject.txt.j2").render(context), 250)
        slack = self._slack.get_template("alert.mrkdwn.j2").render(context).strip()
        title = f"{view['severity'].upper()} · {view['watchlist']}"
        return Rendered(subject=subject, text=self._text.get_template("alert.txt.j2").render(context).strip(),
                        html=self._html.get_template("alert.html.j2").render(context).strip(),
                        slack_title=one_line(title, SLACK_HEADER_LIMIT), slack=_fit_slack(slack))

    def summary(self, messages: Sequence[AlertMessage], kind: str) -> Rendered:
        """One message naming every alert in `messages` (a rate-limit summary or a digest)."""
        views = [_view(m, self.top) for m in messages]
        worst = max((m.severity for m in messages), default=Severity.NONE).label
        counts = Counter(m.severity for m in messages)
        breakdown = ", ".join(f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True))
        reason = "held for this digest" if kind == "digest" else "more than the channel's rate limit"
        heading = f"{len(views)} alerts ({breakdown}): {reason}"
        context = {"kind": kind, "alerts": views, "worst": worst, "heading": heading,
                   "watchlists": sorted({v["watchlist"] for v in views})}
        subject = one_line(self._text.get_template("subject.txt.j2").render(context), 250)
        return Rendered(subject=subject, text=self._text.get_template("summary.txt.j2").render(context).strip(),
                        html=self._html.get_template("summary.html.j2").render(context).strip(),
                        slack_title=one_line(f"{len(views)} alerts · {worst.upper()}", SLACK_HEADER_LIMIT),
                        slack=self._slack_summary(context))

    def _slack_summary(self, context: dict[str, Any]) -> str:
        """Shorten titles until the section fits Slack's limit (escaping may lengthen them)."""
        template = self._slack.get_template("summary.mrkdwn.j2")
        room = 120
        while True:
            body = template.render({**context, "title_room": room}).strip()
            if len(body) <= SLACK_SECTION_LIMIT - 100 or room <= 8:
                return _fit_slack(body)
            room = room * 2 // 3


def _fit_slack(body: str) -> str:
    """Last resort for user templates: cut whole lines so the section stays within Slack's limit."""
    if len(body) <= SLACK_SECTION_LIMIT:
        return body
    kept: list[str] = []
    size = 0
    for line in body.splitlines():
        if size + len(line) + 1 > SLACK_SECTION_LIMIT - 60:
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join([*kept, f"… {len(body.splitlines()) - len(kept)} more lines (see `monitor alerts list`)"])


_DEFAULT: list[Renderer] = []


def render(message: AlertMessage, top: int = 5) -> Rendered:
    """The alert with the shipped templates (the demo and the console use this)."""
    if not _DEFAULT:
        _DEFAULT.append(Renderer(top=top))
    return _DEFAULT[0].alert(message)

