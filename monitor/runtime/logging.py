"""structlog configured once: JSON lines off a terminal, console on one, secrets redacted everywhere."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from alerts.redact import redact

SECRET_KEYS = ("password", "secret", "token", "webhook", "dsn", "apikey", "api_key", "authorization")
# These log full webhook URLs (tokens included) at DEBUG; keep them quieter than that.
_NOISY = ("apprise", "urllib3", "httpx", "httpcore", "apscheduler", "asyncio", "watchfiles", "alembic")


class RedactSecrets:
    """Mask values under secret-looking keys, and credentials inside any string, however deeply nested.

    Runs on the event dict, before rendering, so a key like `password` is masked whatever its value is, and
    a masked value is still a string that the JSON renderer escapes: the line cannot be broken by the masking.
    """

    def __init__(self, secret_keys: tuple[str, ...] = SECRET_KEYS) -> None:
        self.secret_keys = secret_keys

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in list(event.items()):
            event[key] = self.clean(key, value)
        return event

    def clean(self, key: str, value: Any) -> Any:
        if any(word in key.lower() for word in self.secret_keys):
            return "***"
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, dict):
            return {k: self.clean(str(k), v) for k, v in value.items()}
        if type(value) in (list, tuple):  # exactly these: a namedtuple cannot be rebuilt from one iterable
            return type(value)(self.clean("", v) for v in value)
        return value


redact_processor = RedactSecrets()


def redact_exception(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """After ExceptionRenderer: the traceback is a structured field only from there on, and its messages
    (an exception's text often repeats the URL it failed on) are masked like any other value."""
    if "exception" in event:
        event["exception"] = redact_processor.clean("exception", event["exception"])
    return event


def _json_default(value: Any) -> Any:
    """What json cannot write (an exception, a URL object) is written as its repr, masked as a string before
    json escapes it: masking the rendered line instead could eat the closing quote and break the JSON."""
    try:
        shown = value.__structlog__()
    except AttributeError:
        shown = repr(value)
    return redact_processor.clean("", shown)


def redact_rendered(_logger: Any, _name: str, line: Any) -> Any:
    """Console output only, on the rendered line: the console's tracebacks and reprs exist only as text. Never
    on JSON lines: a pattern running over the rendered line can swallow its quotes and commas."""
    return redact(line) if isinstance(line, str) else line


def _console_exceptions() -> Any:
    """Tracebacks without frame locals: a local may hold a channel URL with its token."""
    try:
        import rich  # noqa: F401
    except ImportError:
        return structlog.dev.plain_traceback
    return structlog.dev.RichTracebackFormatter(show_locals=False)


def configure(level: str = "info", fmt: str = "auto") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stdout.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        redact_processor,
    ]
    exc = structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False))
    # JSON: the traceback becomes a field and is masked as one; the line is never rewritten. Console: the
    # traceback is text only once rendered, so the finished text is masked.
    finish: list[Any] = (
        [exc, redact_exception, structlog.processors.JSONRenderer(ensure_ascii=False, default=_json_default)]
        if use_json else
        [structlog.dev.ConsoleRenderer(colors=sys.stdout.isatty(), exception_formatter=_console_exceptions()),
         redact_rendered]
    )
    structlog.configure(
        # A call below the logger's level stops here, before the chain runs (stdlib would drop it only at the
        # handler, after timestamping and redaction: 43 us a call against 3, and more on a busy event loop).
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finish],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    set_level(level)


def set_level(level: str) -> None:
    """Change the level at run time (a config reload); the stdlib loggers do the filtering."""
    root = logging.getLogger()
    root.setLevel(level.upper())
    for noisy in _NOISY:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
