"""Metric hooks around the runtime's components, so the use cases in `service` stay free of metrics.

Each wrapper *adopts* an already built component (shares its state) instead of building a second one:
the scorer's compiled matcher and the fetcher's HTTP pool are built once, by `Runtime.build`, and
whatever the component gains later keeps working because only the measured method is overridden.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

from alerts.render import Rendered
from alerts.sender import Sender, Target, UrlResult
from monitor.domain import Severity
from monitor.feeds.fetch import Fetcher, FetchResult
from monitor.metrics import Metrics
from monitor.service import Runtime


class TimedFetcher(Fetcher):
    def __init__(self, inner: Fetcher, metrics: Metrics) -> None:  # adopts `inner`; see the module docstring
        self.__dict__.update(inner.__dict__)
        self._metrics = metrics

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        start, outcome = time.perf_counter(), "error"
        try:
            result = await super().fetch(url, etag=etag, last_modified=last_modified)
            outcome = "not_modified" if result.not_modified else "ok"
            return result
        finally:
            self._metrics.fetch_seconds.labels(outcome).observe(time.perf_counter() - start)


class CountingSender(Sender):
    def __init__(self, inner: Sender, metrics: Metrics) -> None:
        self.__dict__.update(inner.__dict__)
        self._metrics = metrics

    async def send_to(self, target: Target, rendered: Rendered, *, severity: Severity = Severity.WARNING,
                      headers: Mapping[str, str] | None = None) -> UrlResult:
        result = await super().send_to(target, rendered, severity=severity, headers=headers)
        self._metrics.deliveries.labels(target.channel, "delivered" if result.ok else "failed").inc()
        return result


def instrument(rt: Runtime, metrics: Metrics) -> Runtime:
    """The same runtime, measured. Idempotent, so a reload may pass a runtime that reuses old parts."""
    fetcher = rt.fetcher if isinstance(rt.fetcher, TimedFetcher) else TimedFetcher(rt.fetcher, metrics)
    sender = rt.sender if isinstance(rt.sender, CountingSender) else CountingSender(rt.sender, metrics)
    return dataclasses.replace(rt, fetcher=fetcher, sender=sender)
