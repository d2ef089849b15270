"""Which ids to look above when reading what other writers stored since the last look. Pure.

Ids come from a sequence at INSERT, but transactions commit in any order: after a look that saw ids up to 100,
a transaction holding id 95 may still commit. So "above the highest id seen" misses rows. Marks note the highest
committed id at a time; a transaction commits within `lag` of taking its id, so every row committed after the
previous look took its id after (previous look - lag), and is above the highest id marked by then.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

Mark = tuple[datetime, int]  # (when, the highest committed id then)


def floor(marks: Iterable[Mark], previous_look: datetime, lag: timedelta) -> int:
    """The id to look above: the highest marked at or before `previous_look - lag`, or else the oldest mark's
    (the index was built from the database then), or 0 with no mark at all."""
    cutoff = previous_look - lag
    oldest: int | None = None
    best: int | None = None
    for at, last in marks:
        if oldest is None:
            oldest = last
        if at <= cutoff:
            best = last if best is None else max(best, last)
    return best if best is not None else (oldest or 0)


def prune(marks: deque[Mark], previous_look: datetime, lag: timedelta) -> None:
    """Drop the marks no floor will need: those older than the newest one at or before `previous_look - lag`
    (later looks only move the cutoff forward)."""
    cutoff = previous_look - lag
    while len(marks) > 1 and marks[1][0] <= cutoff:
        marks.popleft()
