"""A small error hierarchy that carries context; only the CLI maps these to exit codes."""

from __future__ import annotations

from dataclasses import dataclass


class MonitorError(Exception):
    """Base of every error the service raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ConfigError(MonitorError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FetchError(MonitorError):
    def __init__(self, kind: str, message: str, *, url: str = "", status: int | None = None,
                 retry_after: float | None = None) -> None:
        self.kind = kind  # timeout, connect, http, too_large, redirects, ...
        self.url = url
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{kind}: {message}")


class ParseError(MonitorError):
    pass

