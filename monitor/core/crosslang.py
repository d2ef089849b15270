"""Stories across languages (issue 18): do two items in different languages report the same event?

Word overlap cannot say it (a Russian and an English headline share no word), so the evidence is what does not
change with the language: named actors and places resolved to ids ("Роснефть", "Rosneft" -> `rosneft`;
"Покровска", "Pokrovsk" -> `pokrovsk`), and the time. Two items match when they were seen within WINDOW of
each other and share at least MIN_SHARED entity ids of which at least one is specific (not one of the actors
every war report names: Russia, Ukraine, the US, their presidents). Pure; no I/O.

Names are matched as stems at the start of a normalised word (monitor.core.neardup.normalise), so inflected
Cyrillic forms ("Роснефти", "Лукойла", "Польше") and German compounds' heads are found. The caller may add
aliases (watchlist actors: id -> surface forms in any script) and places (monitor.config.gazetteer).

The second kind of evidence is a multilingual sentence embedding of title and lead (monitor.feeds.embed makes
it; this module only takes the vectors), meant to put two reports of one event close together whatever their
language, once each vector has its language's mean subtracted (`LanguageMeans`: raw cosines of the labelled
pairs run from 0.75 to 0.88, same-event and different-event alike). `by_embedding` decides on that cosine,
behind one of three gates: none, a shared entity id (`shares_entity`: the only pairs worth an embedding are
the entity matcher's candidates), or the entity evidence not ruling the pair out (`not_ruled_out`: both items
name actors and share none).

Measured on tests/data/crosslang_pairs.yaml (thresholds chosen on its tuning split); neither kind reaches the
targets there, so StoryIndex does not use this module (docs/stories.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypeAlias

from monitor.core.neardup import normalise

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

WINDOW = timedelta(days=3)
MIN_SHARED = 2

# id -> stems, normalised (lower case, no accents); a stem matches a word that starts with it. Kept to actors
# and places a Russia/NATO desk meets; the caller's watchlist aliases extend it.
ENTITIES: dict[str, tuple[str, ...]] = {
    "russia": ("russia", "russland", "russie", "росси", "рф", "кремл", "kremlin", "moscow", "moskau", "москв"),
    "ukraine": ("ukrain", "украин", "україн", "kyiv", "kiev", "kiew", "киев", "київ"),
    "usa": ("u s", "us", "usa", "america", "американ", "сша", "washington", "вашингтон", "белый дом",
            "white house"),
    "trump": ("trump", "трамп"),
    "putin": ("putin", "poutine", "путин", "путін"),
    "zelensky": ("zelensk", "selensk", "зеленск", "зеленськ"),
    "nato": ("nato", "otan", "нато", "alliance", "альянс"),
    "eu": ("eu", "european union", "евросоюз", "ес", "brussels", "брюссел"),
    "china": ("china", "chinese", "beijing", "китай", "китая", "пекин", "xi jinping", "си цзиньпин"),
    "iran": ("iran", "иран", "tehran", "тегеран", "khamenei", "хаменеи"),
    "israel": ("israel", "израил", "netanyahu", "нетаньяху", "idf", "цахал"),
    "poland": ("poland", "polish", "polen", "pologne", "польш", "польск", "polnisch"),
    "drones": ("drone", "дрон", "беспилот", "drohne"),
    "air_defense": ("air defense", "air defence", "пво", "shoot down", "interceptor", "перехват"),
    "rosneft": ("rosneft", "роснефт"),
    "lukoil": ("lukoil", "лукойл"),
    "sanctions": ("sanction", "санкци", "sanktion"),
    "oil": ("oil", "нефт", "öl", "petrol"),
    "alaska": ("alaska", "anchorage", "аляск", "анкоридж"),
    "summit": ("summit", "саммит", "gipfel", "sommet"),
    "parade": ("parade", "парад"),
    "pipeline": ("pipeline", "газопровод", "power of siberia", "сила сибири", "силы сибири", "pipeline deal"),
    "mongolia": ("mongol", "монгол"),
    "peace_plan": ("peace plan", "мирн плана", "мирного плана", "мирный план", "peace deal", "draft peace",
                   "friedensplan", "plan de paix"),
    "demilitarized": ("demilitar", "демилитар"),
    "donbas": ("donbas", "донбас", "donetsk", "донецк"),
    "florida": ("florida", "флорид", "mar a lago"),
    "fuel": ("fuel", "gasoline", "бензин", "топлив", "refiner", "нпз", "treibstoff"),
    "pokrovsk": ("pokrovsk", "покровск"),
    "anticorruption": ("anticorruption", "anti corruption", "коррупц", "nabu", "набу"),
    "arms": ("arms", "weapon", "оружи", "patriot", "вооружен"),
    "hijab": ("hijab", "хиджаб", "social rules"),
    "tariffs": ("tariff", "пошлин", "zoll"),
    "court": ("court", "суд", "gericht"),
    "maduro": ("maduro", "мадуро"),
    "venezuela": ("venezuel", "венесуэл"),
    "tanker": ("tanker", "танкер"),
    "submarine": ("submarine", "подлод", "u boot"),
    "medvedev": ("medvedev", "medwedew", "медведев"),
    "oreshnik": ("oreshnik", "орешник", "intermediate range", "средней и меньшей"),
    "central_bank": ("central bank", "центробанк", "цб", "банк россии", "key rate", "ключев"),
    "nigeria": ("nigeria", "нигери"),
    "syria": ("syria", "сири", "syrien", "assad", "асад"),
    "gaza": ("gaza", "газ", "hamas", "хамас"),
    "armenia": ("armenia", "армени", "pashinyan", "пашинян"),
    "azerbaijan": ("azerbaijan", "азербайджан", "aliyev", "алиев"),
    "hungary": ("hungar", "венгри", "orban", "орбан", "budapest", "будапешт"),
    "kadyrov": ("kadyrov", "кадыров", "chechn", "чечн"),
    "qatar": ("qatar", "катар"),
    "nigeria_strike": ("islamic state", "isis", "игил"),
    "general": ("general", "генерал"),
    "car_bomb": ("car bomb", "взрыв автомобил", "заминированн"),
    "scholz": ("scholz", "шольц"),
    "finland": ("finland", "финлянд", "finnland"),
    "dossier": ("dossier center", "досье"),
}

# Actors that most reports of the war name: sharing them says little about the event.
GENERIC = frozenset({"russia", "ukraine", "usa", "trump", "putin", "zelensky", "eu", "nato", "oil", "sanctions",
                     "arms", "general", "court", "summit", "drones"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """The language-independent content of one item: entity ids and its numbers (4-digit years dropped)."""

    entities: frozenset[str]
    numbers: frozenset[str]


class Resolver:
    """Surface forms -> entity ids. Built once (the tables are static); `resolve` costs one pass over the words
    with a dict lookup per prefix length, so tens of microseconds for a headline and its lead."""

    def __init__(self, extra: Mapping[str, Iterable[str]] = {}) -> None:
        table: dict[str, set[str]] = {}
        for source in (ENTITIES, extra):
            for entity_id, forms in source.items():
                for form in forms:
                    stem = normalise(form.rstrip("*"))
                    if stem:
                        table.setdefault(stem, set()).add(entity_id)
        self._one = {s: frozenset(ids) for s, ids in table.items() if " " not in s}
        self._multi = {s: frozenset(ids) for s, ids in table.items() if " " in s}
        self._lengths = sorted({len(s) for s in self._one}, reverse=True)

    def resolve(self, title: str, summary: str = "") -> Evidence:
        text = normalise(f"{title} {' '.join(summary.split()[:40])}")
        words = text.split()
        found: set[str] = set()
        numbers = {w for w in words if w.isdigit() and not (len(w) == 4 and w[:2] in ("19", "20"))}
        for word in words:
            if word in self._one:
                found |= self._one[word]
                continue
            for n in self._lengths:
                if n < len(word) and n >= 3:
                    ids = self._one.get(word[:n])
                    if ids is not None:
                        found |= ids
                        break
        padded = f" {text} "
        for stem, ids in self._multi.items():
            if f" {stem}" in padded:
                found |= ids
        return Evidence(frozenset(found), frozenset(numbers))


def same_event(a: Evidence, b: Evidence, at_a: datetime, at_b: datetime) -> bool:
    """Two items in different languages report one event: seen within WINDOW, at least MIN_SHARED shared entity
    ids of which one is specific, and no numbers that tell them apart (each names a number the other lacks)."""
    if abs(at_a - at_b) > WINDOW:
        return False
    shared = a.entities & b.entities
    if len(shared) < MIN_SHARED or not shared - GENERIC:
        return False
    return not (a.numbers - b.numbers and b.numbers - a.numbers and not a.numbers & b.numbers)


Vector: TypeAlias = "npt.NDArray[np.float32]"
Gate = Literal["none", "shared", "not_ruled_out"]

# Cosine of two language-centred vectors (multilingual-e5-small, "query: " + title + 40-word lead) at or above
# which a pair is one event, per gate: the threshold of highest tuning-split recall at tuning precision >= 0.95
# (docs/stories.md has the table; the held-out split was not used to choose them).
SIMILARITY: dict[Gate, float] = {"none": 0.28, "shared": 0.27, "not_ruled_out": 0.28}
MIN_ITEMS = 100  # items of a language seen before its mean is trusted; fewer, and its items are not compared


def shares_entity(a: Evidence, b: Evidence, at_a: datetime, at_b: datetime) -> bool:
    """The entity matcher's candidates: seen within WINDOW and naming at least one actor or place in common."""
    return abs(at_a - at_b) <= WINDOW and bool(a.entities & b.entities)


