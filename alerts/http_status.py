"""The HTTP status and Retry-After of the responses apprise receives during one send.

apprise reports a failed notification as False plus a log line; it does not expose the response,
so a 429's Retry-After would be lost. apprise's HTTP plugins all go through `requests`, whose
`HTTPAdapter.build_response` is the documented seam for inspecting responses (it exists to be
overridden by adapter subclasses). We wrap it once, and the wrapper only records into a collector
that the sender opens for its own call (a context variable, which apprise copies into its worker
threads); outside such a call it does nothing and the response is untouched.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from requests.adapters import HTTPAdapter


@dataclass(frozen=True)
class Seen:
    status: int
    retry_after: str | None


_collector: contextvars.ContextVar[list[Seen] | None] = contextvars.ContextVar("alerts_http_seen", default=None)
_installed = threading.Lock()
_MARK = "_alerts_records_status"


def install() -> None:
    """Wrap HTTPAdapter.build_response once per process (idempotent); at the first send, so a process that sends
    nothing does not import requests."""
    from requests.adapters import HTTPAdapter

    with _installed:
        original = HTTPAdapter.build_response
        if getattr(original, _MARK, False):
            return

        def build_response(self: HTTPAdapter, req: Any, resp: Any) -> Any:
            response = original(self, req, resp)
            seen = _collector.get()
            if seen is not None:
                seen.append(Seen(int(response.status_code), response.headers.get("Retry-After")))
            return response

        setattr(build_response, _MARK, True)
        HTTPAdapter.build_response = build_response  # type: ignore[method-assign]


@contextmanager
def collect() -> Iterator[list[Seen]]:
    """Responses received inside this block (this thread and the threads apprise starts from it)."""
    seen: list[Seen] = []
    token = _collector.set(seen)
    try:
        yield seen
    finally:
        _collector.reset(token)
