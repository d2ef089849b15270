"""What the daemon shows over HTTP: its state, the probes (/healthz, /readyz, /metrics) and JSON replies.
The console (`runtime.console`) serves them with its pages; `runtime.webserver` runs it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from monitor.runtime.metrics import Metrics
from monitor.usecases.context import Runtime

LOOP_STALL = 15.0  # seconds without an event-loop heartbeat before /healthz fails


@dataclass
class DaemonState:
    """What the daemon shows the web server. Written on the event loop, read from the server's threads."""

    runtime: Callable[[], Runtime]
    scheduler_running: Callable[[], bool]
    last_cycle_at: Callable[[], float | None]  # time.monotonic() of the last poll tick
    metrics: Metrics
    stopping: bool = False
    loop_beat_at: float = field(default_factory=time.monotonic)

    def cycle_budget(self) -> float:
        """How old the last poll tick may be before the daemon is not ready: a few ticks, at least 30 s."""
        return max(3 * self.runtime().config.settings.polling.tick, 30.0)


def healthz(state: DaemonState) -> tuple[int, dict[str, Any]]:
    age = time.monotonic() - state.loop_beat_at
    if age > LOOP_STALL:
        return 503, {"status": "stalled", "loop_beat_age": round(age, 1)}
    return 200, {"status": "ok", "stopping": state.stopping}


def readyz(state: DaemonState) -> tuple[int, dict[str, Any]]:
    checks: dict[str, Any] = {}
    try:
        with state.runtime().engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    checks["scheduler"] = "running" if state.scheduler_running() else "stopped"
    last = state.last_cycle_at()
    age = None if last is None else round(time.monotonic() - last, 1)
    checks["last_cycle_age"] = age
    checks["stopping"] = state.stopping
    cpu = state.runtime().cpu
    stuck = cpu.stuck_for() if cpu is not None else 0.0
    checks["workers"] = f"stuck for {stuck:.0f} s" if stuck else "ok"  # until the job ends or is killed
    ready = (checks["database"] == "ok" and checks["scheduler"] == "running" and not state.stopping
             and age is not None and age <= state.cycle_budget() and not stuck)
    return 200 if ready else 503, {"status": "ready" if ready else "not ready", "checks": checks}


def json_response(data: Any, status: int = 200) -> Response:
    """JSON with times as ISO text and every script kept as it is."""
    body = json.dumps(data, ensure_ascii=False, default=_plain)
    return Response(body, status_code=status, media_type="application/json; charset=utf-8")


def _plain(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def probe_routes(state: DaemonState) -> dict[str, Callable[[Request], Response]]:
    def health(_request: Request) -> Response:
        status, body = healthz(state)
        return json_response(body, status)

    def ready(_request: Request) -> Response:
        status, body = readyz(state)
        return json_response(body, status)

    def metrics(_request: Request) -> Response:
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return {"/healthz": health, "/readyz": ready, "/metrics": metrics}
