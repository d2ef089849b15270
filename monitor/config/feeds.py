"""feeds.yaml: the feeds to poll."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import field_validator, model_validator

from monitor.config.settings import Duration, Strict


class FeedConfig(Strict):
    url: str
    name: str = ""
    interval: Duration | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    enabled: bool = True
    # whose articles are read and scored (issue 18): auto, the candidates'; always, every new item's; never
    fulltext: Literal["auto", "always", "never"] = "auto"

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value

    @model_validator(mode="after")
    def _default_name(self) -> FeedConfig:
        if not self.name:
            object.__setattr__(self, "name", self.url)
        return self


class FeedsFile(Strict):
    feeds: tuple[FeedConfig, ...] = ()


