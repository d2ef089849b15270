"""Delivery benchmark: throughput and outbox overhead against apprise's own loop, and the latency from
an item appearing in a polled feed to the alert reaching a webhook.

    .venv/bin/python bench/bench_usecases/deliver.py [--alerts 500] [--latency-items 30] [--interval 10]

1. Throughput, same run, same loopback json:// webhook, same rendered messages:
   - baseline: apprise.Apprise().notify() in a loop, no database;
   - outbox: deliver.deliver_pending() over N pending deliveries (claim + send row + attempt rows,
     apprise, outcome + confirmation + alert status), no rate limit.
   The difference per alert is the outbox's cost (database writes and state updates).
2. Latency: `monitor run` as a subprocess polls a loopback feed every `--interval` seconds; items
   appear at random moments; each alert's arrival at the webhook is timed from its item's appearance.
   Target: p95 under interval + 2 s.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import apprise  # noqa: E402

from alerts.render import Renderer  # noqa: E402
from monitor.domain import AlertMessage  # noqa: E402
from monitor.runtime import logging as logsetup  # noqa: E402
from tests.alerts.helpers import Setup, rss, serve_feed, watchlist  # noqa: E402
from tests.support.configdir import write_config  # noqa: E402
from tests.support.servers import HttpServer, Request, Response, WebhookReceiver  # noqa: E402


def throughput(n: int) -> dict[str, float]:
    feeds, hook = HttpServer().start(), WebhookReceiver().start()
    with tempfile.TemporaryDirectory() as tmp:
        url = serve_feed(feeds, [(f"t{i}", f"NATO war bulletin {i}") for i in range(n)])
        config = write_config(Path(tmp) / "config", feeds=[{"url": url, "name": "Wire"}],
                              channels={"ops": {"urls": [f"json://127.0.0.1:{hook.port}/ops"], "rate_limit": None}},
                              watchlists={"escalation": watchlist(["ops"])},
                              settings={"log": {"level": "warning"}})
        s = Setup(config)
        s.poll()
        assert s.rows("select count(*) from deliveries") == [(n,)]
        messages = [AlertMessage.from_json({**json.loads(str(m)), "alert_id": i})  # sqlite returns JSON text
                    for i, (m,) in enumerate(s.rows("select message from alerts"))]
        renderer = Renderer()

        # Baseline: apprise's own loop, one notify per alert, nothing recorded.
        notifier = apprise.Apprise()
        notifier.add(f"json://127.0.0.1:{hook.port}/plain")
        start = time.perf_counter()
        for message in messages:
            rendered = renderer.alert(message)
            assert notifier.notify(body=rendered.text, title=rendered.subject, body_format=apprise.NotifyFormat.TEXT)
        plain = time.perf_counter() - start

        # The outbox: claim, record, send, record, per alert.
        start = time.perf_counter()
        stats = s.deliver()
        outbox = time.perf_counter() - start
        assert stats.delivered == n and len(hook.accepted("/ops")) == n
        s.close()
    feeds.stop()
    hook.stop()
    return {"alerts": n, "plain_s": plain, "outbox_s": outbox, "plain_rate": n / plain, "outbox_rate": n / outbox,
            "overhead_ms": (outbox - plain) / n * 1000}


def latency(items: int, interval: float) -> dict[str, float]:
    feeds, hook = HttpServer().start(), WebhookReceiver().start()
    rng = random.Random(4)
    span = interval * 9
    appear = sorted(rng.uniform(2, span) for _ in range(items))
    t0 = time.monotonic()
    lock = threading.Lock()

    def feed(_request: Request) -> Response:
        with lock:
            now = time.monotonic() - t0
            visible = [(f"l{i}", f"NATO war flash {i}") for i, at in enumerate(appear) if at <= now]
        return Response(200, rss(visible), {"Content-Type": "application/rss+xml"})

    feeds.routes["/live.xml"] = feed
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(
            Path(tmp) / "config", feeds=[{"url": feeds.url("/live.xml"), "name": "Live", "interval": f"{interval}s"}],
            channels={"ops": {"urls": [f"json://127.0.0.1:{hook.port}/ops"], "rate_limit": None}},
            watchlists={"escalation": watchlist(["ops"])},
            settings={"polling": {"min_interval": f"{interval}s", "tick": "1s"},
                      "delivery": {"interval": "1s"}, "log": {"level": "warning"}})
        daemon = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--config", str(config)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + span + interval * 3
        while len(hook.accepted("/ops")) < items and time.monotonic() < deadline:
            time.sleep(0.1)
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
    got: dict[int, float] = {}
    for request in hook.accepted("/ops"):
        match = re.search(r"flash (\d+)$", json.loads(request.body)["title"])
        if match:
            i = int(match.group(1))
            got.setdefault(i, request.at - t0 - appear[i])
    feeds.stop()
    hook.stop()
    values = sorted(got.values())
    return {"items": items, "received": len(values), "interval": interval,
            "median_s": statistics.median(values), "p95_s": values[max(0, round(0.95 * len(values)) - 1)],
            "max_s": values[-1]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--latency-items", type=int, default=30)
    parser.add_argument("--interval", type=float, default=10.0)
    args = parser.parse_args()
    logsetup.configure("warning", "json")  # measure delivery, not the terminal printing one log line per alert
    t = throughput(args.alerts)
    print(f"throughput, {t['alerts']:.0f} alerts to a loopback json:// webhook:")
    print(f"  apprise notify loop (no outbox): {t['plain_rate']:7.1f} alerts/s ({t['plain_s']:.2f} s)")
    print(f"  outbox deliver_pending:          {t['outbox_rate']:7.1f} alerts/s ({t['outbox_s']:.2f} s)")
    print(f"  ratio outbox/plain throughput:   {t['outbox_rate'] / t['plain_rate']:.2f}")
    print(f"  outbox overhead per alert:       {t['overhead_ms']:.2f} ms")
    if not args.latency_items:
        return
    lat = latency(args.latency_items, args.interval)
    print(f"latency, item appears in a feed polled every {lat['interval']:.0f} s -> webhook receives the alert:")
    print(f"  received {lat['received']:.0f}/{lat['items']:.0f}; median {lat['median_s']:.2f} s, "
          f"p95 {lat['p95_s']:.2f} s, max {lat['max_s']:.2f} s (target p95 < {lat['interval'] + 2:.0f} s)")


if __name__ == "__main__":
    main()
