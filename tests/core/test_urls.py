"""Canonical URLs: tracking stripped, idempotent, and never merging two different articles."""

from __future__ import annotations

import pytest
from hypothesis import given, provisional
from hypothesis import strategies as st

from monitor.core.urls import canonical_url, is_article_url


@pytest.mark.parametrize(("url", "expected"), [
    ("https://www.Example.org/world/story-1?utm_source=rss&utm_medium=feed", "https://example.org/world/story-1"),
    ("http://example.org:80/a/?b=2&a=1#comments", "http://example.org/a?a=1&b=2"),
    ("https://example.org:8443/a", "https://example.org:8443/a"),
    ("https://user:pw@example.org/a?fbclid=x&gclid=y&id=7", "https://example.org/a?id=7"),
    ("https://example.org/a?cid=123&p=5", "https://example.org/a?cid=123&p=5"),  # may be article ids: kept
    ("https://example.org", "https://example.org/"),
    ("https://www.www.example.org./x//", "https://example.org/x"),
    ("http://[::1]:8080/feed?utm_campaign=x", "http://[::1]:8080/feed"),
    ("  https://example.org/a  ", "https://example.org/a"),
    ("mailto:desk@example.org", "mailto:desk@example.org"),
    ("", ""),
    ("http://[broken/", "http://[broken/"),
])
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_two_feeds_linking_one_article_agree() -> None:
    a = canonical_url("https://www.example.org/2026/01/story.html?utm_source=feedA&utm_medium=rss")
    b = canonical_url("https://example.org/2026/01/story.html?at_medium=RSS&xtor=RSS-3#top")
    assert a == b


@given(provisional.urls())
def test_canonical_url_is_idempotent_on_urls(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@given(st.text())
def test_canonical_url_is_idempotent_on_any_text(text: str) -> None:
    once = canonical_url(text)
    assert canonical_url(once) == once


@given(provisional.urls(), st.sampled_from(["utm_source", "utm_campaign", "fbclid", "gclid", "mc_eid"]),
       st.text(alphabet="abcxyz0123", max_size=8))
def test_tracking_parameters_never_change_the_identity(url: str, key: str, value: str) -> None:
    if "#" in url:
        url = url.split("#", 1)[0]
    tagged = url + ("&" if "?" in url else "?") + f"{key}={value}"
    assert canonical_url(tagged) == canonical_url(url)


@pytest.mark.parametrize(("url", "article"), [
    ("https://example.org/", False), ("https://example.org/?", False), ("https://example.org/a", True),
    ("https://example.org/?p=12", True), ("tag:example.org,2026:1", False),
])
def test_front_pages_are_not_articles(url: str, article: bool) -> None:
    assert is_article_url(canonical_url(url)) is article
