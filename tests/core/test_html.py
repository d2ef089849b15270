"""Feed HTML becomes one line of plain text: no markup, no scripts, entities decoded, whitespace collapsed."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.html import _simple, _Text, collapse, html_to_text


@pytest.mark.parametrize(("markup", "text"), [
    ("<p>Troops <b>massing</b></p><p>at the border</p>", "Troops massing at the border"),
    ("Tom &amp; Jerry &mdash; &#8220;quoted&#8221; &nbsp;x", "Tom & Jerry — “quoted” x"),
    ("a<script>alert('x')</script>b<style>p{}</style>c", "abc"),
    ("<img src=x onerror=alert(1)>caption", "caption"),
    ("<a href=\"javascript:alert(1)\">link text</a>", "link text"),
    ("unclosed <script>evil() and more", "unclosed"),
    ("line\none\r\n\ttwo", "line one two"),
    ("nul\x00 and \u202eoverride\u202c", "nul and override"),
    ("<![CDATA[x]]> 1 &lt; 2", "1 < 2"),
    ("", ""),
])
def test_html_to_text(markup: str, text: str) -> None:
    assert html_to_text(markup) == text


def test_scripts_in_any_case_are_dropped() -> None:
    assert html_to_text("<SCRIPT type='text/javascript'>steal()</SCRIPT>ok") == "ok"


@given(st.text())
def test_output_is_one_line_without_controls(markup: str) -> None:
    out = html_to_text(markup)
    assert "\n" not in out and "\x00" not in out and out == out.strip()
    assert "  " not in out


@given(st.text(alphabet=st.characters(blacklist_characters="<>&", blacklist_categories=["Cs", "Cc"]), min_size=1))
def test_script_content_never_leaks(payload: str) -> None:
    marker = "ZZ" + payload + "ZZ"
    assert marker.strip() not in html_to_text(f"<p>before</p><script>{marker}</script><p>after</p>")


@given(st.text())
def test_collapse_is_idempotent(text: str) -> None:
    assert collapse(collapse(text)) == collapse(text)


# --- the plain-markup path (html._simple) against html.parser (html._Text) ---


def _parsed(markup: str) -> str:
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


NAMES = ["p", "P", "br", "b", "a", "img", "div", "li", "span", "h2", "Script", "style", "title", "svg", "o:p",
         "my-tag", "td", "hr"]
_text = st.lists(st.sampled_from([*"ab <>&;#x/=\"'\n\t ", "&amp;", "&#8220;", "&nbsp", "&am", "&lt;", "\u00a0",
                                   "é"]), max_size=12).map("".join)
_value = st.sampled_from(['"x"', "'y'", "z", '"a>b"', "'a\"b'", '"&amp;"', "", "=", '"'])
_attribute = st.builds(lambda name, value, space: f"{space}{name}" + (f"={value}" if value else ""),
                       st.sampled_from(["href", "class", "data-x", "on:click", "src", "1bad"]), _value,
                       st.sampled_from([" ", "\n", "  ", ""]))
_tag = st.builds(lambda close, name, attributes, end: f"<{close}{name}{''.join(attributes)}{end}>",
                 st.sampled_from(["", "/", "/ "]), st.sampled_from(NAMES), st.lists(_attribute, max_size=3),
                 st.sampled_from(["", "/", " /", " ", "/ "]))
_other = st.sampled_from(["<!-- c -->", "<![CDATA[x]]>", "<!DOCTYPE html>", "<?php ?>", "<", "</>", "< p>"])
markup = st.lists(st.one_of(_text, _tag, _other), max_size=12).map("".join)


@settings(max_examples=1500, deadline=None)
@given(markup)
def test_plain_markup_reads_as_html_parser_reads_it(markup: str) -> None:
    simple = _simple(markup)
    assert simple is None or simple == _parsed(markup), (simple, _parsed(markup))


def test_the_plain_path_takes_the_markup_feeds_send() -> None:
    summary = ('<p>NATO &amp; allies <b>warn</b> of &#8220;war&#8221;</p><p><a href="/story/1?a=1&amp;b=2">Read '
               'more</a> <img src="/i/1.jpg" alt=""><br/></p>')
    assert _simple(summary) == _parsed(summary)
    assert html_to_text(summary) == "NATO & allies warn of “war” Read more"
    for declined in ("a<script>x</script>", "<!-- c -->x", "1 < 2", "<o:p>x</o:p>", "</p class=x>"):
        assert _simple(declined) is None, declined


@pytest.mark.corpus
def test_every_summary_of_the_corpus_reads_the_same_on_the_plain_path(corpus: Path) -> None:
    import feedparser

    texts = [text for path in sorted((corpus / "news").rglob("*")) if path.is_file()
             for entry in feedparser.parse(path.read_bytes()).entries
             for text in (entry.get("summary", ""), entry.get("title", ""),
                          *(c.get("value", "") for c in entry.get("content", [])))
             if "<" in text or "&" in text]
    plain = [text for text in texts if _simple(text) is not None]
    assert len(texts) > 1000 and len(plain) > 0.5 * len(texts)  # the path is taken, and the test means something
    for text in plain:
        assert _simple(text) == _parsed(text), text


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_collapses_as_the_unicode_path_does(text: str) -> None:
    from monitor.core.html import _CONTROLS, _NEWLINES, _SPACES

    assert collapse(text) == _NEWLINES.sub(" ", _SPACES.sub(" ", _CONTROLS.sub("", text))).strip()
