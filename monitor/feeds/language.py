"""The language of an item whose feed does not declare one, or declares one its text contradicts (issue 18):
per-language lexicons, negation and hedge cues apply only when the scorer knows the language.

eld (Efficient Language Detector, bundled n-gram models for 60 languages) reads the title and the start of the
summary: 54 MB once per process, and 60-190 us an item here (more than scoring it), so it runs only where it
can change something: where the feed declares no language, or declares one written in another script than the
item's (a Russian item in a feed declared German). A German item in a feed declared English keeps `en`: the
limit of that shortcut. Its answer replaces the feed's only when eld calls it reliable; short text (a few
words) keeps what the feed said. Codes are ISO 639-1, the base codes the scorer compares (`ru`, `uk`, `de`).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

MIN_CHARS = 20  # fewer letters than this say too little to overrule a feed
SAMPLE = 200  # characters read: a headline and its lead are plenty, and the cost grows with the text


_NOT_LETTERS = re.compile(r"[\W\d_]+")
_CYRILLIC = re.compile("[\u0400-\u052f]")
_LATIN = re.compile("[A-Za-z\u00c0-\u024f]")
CYRILLIC_LANGUAGES = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn"})
LATIN_LANGUAGES = frozenset({"en", "de", "fr", "es", "it", "pt", "nl", "pl", "hu", "cs", "sk", "ro", "sv", "da", "no",
                             "nb", "fi", "et", "lv", "lt", "tr", "hr", "sl", "bs", "sq", "ca", "ga", "id", "ms", "vi",
                             "az", "uz"})


@cache
def _detector() -> Any:  # eld ships no type information
    from eld import LanguageDetector  # on first use: its models load in 0.15 s, only where items are scored

    return LanguageDetector()


def detect(text: str) -> str | None:
    """The language of `text` when eld is sure of it, else None."""
    sample = text[:SAMPLE]
    if len(_NOT_LETTERS.sub("", sample)) < MIN_CHARS:
        return None
    result = _detector().detect(sample)
    return str(result.language) if result.language and result.is_reliable() else None


def item_language(title: str, summary: str, declared: str | None) -> str | None:
    """What the scorer should take the item's language to be: the text's, where it can be told, else the feed's."""
    text = f"{title}\n{summary}"[:SAMPLE]
    if declared and _script_agrees(declared.split("-")[0].lower(), text):
        return declared
    return detect(text) or declared


def _script_agrees(language: str, text: str) -> bool:
    """The declared language is written in the script most of the text's letters are in (Latin or Cyrillic)."""
    cyrillic, latin = len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))
    if language in CYRILLIC_LANGUAGES:
        return cyrillic > latin
    return language in LATIN_LANGUAGES and latin > cyrillic
