"""One YAML document validated against one model, every pydantic error turned into file:line: field: problem."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.config.yamlfile import YamlDoc
from monitor.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], doc: YamlDoc) -> M:
    data = {} if doc.data is None else doc.data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [doc.problem(tuple(err["loc"]), message(err)) for err in exc.errors()]
        raise ConfigError(problems) from None


def message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (check the spelling)"
    if err["type"] == "missing":
        return "required field is missing"
    return str(err["msg"]).removeprefix("Value error, ")


