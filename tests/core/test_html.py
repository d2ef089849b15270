"""Feed HTML becomes one line of plain text: no markup, no scripts, entities decoded, whitespace collapsed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.html import collapse, html_to_text


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
