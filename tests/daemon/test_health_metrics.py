"""After a known run, /metrics, /healthz, /readyz and the JSON API say exactly what happened."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.configdir import write_config
from tests.support.daemonproc import ROOT, Daemon, GrowingFeed, daemon_settings, http_get, wait_until
from tests.support.servers import HttpServer, Response, free_port

pytestmark = pytest.mark.slow
StartDaemon = Callable[..., Daemon]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _health(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "monitor", "health", *args], capture_output=True, text=True,
                          timeout=30, cwd=ROOT)


def test_metrics_health_and_api_after_a_known_run(tmp_path: Path, feed_server: HttpServer,
                                                  start_daemon: StartDaemon) -> None:
    feed = GrowingFeed()
    feed.add("Alpha brigades cross the river")  # "alpha" (weight 3) in title and body: warning, alerts
    feed.add("Minor incident reported")  # "minor" (weight 1): watch, no alert (notify needs warning)
    feed.add("Weather is fine")  # nothing
    feed_server.routes["/a.xml"] = feed
    feed_server.routes["/missing.xml"] = Response(404, b"gone fishing")
    port = free_port()
    wl = {"name": "test-list", "keywords": [{"term": "alpha", "weight": 3}, {"term": "minor", "weight": 1}],
          "severities": {"watch": 2, "warning": 4}, "notify": [{"channels": ["console"], "min_severity": "warning"}]}
    config = write_config(tmp_path / "config",
                          feeds=[{"url": feed_server.url("/a.xml"), "name": "A"},
                                 {"url": feed_server.url("/missing.xml"), "name": "Missing"}],
                          watchlists={"test": wl}, settings=_told_at_first_failure(daemon_settings(port=port)))
    daemon = start_daemon(config)
    daemon.wait_for("alert_delivered")
    daemon.wait_for("feed_fetch_failed", where=lambda e: e.get("feed") == "Missing")
    base = f"http://127.0.0.1:{port}"

    status, body, headers = http_get(f"{base}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    m = _samples(body)
    assert m[("monitor_items_stored_total", ())] == 3
    assert m[("monitor_documents_parsed_total", (("parser", "fast"),))] >= 1  # a plain RSS 2.0 document
    assert m[("monitor_documents_parsed_total", (("parser", "feedparser"),))] == 0
    for severity, count in (("warning", 1), ("watch", 1), ("none", 1), ("critical", 0)):
        assert m[("monitor_items_scored_total", (("severity", severity),))] == count, severity
    assert m[("monitor_scoring_duration_seconds_count", ())] == 3
    assert m[("monitor_alerts_created_total", ())] == 1
    assert m[("monitor_polls_total", (("outcome", "ok"),))] >= 1
    assert m[("monitor_polls_total", (("outcome", "failed"),))] >= 1
    assert m[("monitor_fetch_duration_seconds_count", (("outcome", "ok"),))] >= 1
    assert m[("monitor_fetch_duration_seconds_count", (("outcome", "error"),))] >= 1
    assert m[("monitor_delivery_attempts_total", (("channel", "console"), ("outcome", "delivered")))] == 1
    assert m[("monitor_deliveries", (("channel", "console"), ("status", "delivered")))] == 1
    assert m[("monitor_alerts", (("status", "delivered"),))] == 1
    assert m[("monitor_outbox_depth", ())] == 0
    assert m[("monitor_feeds", (("state", "ok"),))] == 1
    assert m[("monitor_feeds", (("state", "failing"),))] == 1
    assert m[("monitor_database_up", ())] == 1
    assert m[("monitor_config_reloads_total", (("result", "ok"),))] == 0
    assert m[("monitor_config_last_reload_successful", ())] == 1

    assert json.loads(http_get(f"{base}/healthz")[1]) == {"status": "ok", "stopping": False}
    status, body, _ = http_get(f"{base}/readyz")
    ready = json.loads(body)
    assert status == 200 and ready["status"] == "ready"
    assert ready["checks"]["database"] == "ok" and ready["checks"]["scheduler"] == "running"
    assert 0 <= ready["checks"]["last_cycle_age"] < 30

    alerts = json.loads(http_get(f"{base}/api/alerts")[1])["alerts"]
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["title"] == "Alpha brigades cross the river" and alert["severity"] == "warning"
    assert 4 <= alert["score"] < 12 and alert["terms"] == ["Alpha"]  # the scorer's own figures are tested in core
    values = [c["value"] for c in alert["contributions"]]
    assert values and values == sorted(values, key=abs, reverse=True)
    assert alert["contributions"][0]["term"] == "Alpha"
    assert alert["deliveries"][0]["channel"] == "console" and alert["deliveries"][0]["status"] == "delivered"
    assert json.loads(http_get(f"{base}/api/alerts?status=pending")[1]) == {"alerts": [], "next": None}
    assert http_get(f"{base}/api/alerts?status=bogus")[0] == 400

    feeds = {f["name"]: f for f in json.loads(http_get(f"{base}/api/feeds")[1])["feeds"]}
    assert feeds["A"]["state"] == "ok" and feeds["A"]["items"] == 3
    assert feeds["Missing"]["state"] == "failing" and "404" in feeds["Missing"]["last_error"]
    assert http_get(f"{base}/nowhere")[0] == 404

    # The container health check's command agrees, and fails once the daemon is gone.
    assert _health("--check", "--address", f"127.0.0.1:{port}").returncode == 0
    ready_cmd = _health("--ready", "--config", str(config))
    assert ready_cmd.returncode == 0 and '"ready"' in ready_cmd.stdout
    assert daemon.stop() == 0
    wait_until(lambda: _health("--check", "--address", f"127.0.0.1:{port}").returncode == 1,
               message="health check fails after shutdown")


def _told_at_first_failure(settings: dict[str, Any]) -> dict[str, Any]:
    """A feed is `failing` once the ops channel would hear of it; here after one failure, so the run is short."""
    settings["polling"] = {**settings["polling"], "health": {"failures": 1}}
    return settings
