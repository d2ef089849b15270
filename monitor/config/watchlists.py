"""watchlists/*.yaml and lexicons/*.yaml: what to look for, how much it weighs, who hears of it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from monitor.config.settings import Duration, Strict
from monitor.config.validate import validate
from monitor.config.yamlfile import YamlDoc, read_yaml
from monitor.domain import Actor, Keyword, NotifyRule, Severity, StoryOptions, TrendOptions, Watchlist
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
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from exc
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


class WatchlistModel(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    lexicons: tuple[str, ...] = ()
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


def build_watchlist(model: WatchlistModel, doc: YamlDoc, lexicons: Mapping[str, LexiconModel]) -> Watchlist:
    keywords: dict[tuple[str, bool], Keyword] = {}
    for i, name in enumerate(model.lexicons):
        if name not in lexicons:
            known = ", ".join(sorted(lexicons)) or "none"
            raise ConfigError([doc.problem(("lexicons", i), f"unknown lexicon {name!r} (known: {known})")])
        for kw in lexicons[name].keywords:
            domain = kw.to_domain()
            if domain.language is None and lexicons[name].language:
                domain = Keyword(domain.term, domain.weight, lexicons[name].language, domain.regex)
            keywords[(domain.term.casefold(), domain.regex)] = domain
    for kw in model.keywords:  # the watchlist's own keywords win over a lexicon's
        domain = kw.to_domain()
        keywords[(domain.term.casefold(), domain.regex)] = domain
    thresholds = [(Severity.parse(label), value) for label, value in model.severities.model_dump().items()
                  if value is not None]
    return Watchlist(
        name=model.name,
        description=model.description,
        actors=tuple(Actor(a.id, a.name, a.aliases, a.weight, a.fuzzy, a.fuzzy_threshold) for a in model.actors),
        keywords=tuple(keywords.values()),
        severities=tuple(thresholds),
        notify=tuple(NotifyRule(n.channels, Severity.parse(n.min_severity), n.tags) for n in model.notify),
        tags=model.tags,
        languages=tuple(lang.lower() for lang in model.languages),
        require_actor=model.require_actor,
        proximity_window=model.proximity_window,
        stories=model.stories.to_domain(),
        trends=model.trends.to_domain(),
    )


def load_watchlist_file(path: Path, lexicon_dir: Path) -> Watchlist:
    """One watchlist file with its lexicons resolved (used by tests and `monitor score`)."""
    doc = read_yaml(path)
    return build_watchlist(validate(WatchlistModel, doc), doc, load_lexicons(lexicon_dir))


