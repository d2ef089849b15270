"""Distinct filler for synthetic headlines: items numbered "report 1", "report 2" ... are near-duplicates to
story clustering (one story, one alert), so tests that need one alert per item give each its own words."""

from __future__ import annotations

_SYLLABLES = ("ka", "lo", "mi", "ve", "ru", "no", "ta", "si", "de", "po", "gu", "fa", "be", "zo", "hi", "wy")


def pseudo_word(n: int, salt: int) -> str:
    out = ""
    for k in range(3):
        out += _SYLLABLES[(n * 7 + salt * 5 + k * 3 + (n >> (4 * k))) % 16]
    return out + _SYLLABLES[(n >> 4) % 16] + _SYLLABLES[(n >> 8) % 16]


def distinct(i: int) -> str:
    """Three made-up words unique to `i`."""
    return " ".join(pseudo_word(i, salt) for salt in (1, 2, 3))
