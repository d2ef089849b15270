"""Templates and escaping: feed text is untrusted in every format."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.render import SLACK_SECTION_LIMIT, Renderer, escape_slack, http_url, one_line, slack_link
from monitor.domain import AlertMessage, Contribution, Severity

HOSTILE = ("<!channel> <!here> <@U123> <http://evil.example|click me> *bold* _it_ ~gone~ `code` "
           "```pre``` > quote & &amp; <script>alert(1)</script>\r\nBcc: victim@example.org")


def message(title: str = HOSTILE, link: str = "http://news.invalid/a?x=1&y=2", alert_id: int = 7) -> AlertMessage:
    return AlertMessage(alert_id=alert_id, watchlist="russia-nato", severity=Severity.CRITICAL, score=20.5,
                        title=title, link=link, feed="Wire <b>desk</b>", published=datetime(2026, 3, 2, tzinfo=UTC),
                        actors=("NATO", "Mark Rutte"), terms=("war",),
                        contributions=(Contribution("keyword", "war", (0, 3), 6.0),))


# What Slack would turn into something active: a mention, a link, formatting. Entities are fine.
ACTIVE = re.compile(r"<|>|[*_~`]|&(?!amp;|lt;|gt;)")
LOOKALIKES = {"\u2217": "*", "\u02cd": "_", "\u223c": "~", "\u02cb": "`"}


def slack_plain(text: str) -> str:
    """How Slack shows escaped text: entities decoded, look-alikes read as what they stand for."""
    text = text.replace("\u2060", "").replace("\u00ad", "")
    for fake, real in LOOKALIKES.items():
        text = text.replace(fake, real)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_escaped_slack_text_is_inert_and_reads_as_the_original(text: str) -> None:
    escaped = escape_slack(text)
    assert not ACTIVE.search(escaped)
    assert not re.search(r"(?i)@(channel|here|everyone)\b", escaped)
    if not any(c in text for c in (*LOOKALIKES, "\u2060", "\u00ad")):
        flat = re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", text)
        assert slack_plain(escaped) == flat


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text())
def test_a_slack_link_has_one_target_and_an_inert_label(url: str, label: str) -> None:
    link = slack_link("http://news.invalid/" + url, label)
    assert link.startswith("<http://") and link.endswith(">")
    inner = link[1:-1]
    assert "<" not in inner and ">" not in inner and inner.count("|") == 1
    assert not ACTIVE.search(inner.split("|", 1)[1])


def test_only_http_links() -> None:
    assert http_url("javascript:alert(1)") == "" and http_url("data:text/html,x") == ""
    assert http_url(" https://x.org/a ") == "https://x.org/a"
    assert slack_link("javascript:alert(1)", "t") == "t"


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_subject_is_one_header_line(title: str) -> None:
    rendered = Renderer().alert(message(title))
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    assert not re.search(r"[\x00-\x1f\x7f]", rendered.subject)


def test_hostile_title_is_literal_in_every_format() -> None:
    r = Renderer().alert(message())
    assert r.subject.startswith("[CRITICAL] russia-nato: <!channel>")
    assert "\n" not in r.subject and "Bcc: victim@example.org" in r.subject  # on the Subject line, not a header
    assert "<script>" not in r.html and "&lt;script&gt;" in r.html and "&lt;b&gt;desk" in r.html
    assert html.unescape(re.sub(r"<[^>]+>", "", r.html)).count("<!channel>") == 1
    assert "<!channel>" in r.text  # plain text shows it as written
    assert "<!channel>" not in r.slack and "<@U123>" not in r.slack and "<http://evil" not in r.slack
    assert "<!channel>" in slack_plain(r.slack)
    links = re.findall(r"<([^>]*)>", r.slack)
    assert links == ["http://news.invalid/a?x=1&amp;y=2|" + escape_slack(one_line(HOSTILE)).replace("|", "\u2223")]


def test_slack_summary_fits_a_section_and_names_every_alert() -> None:
    long_title = "war " * 200 + "&<>" * 50
    messages = [message(long_title, alert_id=1000 + i) for i in range(25)]
    r = Renderer().summary(messages, "summary")
    assert len(r.slack) <= SLACK_SECTION_LIMIT
    for i in range(25):
        assert f"#{1000 + i} " in r.slack and f"#{1000 + i} " in r.text and f"#{1000 + i} " in r.html
    assert r.subject.startswith("[CRITICAL] 25 alerts")


def test_user_templates_override_the_shipped_ones(tmp_path: Path) -> None:
    (tmp_path / "alert.txt.j2").write_text("custom {{ alert.title }} {{ alert.watchlist }}", encoding="utf-8")
    r = Renderer(tmp_path).alert(message("hello"))
    assert r.text == "custom hello russia-nato"
    assert "hello" in r.html  # the others still come from the package


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 10**6), st.text(max_size=300),
                          st.sampled_from([Severity.WATCH, Severity.WARNING, Severity.CRITICAL])),
                min_size=1, max_size=25, unique_by=lambda t: t[0]))
def test_a_summary_names_every_alert_in_every_format(alerts: list[tuple[int, str, Severity]]) -> None:
    messages = [AlertMessage(alert_id=i, watchlist="w", severity=sev, score=1.0, title=title, link="http://x.org/",
                             feed="f", published=datetime(2026, 3, 2, tzinfo=UTC)) for i, title, sev in alerts]
    r = RENDERER.summary(messages, "summary")
    assert len(r.slack) <= SLACK_SECTION_LIMIT
    for i, _title, _sev in alerts:
        for body in (r.text, r.html, r.slack):
            assert re.search(rf"(^|\n|>)#{i} ", body), (i, body)


RENDERER = Renderer()


def test_a_zero_contribution_is_a_note_not_a_top_term() -> None:
    note = Contribution("fulltext", "", (0, 0), 0.0, "article not read (paywalled): scored on the headline and summary")
    base = message("Troops cross the border")
    rendered = Renderer().alert(replace(base, contributions=(*base.contributions, note)))
    for body in (rendered.text, rendered.html, rendered.slack):
        assert body.count("article not read (paywalled)") == 1
        assert "fulltext" not in body  # not listed among the contributions
    assert "keyword 'war' +6.0" in rendered.text
