"""YAML documents that remember where each value was written, so errors can name the line."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError, ConfigProblem

Loc = tuple[str | int, ...]
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class YamlDoc:
    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line(self, loc: Loc) -> int | None:
        """Line of the deepest written prefix of `loc` (pydantic locs may point past what exists)."""
        for end in range(len(loc), -1, -1):
            if (found := self.lines.get(tuple(loc[:end]))) is not None:
                return found
        return None

    def problem(self, loc: Loc, message: str) -> ConfigProblem:
        return ConfigProblem(str(self.path), self.line(loc), format_loc(loc), message)


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def read_yaml(path: Path, env: Mapping[str, str] | None = None, *, interpolate: bool = True) -> YamlDoc:
    """The file's data with the line of every key and item; `${VAR}` replaced from `env` (the process
    environment by default) unless `interpolate` is off (a data file, not configuration)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {exc}")]) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(str(path), line, "", f"invalid YAML: {reason}")]) from exc
    finally:
        loader.dispose()
    doc = YamlDoc(path, data)
    if node is not None:
        _index(node, (), doc.lines)
    if interpolate:
        doc.data = _interpolate(doc, doc.data, (), os.environ if env is None else env)
    return doc


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int]) -> None:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, str(key.value))
            _index(value, child, lines)
            lines[child] = key.start_mark.line + 1  # point at the key, where the user looks
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _index(value, (*loc, i), lines)


def _interpolate(doc: YamlDoc, value: Any, loc: Loc, env: Mapping[str, str]) -> Any:
    if isinstance(value, str) and "${" in value:
        missing = [name for name in _VAR.findall(value) if name not in env]
        if missing:
            raise ConfigError([doc.problem(loc, f"environment variable {missing[0]} is not set")])
        return _VAR.sub(lambda m: env[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _interpolate(doc, v, (*loc, str(k)), env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(doc, v, (*loc, i), env) for i, v in enumerate(value)]
    return value
