"""This worker among the others sharing the database: its heartbeat (and whether others are alive, for the story
cache's catch-up) and its clean retirement."""

from __future__ import annotations

from datetime import timedelta

from monitor.store import cluster, story_rows
from monitor.store.db import session
from monitor.usecases.context import Runtime

PEER_ALIVE = 60.0  # a worker whose heartbeat is this recent (seconds) is alive (heartbeats come every 10 s)


def heartbeat(rt: Runtime) -> None:
    """This worker is alive; and are others (then each catches up with the stories the others file)?"""
    now = rt.clock()
    with session(rt.engine) as s:
        cluster.heartbeat(s, rt.worker, now)
        s.commit()
        peers = cluster.live_workers(s, now - timedelta(seconds=PEER_ALIVE)) > 1
        rt.story_cache.mark(now, story_rows.last_item_id(s), peers=peers)


def retire(rt: Runtime) -> None:
    """Clean shutdown: give back this worker's leases so others need not wait for them to expire."""
    with session(rt.engine) as s:
        cluster.forget_worker(s, rt.worker)
        s.commit()
