"""Metrics hooked onto the runtime's adapters: the fetcher and the sender call back after each fetch and send, so
the use cases stay free of metrics and the adapters free of Prometheus."""

from __future__ import annotations

from monitor.runtime.metrics import Metrics
from monitor.usecases.context import Runtime


def instrument(rt: Runtime, metrics: Metrics) -> Runtime:
    """The same runtime, measured. Idempotent, so a reload may pass a runtime that reuses old parts."""
    rt.fetcher.on_fetch = metrics.observe_fetch
    rt.sender.on_send = metrics.observe_send
    return rt
