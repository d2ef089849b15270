from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.neardup import BANDS, BUCKET_CAP, BandIndex, shingles, signature


def _keys(n: int) -> np.ndarray:
    return np.full(BANDS, n, dtype=np.uint64)


def test_a_crowded_bucket_keeps_only_its_newest_values() -> None:
    index: BandIndex[int] = BandIndex()
    for value in range(BUCKET_CAP * 3):
        index.insert(_keys(7), value)
    found = index.query(_keys(7), limit=BUCKET_CAP * 3)
    assert sorted(found) == list(range(BUCKET_CAP * 2, BUCKET_CAP * 3))


def test_removing_an_evicted_value_is_harmless_and_empties_the_index() -> None:
    index: BandIndex[int] = BandIndex()
    for value in range(BUCKET_CAP + 10):
        index.insert(_keys(1), value)
    for value in range(BUCKET_CAP + 10):
        index.remove(_keys(1), value)
    assert len(index) == 0
    assert index.query(_keys(1), limit=10) == []


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=300))
def test_query_finds_exactly_the_live_values_of_a_bucket_up_to_the_cap(ops: list[tuple[int, bool]]) -> None:
    index: BandIndex[int] = BandIndex()
    live: dict[int, list[int]] = {b: [] for b in range(4)}
    for n, (bucket, remove) in enumerate(ops):
        if remove and live[bucket]:
            index.remove(_keys(bucket), live[bucket].pop(0))
        else:
            index.insert(_keys(bucket), n)
            live[bucket] = (live[bucket] + [n])[-BUCKET_CAP:]
    for bucket, values in live.items():
        assert sorted(index.query(_keys(bucket), limit=BUCKET_CAP)) == sorted(values)


def test_texts_sharing_most_words_share_buckets_and_unrelated_ones_do_not() -> None:
    a, b, c = (text.split() for text in ("nato chief warns russia could attack alliance territory within five years",
                                         "nato chief warns russia could attack alliance territory in five years",
                                         "football club wins the cup after a penalty shootout in the final"))
    index: BandIndex[str] = BandIndex()
    index.insert(signature(shingles(a, 1)), "a")
    assert index.query(signature(shingles(b, 1)), limit=5) == ["a"]
    assert index.query(signature(shingles(c, 1)), limit=5) == []
