"""The catch-up watermark: ids commit out of order, and a look must still see every row committed since the
previous look (monitor.core.watermark)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.watermark import Mark, floor, prune

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LAG = timedelta(seconds=120)


def test_the_floor_is_the_id_marked_lag_before_the_previous_look() -> None:
    marks: list[Mark] = [(T0, 10), (T0 + timedelta(seconds=100), 40), (T0 + timedelta(seconds=200), 90)]
    assert floor(marks, T0 + timedelta(seconds=300), LAG) == 40  # marked at 100 <= 300 - 120
    assert floor(marks, T0 + timedelta(seconds=320), LAG) == 90  # marked at 200 <= 200
    assert floor(marks, T0 + timedelta(seconds=60), LAG) == 10  # nothing that old: the mark the index began at
    assert floor([], T0, LAG) == 0


seconds = st.floats(min_value=0, max_value=600, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(starts=st.lists(seconds, min_size=1, max_size=40), runs=st.data(),
       beats=st.lists(seconds, max_size=40), looks=st.lists(seconds, min_size=1, max_size=20))
def test_every_row_committed_after_a_look_is_above_the_next_looks_floor(
        starts: list[float], runs: st.DataObject, beats: list[float], looks: list[float]) -> None:
    """Transactions take ids in the order they start and commit within LAG; heartbeats mark the highest committed
    id; each look reads above its floor. Every row committed after the index was built is read by the first look
    at or after its commit, except a row whose transaction was already running when the index was built (a
    window of one transaction's length at start, documented)."""
    allocations = sorted(T0 + timedelta(seconds=s) for s in starts)
    commits = [a + timedelta(seconds=runs.draw(st.floats(min_value=0, max_value=LAG.total_seconds() - 0.001)))
               for a in allocations]
    rows = list(enumerate(zip(allocations, commits, strict=True), start=1))  # id, (allocated, committed)

    def highest_committed(at: datetime) -> int:
        return max((i for i, (_, k) in rows if k <= at), default=0)

    built = T0 + timedelta(seconds=300)  # the index is built: every row committed by then is in it
    marks: list[Mark] = [(built, highest_committed(built))]
    beat_times = sorted(built + timedelta(seconds=b) for b in beats)
    previous = built
    seen: set[int] = {i for i, (_, k) in rows if k <= built}
    kept: deque[Mark] = deque(marks)  # as the tracker keeps them: pruned, and no floor changes
    for look in sorted(built + timedelta(seconds=s) for s in looks):
        new = [(b, highest_committed(b)) for b in beat_times if marks[-1][0] < b <= look]
        marks += new
        kept.extend(new)
        prune(kept, previous, LAG)
        above = floor(marks, previous, LAG)
        assert floor(kept, previous, LAG) == above
        read = {i for i, (_, k) in rows if k <= look and i > above}
        missed = [i for i, (a, k) in rows if previous < k <= look and i not in read and a > built]
        assert not missed, (missed, above, previous, look)
        seen |= read
        previous = look
