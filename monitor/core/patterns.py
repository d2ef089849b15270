"""Watchlist patterns (`pattern:` keywords) compiled for RE2, which matches in time linear in the text.

A backtracking engine (Python's `re`) can spend minutes on one item with a pattern such as `(a+)+$`, and a
watchlist is edited by users: one bad edit would stall every parse worker. RE2 has no backtracking, so it
cannot, but it reads a few things differently from Python, and a pattern must mean what its author tested:

- `\\w`, `\\d` and their negations are ASCII-only in RE2; they become Unicode classes here (folded text holds
  Cyrillic, Greek and Hebrew words).
- `\\b` is ASCII-only too, and RE2 has no lookaround to rebuild it. A `\\b` at the start or end of a top-level
  alternative becomes "start of text or a non-word character" (or the end equivalent), consumed and then
  trimmed from the match, so the hit covers the same characters as in Python. Elsewhere it is refused.
- Lookarounds and backreferences do not exist in RE2: refused, with RE2's reason.

`compile_pattern` raises `PatternError` with a message for the config check, which names the file and line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# Python's own parser of regular expressions (private, stable since 3.11): what a pattern must contain is read off
# its parse tree rather than off a second, hand-written parser.
from re import _constants as _c  # type: ignore[attr-defined]
from re import _parser as _sre_parser  # type: ignore[attr-defined]
from typing import Any

import ahocorasick
import re2

WORD = r"\pL\pN\pM_"  # Python's \w on str: letters, digits, marks and the underscore
_ESCAPES = {"w": f"[{WORD}]", "W": f"[^{WORD}]", "d": r"\p{Nd}", "D": r"\P{Nd}"}
_IN_CLASS = {"w": WORD, "d": r"\p{Nd}"}
_START, _END = f"(?:^|[^{WORD}])", f"(?:[^{WORD}]|$)"
MAX_MEMORY = 8 << 20  # RE2's own default; a pattern whose automaton needs more is refused when compiled


class PatternError(ValueError):
    """The pattern cannot run in linear time as written; the message says why."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled pattern; `spans(text)` gives the [start, end) of each match, in characters."""

    source: str
    _regex: Any  # re2._Regexp: the package ships no type information
    _groups: tuple[int, ...]  # one group per top-level alternative, around what the author wrote
    union_part: str  # the RE2 pattern with its case flag, to join with others in a Gate

    def spans(self, text: str) -> Iterator[tuple[int, int]]:
        for m in self._regex.finditer(text):
            start, end = next((m.span(g) for g in self._groups if m.span(g)[0] >= 0), m.span())
            if end > start:
                yield start, end


