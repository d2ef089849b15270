"""Folding: one form for terms and text, and spans that still point at the original characters."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from monitor.core.confusables import mixed_words
from monitor.core.normalize import WordView, fold, fold_char, term_words


@pytest.mark.parametrize(("text", "folded"), [
    ("Orbán", "orban"),
    ("Szijjártó", "szijjarto"),
    ("ORBAN", "orban"),
    ("Ёлка", "елка"),  # ё is е
    ("Йошкар-Ола", "йошкар-ола"),  # й is a letter, not и with a breve
    ("Їжак", "їжак"),  # as is Ukrainian ї
    ("Straße", "strasse"),  # casefolding expands
    ("ﬁnal", "final"),  # NFKC ligature
    ("ＮＡＴＯ", "nato"),  # NFKC full width
    ("es\u00adcalation", "escalation"),  # soft hyphen disappears
    ("Orba\u0301n", "orban"),  # decomposed input
    ("İstanbul", "istanbul"),
    ("‘war’ «война» — “guerre”…", "'war' \"война\" - \"guerre\"."),
    ("a\u00a0b\tc\r\nd", "a b c\n\nd"),  # whitespace kinds
    ("5 € • ok", "5     ok"),  # symbols beyond ASCII separate words like spaces
    ("\u1100\u1161 e\u0301", "\u1100\u1161 e"),  # decomposed Hangul stays as it is (NFC would compose it)
])
def test_fold(text: str, folded: str) -> None:
    assert fold(text).text == folded


def test_common_text_keeps_its_length_and_needs_no_map() -> None:
    for text in ("NATO warns Russia", "Путин пригрозил НАТО", "Lawrow: Russland droht", "l'OTAN menacée"):
        folded = fold(text)
        assert folded.length_preserving
        assert len(folded.text) == len(text)


@pytest.mark.parametrize(("text", "word", "original"), [
    ("Die Straße nach Moskau", "strasse", "Straße"),
    ("Viktor Orba\u0301n sagte", "orban", "Orba\u0301n"),
    ("es\u00adcalation now", "escalation", "es\u00adcalation"),
    ("ﬁnal warning", "final", "ﬁnal"),
    ("«Putin» — war!", "putin", "Putin"),
])
def test_spans_map_back_to_the_original(text: str, word: str, original: str) -> None:
    folded = fold(text)
    view = WordView(folded.text)
    start = view.text.index(f" {word} ") + 1
    fs, fe = view.folded_span(start, start + len(word))
    s, e = folded.span(fs, fe)
    assert text[s:e] == original


def test_word_view_collapses_punctuation_and_whitespace() -> None:
    assert WordView(fold("  «Putin»: NATO—war!\n\nNuclear   strike...").text).text == " putin nato war nuclear strike "
    assert WordView(fold("").text).text == "  "


def test_term_words_keep_wildcards() -> None:
    assert term_words("Escalat*") == ["escalat*"]
    assert term_words("ядерн* удар*") == ["ядерн*", "удар*"]
    assert term_words("anti-war") == ["anti", "war"]
    assert term_words("l'OTAN") == ["l", "otan"]


def test_fold_char_ignores_case_everywhere() -> None:
    """The fast path lowercases first; that is only right if folding a character and its lowercase agree."""
    for code in range(0x10000):
        char = chr(code)
        if not 0xD800 <= code < 0xE000 and len(char.lower()) == 1:
            assert fold_char(char.lower()) == fold_char(char), hex(code)


_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
_MIXED = st.text(alphabet="aAbBßẞİıЁёЙйЇїéÉ ’«»—…\u00ad\u0301ﬁ①Ｘ\n\t😀€_*-.,Orbánжж", max_size=30)


def _composed(text: str) -> str:
    """NFC applied to each base character with its combining marks (what fold does; whole-text NFC would
    also join Hangul jamo, which are base characters)."""
    clusters: list[str] = []
    for char in text:
        if clusters and unicodedata.combining(char):
            clusters[-1] += char
        else:
            clusters.append(char)
    return "".join(unicodedata.normalize("NFC", c) for c in clusters)


@given(st.one_of(_TEXT, _MIXED))
def test_fast_path_equals_the_character_by_character_definition(text: str) -> None:
    expected = "".join(fold_char(c) for c in _composed(text))
    assume(not mixed_words(expected))  # mixed-script words are read per word: tests/core/test_confusables
    assert fold(text).text == expected


@given(st.one_of(_TEXT, _MIXED))
def test_every_word_maps_back_to_original_text_that_folds_to_it(text: str) -> None:
    folded = fold(text)
    view = WordView(folded.text)
    pos = 1
    for word in view.text.split():
        fs, fe = view.folded_span(pos, pos + len(word))
        assert folded.text[fs:fe] == word
        s, e = folded.span(fs, fe)
        assert 0 <= s < e <= len(text)
        assert word in WordView(fold(text[s:e]).text).text.split()  # "¼" is the words "1 4"
        pos += len(word) + 1


@given(st.one_of(_TEXT, _MIXED), st.integers(1, 3), st.sampled_from([0, 2100]))
def test_locate_is_word_index_and_folded_span_in_one(text: str, words: int, padding: int) -> None:
    """The matcher's one-call lookup gives what the two separate ones give, in short views and in long ones
    (past 4,096 characters word positions are indexed instead of counted)."""
    view = WordView(fold("x, " * padding + text).text)
    starts = [i + 1 for i, c in enumerate(view.text[:-1]) if c == " "]
    for k, start in enumerate(starts[:-1]):
        end = starts[min(k + words, len(starts) - 1)] - 1
        assert view.locate(start, end) == (view.word_index(start), *view.folded_span(start, end))
