"""Stories across languages (issue 18): do two items in different languages report the same event?

Word overlap cannot say it (a Russian and an English headline share no word), so the evidence is what does not
change with the language: named actors and places resolved to ids ("Роснефть", "Rosneft" -> `rosneft`;
"Покровска", "Pokrovsk" -> `pokrovsk`), and the time. Two items match when they were seen within WINDOW of
each other and share at least MIN_SHARED entity ids of which at least one is specific (not one of the actors
every war report names: Russia, Ukraine, the US, their presidents). Pure; no I/O.

Names are matched as stems at the start of a normalised word (monitor.core.neardup.normalise), so inflected
Cyrillic forms ("Роснефти", "Лукойла", "Польше") and German compounds' heads are found. The caller may add
aliases (watchlist actors: id -> surface forms in any script) and places (monitor.config.gazetteer).

Measured on tests/data/crosslang_pairs.yaml; see docs/stories.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.core.neardup import normalise

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
