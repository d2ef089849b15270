"""watchlists/*.yaml and lexicons/*.yaml: what to look for, how much it weighs, who hears of it."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from monitor.config import gazetteer
from monitor.config.settings import Duration, Strict
from monitor.config.validate import validate
from monitor.config.yamlfile import YamlDoc, read_yaml
from monitor.core.normalize import fold
from monitor.core.patterns import PatternError, compile_pattern
from monitor.domain import Actor, Examples, Keyword, NotifyRule, Severity, StoryOptions, TrendOptions, Watchlist
from monitor.errors import ConfigError


class KeywordModel(Strict):
    term: str | None = None
    pattern: str | None = None
    weight: float = 1.0
    language: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> KeywordModel:
        if (self.term is None) == (self.pattern is None):
            raise ValueError("give exactly one of `term` or `pattern`")
        if self.pattern is not None:
            try:
                compile_pattern(self.pattern)
            except PatternError as exc:
                raise ValueError(f"pattern {self.pattern!r}: {exc}") from exc
        if self.term is not None and not self.term.strip():
            raise ValueError("empty term")
        return self

    def to_domain(self) -> Keyword:
        if self.pattern is not None:
            return Keyword(self.pattern, self.weight, self.language, regex=True)
        return Keyword(str(self.term), self.weight, self.language)


class ActorModel(Strict):
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    weight: float = 1.0
    fuzzy: bool = False
    fuzzy_threshold: float = Field(default=85.0, ge=50, le=100)
    places: tuple[str, ...] = ()  # ISO country codes: their cities count as mentions of this actor

    @field_validator("places")
    @classmethod
    def _known_countries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [code for code in value if code.upper() not in gazetteer.country_codes()]
        if unknown:
            raise ValueError(f"unknown country code(s) {', '.join(unknown)} (ISO 3166 alpha-2, such as UA)")
        return tuple(code.upper() for code in value)


class NotifyModel(Strict):
    channels: tuple[str, ...] = Field(min_length=1)
    min_severity: Literal["watch", "warning", "critical"] = "warning"
    tags: tuple[str, ...] = ()


class SeveritiesModel(Strict):
    watch: float | None = None
    warning: float | None = None
    critical: float | None = None

    @model_validator(mode="after")
    def _ascending(self) -> SeveritiesModel:
        given = [v for v in (self.watch, self.warning, self.critical) if v is not None]
        if not given:
            raise ValueError("give at least one threshold (watch, warning, critical)")
        if given != sorted(given) or len(set(given)) != len(given):
            raise ValueError("thresholds must rise: watch < warning < critical")
        return self


class CorroborationModel(Strict):
    weight: float = Field(default=1.5, ge=0)
    cap: float = Field(default=6.0, ge=0)
    steps: tuple[int, ...] = (5, 20)

    @field_validator("steps")
    @classmethod
    def _ascending_steps(cls, steps: tuple[int, ...]) -> tuple[int, ...]:
        if any(s < 2 for s in steps) or list(steps) != sorted(set(steps)):
            raise ValueError("steps must be ascending source counts of 2 or more")
        return steps


class StoriesModel(Strict):
    deescalation: bool = False
    window: Duration = Field(default=24 * 3600.0, gt=0)
    corroboration: CorroborationModel = CorroborationModel()

    def to_domain(self) -> StoryOptions:
        c = self.corroboration
        return StoryOptions(self.deescalation, self.window, c.weight, c.cap, c.steps)


class TrendsModel(Strict):
    enabled: bool = True
    window: Duration = Field(default=3600.0, gt=0, le=86400.0)
    min_count: int = Field(default=5, ge=1)
    ratio: float = Field(default=3.0, gt=1)
    z: float = Field(default=3.0, gt=0)
    cooldown: Duration = Field(default=6 * 3600.0, ge=0)

    def to_domain(self) -> TrendOptions:
        return TrendOptions(self.enabled, self.window, self.min_count, self.ratio, self.z, self.cooldown)


MAX_EXAMPLES = 1_000  # of each kind: every item's headline is compared with each (about 0.35 ms per item at 1,000)


class ExamplesModel(Strict):
    alert: tuple[str, ...] = Field(default=(), max_length=MAX_EXAMPLES)
    ignore: tuple[str, ...] = Field(default=(), max_length=MAX_EXAMPLES)
    weight: float = Field(default=4.0, gt=0)

    def to_domain(self) -> Examples:
        return Examples(tuple(t for t in self.alert if t.strip()), tuple(t for t in self.ignore if t.strip()),
                        self.weight)


class WatchlistModel(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    lexicons: tuple[str, ...] = ()
    knowledge: bool = True  # the shared lexicons shipped with the service (monitor/knowledge): acts, senses
    actors: tuple[ActorModel, ...] = ()
    keywords: tuple[KeywordModel, ...] = ()
    severities: SeveritiesModel
    notify: tuple[NotifyModel, ...] = ()
    tags: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    require_actor: bool = False
    proximity_window: int = Field(default=12, ge=1, le=100)
    stories: StoriesModel = StoriesModel()
    trends: TrendsModel = TrendsModel()
    examples: ExamplesModel = ExamplesModel()


class LexiconModel(Strict):
    name: str
    language: str | None = None
    keywords: tuple[KeywordModel, ...] = Field(min_length=1)


# --- the whole directory ---


def load_lexicons(directory: Path) -> dict[str, LexiconModel]:
    lexicons: dict[str, LexiconModel] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        lexicon = validate(LexiconModel, read_yaml(path))
        lexicons[lexicon.name] = lexicon
    return lexicons


def load_knowledge() -> tuple[LexiconModel, ...]:
    """The shared lexicons shipped in the package (monitor/knowledge/*.yaml), read once per process: graded acts
    from force to cooperation and the benign senses of conflict words, in every language the service reads."""
    return _knowledge()


@functools.cache
def _knowledge() -> tuple[LexiconModel, ...]:
    folder = resources.files("monitor.knowledge")
    paths = sorted((entry for entry in folder.iterdir() if entry.name.endswith(".yaml")), key=lambda e: e.name)
    return tuple(validate(LexiconModel, read_yaml(Path(str(path)))) for path in paths)


@functools.cache
def _common_words() -> frozenset[str]:
    """Words of the knowledge lexicons: a city called like one of them is not taken for a place."""
    return frozenset(fold(kw.term).text.strip(" *") for lexicon in _knowledge() for kw in lexicon.keywords
                     if kw.term)


def _key(kw: Keyword) -> tuple[str, bool, str | None]:
    return kw.term.casefold(), kw.regex, kw.language


def _lexicon_keywords(lexicon: LexiconModel) -> Iterator[Keyword]:
    for kw in lexicon.keywords:
        domain = kw.to_domain()
        if domain.language is None and lexicon.language:
            domain = Keyword(domain.term, domain.weight, lexicon.language, domain.regex)
        yield domain


def build_watchlist(model: WatchlistModel, doc: YamlDoc, lexicons: Mapping[str, LexiconModel]) -> Watchlist:
    # One keyword per term, regex flag and language ("invasion" is English, German and French): shared knowledge
    # first, then the watchlist's lexicons, then its own keywords, each winning over the one before.
    keywords: dict[tuple[str, bool, str | None], Keyword] = {}
    for lexicon in load_knowledge() if model.knowledge else ():
        keywords.update((_key(kw), replace(kw, shared=True)) for kw in _lexicon_keywords(lexicon))
    for i, name in enumerate(model.lexicons):
        if name not in lexicons:
            known = ", ".join(sorted(lexicons)) or "none"
            raise ConfigError([doc.problem(("lexicons", i), f"unknown lexicon {name!r} (known: {known})")])
        keywords.update((_key(kw), kw) for kw in _lexicon_keywords(lexicons[name]))
    for kw in model.keywords:  # the watchlist's own keywords win over a lexicon's
        domain = kw.to_domain()
        keywords[_key(domain)] = domain
    thresholds = [(Severity.parse(label), value) for label, value in model.severities.model_dump().items()
                  if value is not None]
    return Watchlist(
        name=model.name,
        description=model.description,
        actors=tuple(Actor(a.id, a.name, a.aliases, a.weight, a.fuzzy, a.fuzzy_threshold,
                           gazetteer.place_terms(a.places, exclude=_common_words()) if a.places else ())
                     for a in model.actors),
        keywords=tuple(keywords.values()),
        severities=tuple(thresholds),
        notify=tuple(NotifyRule(n.channels, Severity.parse(n.min_severity), n.tags) for n in model.notify),
        tags=model.tags,
        languages=tuple(lang.lower() for lang in model.languages),
        require_actor=model.require_actor,
        proximity_window=model.proximity_window,
        stories=model.stories.to_domain(),
        trends=model.trends.to_domain(),
        examples=model.examples.to_domain(),
    )


def load_watchlist_file(path: Path, lexicon_dir: Path) -> Watchlist:
    """One watchlist file with its lexicons resolved (used by tests and `monitor score`)."""
    doc = read_yaml(path)
    return build_watchlist(validate(WatchlistModel, doc), doc, load_lexicons(lexicon_dir))


