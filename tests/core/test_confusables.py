"""Invisible characters and look-alike letters do not hide a headline from its watchlist (issue 16, row 2)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.confusables import IGNORABLE
from monitor.core.normalize import fold
from monitor.core.scoring import Scorer
from monitor.domain import Document

CLEAN = "Russia threatens NATO with nuclear strike"
# Latin letter (as written) -> the Cyrillic or Greek letter drawn like it
LOOKALIKES = {"a": "аα", "e": "е", "o": "оο", "p": "р", "c": "с", "y": "у", "x": "х", "i": "іι",
              "A": "АΑ", "B": "ВΒ", "E": "ЕΕ", "K": "КΚ", "M": "МΜ", "H": "НΗ", "O": "ОΟ", "P": "РΡ",
              "C": "С", "T": "ТΤ", "X": "ХΧ", "N": "Ν", "s": "ѕ", "h": "һ", "S": "Ѕ"}
HIDERS = ["\ufe0f", "\U000e0100", "\u3164", "\u115f", "\u17b4", "\u2800", "\u200b", "\u00ad", "\u2060", "\ufeff"]


def _value(scorer: Scorer, text: str) -> float:
    return sum(s.value for s in scorer.score(Document.from_text(text)))


@st.composite
def obfuscated(draw: st.DrawFn, text: str) -> str:
    """Each word with fewer than half of its letters swapped for look-alikes (a word swapped whole is a word of
    the other script: see core.confusables) and invisible characters slipped in anywhere inside it."""
    words = []
    for word in text.split(" "):
        letters = list(word)
        swappable = [i for i, c in enumerate(letters) if c in LOOKALIKES]
        most = (len(letters) - 1) // 2
        chosen = draw(st.lists(st.sampled_from(swappable), max_size=most, unique=True)) if swappable and most else []
        for i in chosen:
            letters[i] = draw(st.sampled_from(LOOKALIKES[letters[i]]))
        for _ in range(draw(st.integers(0, 3))):
            letters.insert(draw(st.integers(1, len(letters))), draw(st.sampled_from(HIDERS)))
        words.append("".join(letters))
    return " ".join(words)


@settings(max_examples=200, deadline=None)
@given(obfuscated(CLEAN))
def test_obfuscated_headline_scores_as_the_clean_one(shipped_scorer: Scorer, text: str) -> None:
    assert _value(shipped_scorer, text) == _value(shipped_scorer, CLEAN) > 0


def test_each_hider_named_in_the_issue_is_dropped_inside_words() -> None:
    for hider in HIDERS:
        assert fold(f"nuc{hider}lear str{hider}ike").text == "nuclear strike", hex(ord(hider))
    assert all(fold(c).text == "" for c in IGNORABLE)


def test_explanations_still_point_at_the_original_characters(shipped_scorer: Scorer) -> None:
    text = "Rus\u2800sia threatens NАTO with nuc\ufe0flear strike"  # a Cyrillic А in NATO
    [score] = shipped_scorer.score(Document.from_text(text))
    terms = {c.term for c in score.contributions}
    assert {"NАTO", "nuc\ufe0flear strike", "Rus\u2800sia"} <= terms


def test_words_of_one_script_keep_their_own_reading() -> None:
    assert fold("сор cop").text == "сор cop"  # Russian "litter" is not English "cop"
    assert fold("Pоссия НАТO").text == "россия нато"  # a Latin P and O among Cyrillic letters
    assert fold("Rоssia").text == "rossia"
    assert fold("ВВС").text == "ввс"  # all Cyrillic: not "bbc"