def not_ruled_out(a: Evidence, b: Evidence, at_a: datetime, at_b: datetime) -> bool:
    """Seen within WINDOW, and the entity evidence does not speak against the pair: it does when both items name
    actors and none in common. An item the table knows nothing of (a language or a topic it lacks) stays open."""
    if abs(at_a - at_b) > WINDOW:
        return False
    return not (a.entities and b.entities) or bool(a.entities & b.entities)


def cosine(a: Vector, b: Vector) -> float:
    import numpy as np

    norm = float(np.linalg.norm(a)) * float(np.linalg.norm(b))
    return float(np.dot(a, b)) / norm if norm else 0.0


def by_embedding(a: Evidence, b: Evidence, at_a: datetime, at_b: datetime, vector_a: Vector | None,
                 vector_b: Vector | None, gate: Gate = "not_ruled_out", threshold: float | None = None) -> bool:
    """One event by embedding: the gate lets the pair through (within WINDOW for every gate) and the centred
    vectors (`LanguageMeans.centred`; None where a language's mean is not known yet) are at least `threshold`
    (SIMILARITY[gate]) alike."""
    if vector_a is None or vector_b is None or abs(at_a - at_b) > WINDOW:
        return False
    if gate == "shared" and not shares_entity(a, b, at_a, at_b):
        return False
    if gate == "not_ruled_out" and not not_ruled_out(a, b, at_a, at_b):
        return False
    return cosine(vector_a, vector_b) >= (SIMILARITY[gate] if threshold is None else threshold)


class LanguageMeans:
    """The running mean embedding of each language's items. Every language's vectors share a component that
    says "this is Russian" more loudly than anything says "this is the same event"; subtracting the mean of the
    language's items removes most of it (on the tuning pairs, recall at precision >= 0.95 rose from 0.32 to
    0.65; docs/stories.md)."""

    def __init__(self, min_items: int = MIN_ITEMS) -> None:
        self._sums: dict[str, npt.NDArray[np.float64]] = {}
        self._counts: dict[str, int] = {}
        self._min = min_items

    def add(self, language: str, vector: Vector) -> None:
        import numpy as np

        total = self._sums.get(language)
        self._sums[language] = vector.astype(np.float64) if total is None else total + vector
        self._counts[language] = self._counts.get(language, 0) + 1

    def count(self, language: str) -> int:
        return self._counts.get(language, 0)

    def centred(self, language: str, vector: Vector) -> Vector | None:
        """`vector` minus its language's mean, unit length; None before MIN_ITEMS items of the language."""
        import numpy as np

        if self._counts.get(language, 0) < self._min:
            return None
        centred = vector - self._sums[language] / self._counts[language]
        norm = float(np.linalg.norm(centred))
        return (centred / norm).astype(np.float32) if norm else None
