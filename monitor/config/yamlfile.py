"""YAML documents that remember where each value was written, so errors can name the line."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

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


def read_yaml(path: Path, env: Mapping[str, str] | None = None, *, interpolate: bool = True,
              env_fields: tuple[Loc, ...] = ()) -> YamlDoc:
    """The file's data with the line of every key and item. `${VAR}` is replaced from `env` (the process
    environment by default) in the `env_fields` (a "*" part matches any key or index) and refused anywhere else;
    with `interpolate` off (a data file, not configuration) it stays as written."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"cannot read: {exc}")]) from exc
    loader = _BoundedLoader(text)
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
        doc.data = _Interpolation(doc, os.environ if env is None else env, env_fields).value(doc.data, ())
    return doc


# What aliases may add to a document, in values (scalars, lists, mappings). An alias repeats a block; nested
# aliases multiply it (ten aliases of ten aliases ... of a list: the "billion laughs"), and every walk after
# composing (the line index, ${VAR}, validation) expands the graph into a tree. 100,000 values is a merge key
# (`<<: *defaults`) on ten thousand feeds, and the whole directory still loads in a quarter of a second.
MAX_ALIAS_VALUES = 100_000
MAX_DEPTH = 100  # nesting; far beyond any config file, and well short of the composer's recursion limit


# libyaml's scanner and parser (the C half of CSafeLoader) under Python's composer, so the bounds below still see
# every node as it is composed: five times faster than the pure-Python SafeLoader (0.33 -> 0.06 s for the shipped
# lexicons and a 1,000-feed feeds.yaml), which was most of what a `monitor` command spent reading its config.
try:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]  # stubs: not re-exported

    class _SafeLoader(Composer, CParser, SafeConstructor, Resolver):
        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
except ImportError:  # a PyYAML built without libyaml: the same loader, all in Python
    _SafeLoader = yaml.SafeLoader  # type: ignore[misc,assignment]


class _BoundedLoader(_SafeLoader):
    """A safe loader that refuses, while composing (when the document is still a graph and nothing was
    expanded), aliases past MAX_ALIAS_VALUES, an alias of a block that contains it, and nesting past MAX_DEPTH."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._sizes: dict[int, int] = {}  # id(node) -> values in the node once expanded
        self._open: set[str] = set()  # anchors of the blocks being composed
        self._added = 0
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event: Any = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, parent, index)
        anchor: str | None = getattr(event, "anchor", None)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _refused(f"nested deeper than {MAX_DEPTH} levels", event)
        if anchor:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor:
                self._open.discard(anchor)

    def _alias(self, event: yaml.AliasEvent, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if event.anchor in self._open:
            raise _refused(f"the alias *{event.anchor} is inside the block it names (a loop)", event)
        node = super().compose_node(parent, index)
        self._added += self._size(node) if node is not None else 0
        if self._added > MAX_ALIAS_VALUES:
            raise _refused(f"too many YAML aliases: together they expand to more than {MAX_ALIAS_VALUES} values "
                           f"(an alias may repeat a block, not multiply one)", event)
        return node

    def _size(self, node: yaml.Node) -> int:
        """Values in `node` expanded; memoised, so a graph of aliases costs its written size, not its expansion."""
        if (known := self._sizes.get(id(node))) is not None:
            return known
        size = 1
        if isinstance(node, yaml.MappingNode):
            size += sum(self._size(key) + self._size(value) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            size += sum(self._size(child) for child in node.value)
        self._sizes[id(node)] = size
        return size


def _refused(problem: str, event: yaml.Event) -> ComposerError:
    """A YAML error at the event's line, reported like the parser's own."""
    return ComposerError(None, None, problem, event.start_mark)  # type: ignore[arg-type]  # C or pure Mark


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


_ENV_PLACES = ("channel URLs (channels.yaml: channels.NAME.urls), the database URL and the HTTP token (monitor.yaml: "
               "database, http.token)")


@dataclass
class _Interpolation:
    """`${VAR}` replaced where secrets belong and refused elsewhere: a name, a tag or a term is shown on the page,
    the API and the CLI, so a secret written there would be shown with it."""

    doc: YamlDoc
    env: Mapping[str, str]
    fields: tuple[Loc, ...]

    def value(self, value: Any, loc: Loc) -> Any:
        if isinstance(value, str) and "${" in value:
            return self._text(value, loc)
        if isinstance(value, dict):
            return {k: self.value(v, (*loc, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, (*loc, i)) for i, v in enumerate(value)]
        return value

    def _text(self, value: str, loc: Loc) -> str:
        names = _VAR.findall(value)
        if not names:
            return value  # "${" that names no variable is plain text
        if not any(_matches(pattern, loc) for pattern in self.fields):
            raise ConfigError([self.doc.problem(loc, f"environment variables (${{VAR}}) are allowed only in "
                                                     f"{_ENV_PLACES}, not here: write the value itself")])
        missing = [name for name in names if name not in self.env]
        if missing:
            raise ConfigError([self.doc.problem(loc, f"environment variable {missing[0]} is not set")])
        return _VAR.sub(lambda m: self.env[m.group(1)], value)


def _matches(pattern: Loc, loc: Loc) -> bool:
    return len(pattern) == len(loc) and all(p in ("*", part) for p, part in zip(pattern, loc, strict=True))
