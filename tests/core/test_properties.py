"""Properties of the score with the shipped watchlist, over generated headlines (hypothesis)."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from monitor.core.scoring import Scorer
from monitor.domain import Document, Score

ACTORS = ["Putin", "NATO", "Orbán", "Szijjártó", "Siarto", "Lavrov", "Путин", "НАТО", "Moscow", "Kremlin", "EU",
          "Mark Rutte", "Russia", "Poland"]
ESCALATION = ["war", "attack", "nuclear strike", "invasion", "imminent", "escalation", "threatens", "aggression",
              "mobilisation", "ultimatum", "война", "Krieg", "missile strike", "tensions", "hostilities"]
OTHER_TERMS = ["ceasefire", "talks", "dialogue", "war film", "trade war", "peace"]
CUES = ["no", "not", "denied", "could", "might", "by 2030", "will not", "rules out", "if", "не", "nicht",
        "does not rule out", "nonsense"]
FILLER = ["the", "says", "and", "in", "of", "Europe", "report", "after", "award", "Warsaw", "warm", ",", ".", ";",
          "but", "with", "on", "\n"]
TOKENS = st.lists(st.sampled_from(ACTORS + ESCALATION + OTHER_TERMS + CUES + FILLER), min_size=1, max_size=30)

ACCENTS = {"a": "áàä", "e": "éèë", "i": "íï", "o": "óöő", "u": "úüű", "c": "ç", "n": "ñ", "s": "š", "z": "ž",
           "е": "ё", "y": "ý"}
PLAIN = {accented: plain for plain, variants in ACCENTS.items() for accented in variants}


def headline(tokens: list[str]) -> str:
    return " ".join(tokens).replace(" \n ", "\n")


def score(scorer: Scorer, text: str) -> Score:
    [result] = scorer.score(Document.from_text(text))
    return result


@st.composite
def respelt(draw: st.DrawFn, text: str) -> str:
    """`text` with letters' case flipped and diacritics added or removed at random (folding must undo it). A
    word's first letter keeps its case: a place counts only where it is written as a name ("Мирный" the town,
    "мирный" the word), so that case is meaningful."""
    out = []
    for i, char in enumerate(text):
        choice = draw(st.integers(0, 4))
        lower = char.lower()
        initial = i == 0 or not text[i - 1].isalpha()
        if choice == 1 and len(char.swapcase()) == 1 and not initial:
            out.append(char.swapcase())
        elif choice == 2 and lower in ACCENTS:
            accented = draw(st.sampled_from(ACCENTS[lower]))
            out.append(accented.upper() if char.isupper() else accented)
        elif choice == 3 and lower in ACCENTS:
            out.append(char + "\u0301" if lower != "е" else char + "\u0308")  # as a combining mark
        elif choice == 4 and lower in PLAIN:
            out.append(PLAIN[lower].upper() if char.isupper() else PLAIN[lower])
        else:
            out.append(char)
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), tokens=TOKENS)
def test_case_and_diacritics_never_change_the_score(shipped_scorer: Scorer, data: st.DataObject,
                                                    tokens: list[str]) -> None:
    text = headline(tokens)
    variant = data.draw(respelt(text))
    a, b = score(shipped_scorer, text), score(shipped_scorer, variant)
    assert (a.value, a.severity) == (b.value, b.severity)
    assert [(c.kind, c.value) for c in a.contributions] == [(c.kind, c.value) for c in b.contributions]


@settings(max_examples=300, deadline=None)
@given(tokens=TOKENS, where=st.integers(0, 29), term=st.sampled_from(ESCALATION))
def test_an_undamped_escalation_term_next_to_an_actor_never_lowers_the_score(
        shipped_scorer: Scorer, tokens: list[str], where: int, term: str) -> None:
    actors = [i for i, t in enumerate(tokens) if t in ACTORS]
    assume(actors and term not in tokens)
    at = actors[where % len(actors)] + 1
    before = score(shipped_scorer, headline(tokens))
    after = score(shipped_scorer, headline([*tokens[:at], term, *tokens[at:]]))
    assume(not any(f"damps {term!r}" in c.detail for c in after.contributions))  # un-negated, un-hedged
    assert after.value >= before.value