def compile_pattern(source: str) -> Pattern:
    """RE2 for `source`, with Python's Unicode meaning of `\\w`, `\\d` and edge `\\b` (see the module docstring).
    A pattern with a capital letter matches case-insensitively: the text it runs over is lowercase."""
    try:  # a plain syntax error in Python's words, which name it better than RE2's of the rewritten pattern
        re.compile(source)
    except re.error as exc:
        raise PatternError(f"invalid regular expression: {exc}") from None
    except RecursionError:  # Python's parser recurses per nested group: a config edit must not crash the check
        raise PatternError("groups nested too deeply") from None
    branches = [_branch(part, i) for i, part in enumerate(_split_alternatives(source))]
    options = re2.Options()
    options.log_errors = False  # the error is raised to the config check; RE2 would also print it to stderr
    options.max_mem = MAX_MEMORY
    options.case_sensitive = not any(c.isupper() for c in _literal_letters(source))
    try:
        regex = re2.compile("|".join(branches), options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(f"not supported by the linear-time matcher (RE2): {reason}") from None
    union_part = ("" if options.case_sensitive else "(?i)") + "|".join(branches)  # RE2 takes repeated group names
    return Pattern(source, regex, tuple(regex.groupindex[f"b{i}"] for i in range(len(branches))), f"(?:{union_part})")


class Gate:
    """Which patterns may match a text, found cheaply: most items match none, and one search per pattern per item
    would cost more than the rest of matching (RE2 reads the whole text each time).

    Most patterns cannot match without one of a few literal strings (`required_literals`: "launch" for
    `\\blaunch(?:es|ed)? ...`, "warplane" or "fighter jet" for `(?:warplanes?|fighter jets?) ... over`). One
    Aho-Corasick pass over the text finds which of those occur, and only their patterns are searched. The patterns
    without such a literal share one RE2 search, joined, as a whole: only a match sends the text to them.

    The text is the folded text the matcher gives (lowercase): literals are looked up in its lowercase form."""

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self._literals = ahocorasick.Automaton()
        by_literal: dict[str, set[int]] = {}
        rest: list[int] = []
        for index, pattern in enumerate(patterns):
            literals = required_literals(pattern.source)
            if literals is None:
                rest.append(index)
            for literal in literals or ():
                by_literal.setdefault(literal, set()).add(index)
        for literal, indexes in by_literal.items():
            self._literals.add_word(literal, tuple(sorted(indexes)))
        if by_literal:
            self._literals.make_automaton()
        self._rest = tuple(rest)
        options = re2.Options()
        options.log_errors = False
        options.max_mem = MAX_MEMORY * max(1, len(rest))  # each part was held to MAX_MEMORY on its own
        self._regex: Any = None
        if rest:
            try:
                self._regex = re2.compile("|".join(patterns[i].union_part for i in rest), options)
            except re2.error:
                self._regex = None  # too big together: each of them runs on its own, as before

    def candidates(self, text: str) -> list[int]:
        """The indexes of the patterns that may match `text`, in order; never one left out that matches."""
        found: set[int] = set()
        if self._literals.kind == ahocorasick.AHOCORASICK:
            for _, indexes in self._literals.iter(text.lower()):
                found.update(indexes)
        if self._rest and (self._regex is None or self._regex.search(text) is not None):
            found.update(self._rest)
        return sorted(found)

    def may_match(self, text: str) -> bool:
        return bool(self.candidates(text))


MIN_LITERAL = 3  # a shorter required literal ("a", "на") is in most texts: searching the pattern is as cheap


def required_literals(source: str) -> frozenset[str] | None:
    """Literal strings (lowercase) of which any text `source` matches holds at least one, or None when the
    pattern needs none of MIN_LITERAL characters or more (`\\w+ удар` needs "удар"; `(?:a|b)+` needs nothing
    worth looking for). Read from Python's own parse of the pattern: of everything a match must contain (a run of
    literal characters, an alternation whose every branch needs a literal, a repetition of at least once), the
    set whose shortest literal is longest, as the rarest to find."""
    try:
        parsed = _sre_parser.parse(source)
        found = _required(list(parsed))
    except (re.error, RecursionError):  # compile_pattern refuses both; the gate then simply searches the pattern
        return None
    if found is None or min(map(len, found)) < MIN_LITERAL:
        return None
    return frozenset(literal.lower() for literal in found)


def _required(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    """The best literal set one sequence of parsed items must contain (see required_literals)."""
    options: list[frozenset[str]] = []
    run: list[str] = []
    for op, arg in items:
        if op is _c.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            options.append(frozenset(("".join(run),)))
            run = []
        child: frozenset[str] | None = None
        if op is _c.SUBPATTERN:
            child = _required(list(arg[3]))
        elif op is _c.BRANCH:
            branches = [_required(list(branch)) for branch in arg[1]]
            if all(b is not None for b in branches):
                child = frozenset().union(*(b for b in branches if b is not None))
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and arg[0] >= 1:
            child = _required(list(arg[2]))
        if child:
            options.append(child)
    if run:
        options.append(frozenset(("".join(run),)))
    return max(options, key=lambda o: (min(map(len, o)), -len(o)), default=None)


def _branch(part: str, index: int) -> str:
    lead = part.startswith(r"\b")
    trail = part.endswith(r"\b") and not part.endswith(r"\\b") and len(part) > (2 if lead else 0)
    core = part[2 if lead else 0:len(part) - (2 if trail else 0)]
    body = _translate(core)
    return f"{_START if lead else ''}(?P<b{index}>{body}){_END if trail else ''}"


def _tokens(source: str) -> Iterator[tuple[str, bool]]:
    """(token, inside a character class): escapes as two characters, everything else one by one."""
    i, in_class = 0, False
    while i < len(source):
        char = source[i]
        if char == "\\" and i + 1 < len(source):
            yield source[i:i + 2], in_class
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
            yield char, False
            # a ] right after [ or [^ is a literal, not the end of the class
            for lead in ("^", "]"):
                if source.startswith(lead, i + 1):
                    i += 1
                    yield lead, True
        elif char == "]" and in_class:
            in_class = False
            yield char, True
        else:
            yield char, in_class
        i += 1


def _split_alternatives(source: str) -> list[str]:
    parts, current, depth = [], "", 0
    for piece, in_class in _tokens(source):
        if not in_class:
            depth += {"(": 1, ")": -1}.get(piece, 0)
            if piece == "|" and depth == 0:
                parts.append(current)
                current = ""
                continue
        current += piece
    return [*parts, current]


def _translate(core: str) -> str:
    out: list[str] = []
    for token, in_class in _tokens(core):
        letter = token[1:] if token.startswith("\\") else ""
        if in_class and letter in _IN_CLASS:
            out.append(_IN_CLASS[letter])
        elif in_class and letter in ("W", "D"):
            raise PatternError(f"\\{letter} inside [...] is not supported: write the class out, e.g. [^...]")
        elif not in_class and letter in _ESCAPES:
            out.append(_ESCAPES[letter])
        elif not in_class and letter in ("b", "B"):
            raise PatternError(f"\\{letter} is supported only at the start or end of a pattern (or of one of its "
                               "top-level alternatives): folded text separates words with spaces, so write ' '")
        else:
            out.append(token)
    return "".join(out)


def _literal_letters(source: str) -> Iterator[str]:
    """Letters the pattern matches literally: not the letter of an escape such as \\W or \\S."""
    for token, _in_class in _tokens(source):
        if not token.startswith("\\"):
            yield token
