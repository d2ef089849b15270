"""Characters that hide a word from a keyword filter: invisible ones, and letters of another script that look
the same.

Invisible: Unicode's Default_Ignorable_Code_Point set (variation selectors, Hangul fillers, Khmer inherent
vowels, tag characters, joiners) plus the blank Braille pattern, which renders as a space but is a symbol.
Folding deletes them, so "nuc\u2800lear" and "nuclear\ufe0f" read "nuclear".

Look-alikes: the single-letter Latin/Cyrillic/Greek pairs of the Unicode TR39 confusables table. A word
that mixes scripts ("Rоssia" with a Cyrillic о, "Pоссия" with a Latin P) is a spoof or a typo, never a
real word, so its letters are read in the word's majority script (TR39 section 5, mixed-script detection);
a word written wholly in one script is left alone, so Russian "сор" is not English "cop". A word spelled
entirely in another script's look-alikes is read as that script: the limit of this approach.
"""

from __future__ import annotations

import re

# DerivedCoreProperties.txt, Default_Ignorable_Code_Point (Unicode 15.1), and U+2800.
_IGNORABLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
IGNORABLE = frozenset(chr(c) for low, high in _IGNORABLE_RANGES for c in range(low, high + 1))

# original character -> the folded Latin letter it is drawn like (TR39 confusables, letters only; case
# matters: Cyrillic В looks like B, but в does not look like b)
_TO_LATIN = {
    **dict(zip("аеорсухіјѕԁһԛԝӏүѵ", "aeopcyxijsdhqwlyv", strict=True)),
    **dict(zip("АВЕКМНОРСТХУІЈЅԚԜҮӀѴ", "abekmhopctxyijsqwylv", strict=True)),
    **dict(zip("αονικρυχγ", "aovikpuxy", strict=True)),
    **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧ", "abezhikmnoptyx", strict=True)),
}
_TO_CYRILLIC = {
    **dict(zip("aeopcyxi", "аеорсухі", strict=True)),
    **dict(zip("ABEKMHOPCTXY", "авекмнорстху", strict=True)),
}
_LATIN = "a-z"
_OTHER = "\u0370-\u03ff\u0400-\u04ff\u0500-\u052f"  # Greek, Cyrillic, Cyrillic Supplement
OTHER_LETTER = re.compile(f"[{_OTHER}]")  # the cheap first look: most text has no Greek or Cyrillic at all
_LATIN_RUN = re.compile(f"[{_LATIN}]+")
_OTHERS = frozenset(chr(c) for c in (*range(0x370, 0x400), *range(0x400, 0x530)))
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz") | _OTHERS
_IS_LATIN = re.compile(f"[{_LATIN}]")
_IS_CYRILLIC = re.compile("[\u0400-\u052f]")


def mixed_words(text: str) -> list[tuple[int, int]]:
    """[start, end) of each mixed-script word of folded `text` (a Latin letter touching a Greek or Cyrillic
    one), in order. It walks the runs of Latin letters, which are few in Greek or Cyrillic text; a regex for
    the touching pair itself tried every position of the text and took 6 us an item."""
    words: list[tuple[int, int]] = []
    for m in _LATIN_RUN.finditer(text):
        start, end = m.span()
        if words and start < words[-1][1]:
            continue  # inside the word found last
        if not ((start and text[start - 1] in _OTHERS) or (end < len(text) and text[end] in _OTHERS)):
            continue
        while start > 0 and text[start - 1] in _LETTERS:
            start -= 1
        while end < len(text) and text[end] in _LETTERS:
            end += 1
        words.append((start, end))
    return words


def unmix(word: str, original: str) -> str:
    """`word` (folded) read in its majority script; `original` is the same characters before folding, which
    tell the look-alike (В is b, в is not). Both have the same length."""
    latin, cyrillic = len(_IS_LATIN.findall(word)), len(_IS_CYRILLIC.findall(word))
    greek = len(word) - latin - cyrillic
    if greek > max(latin, cyrillic):
        return word  # Greek is read as written: it has no table here
    table = _TO_LATIN if latin >= cyrillic else _TO_CYRILLIC
    return "".join(table.get(source, folded) for folded, source in zip(word, original, strict=True))
