from __future__ import annotations

import random
import unicodedata
import zlib

import numpy as np
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.neardup import (
    _FOLD,
    BANDS,
    BUCKET_CAP,
    NUM_PERM,
    ROWS,
    BandIndex,
    normalise,
    shingles,
    signature,
    signatures,
    tables,
)


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


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_file_is_query_then_insert(seed: int, limit: int) -> None:
    """file() answers what query() answers before the value is filed, and leaves the index as insert() does:
    two keys per band (values share some bands and not others, and buckets overflow the cap), one operation in
    five a removal of the oldest value."""
    rng = random.Random(seed)
    filed: BandIndex[int] = BandIndex()
    twin: BandIndex[int] = BandIndex()
    values: list[tuple[np.ndarray, int]] = []
    for n in range(250):
        if values and rng.random() < 0.2:
            old_keys, old = values.pop(0)
            filed.remove(old_keys, old)
            twin.remove(old_keys, old)
            continue
        keys = np.array([rng.randrange(2) for _ in range(BANDS)], dtype=np.uint64)
        expected = twin.query(keys, limit)
        twin.insert(keys, n)
        assert filed.file(keys, n, limit) == expected
        values.append((keys, n))
    assert len(filed) == len(twin)
    assert filed._tables == twin._tables  # the same values in the same buckets, in the same order


def test_texts_sharing_most_words_share_buckets_and_unrelated_ones_do_not() -> None:
    a, b, c = (text.split() for text in ("nato chief warns russia could attack alliance territory within five years",
                                         "nato chief warns russia could attack alliance territory in five years",
                                         "football club wins the cup after a penalty shootout in the final"))
    index: BandIndex[str] = BandIndex()
    index.insert(signature(shingles(a, 1)), "a")
    assert index.query(signature(shingles(b, 1)), limit=5) == ["a"]
    assert index.query(signature(shingles(c, 1)), limit=5) == []


def _datasketch_keys(features: set[str]) -> np.ndarray:
    """The reference: datasketch's own MinHash, folded into band keys as signature() does."""
    minhash = MinHash(num_perm=NUM_PERM, permutations=tables().permutations, scheme="affine32", hashfunc=zlib.crc32)
    minhash.update_batch([f.encode("utf-8") for f in features])
    rows = minhash.hashvalues[: BANDS * ROWS].astype(np.uint64).reshape(BANDS, ROWS)
    return (rows * tables().mix).sum(axis=1, dtype=np.uint64)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sets(st.text(min_size=1, max_size=12), max_size=30), min_size=1, max_size=4))
def test_vectorised_signatures_equal_datasketch_minhash(feature_sets: list[set[str]]) -> None:
    computed = signatures(feature_sets)
    assert len(computed) == len(feature_sets)
    for features, keys in zip(feature_sets, computed, strict=True):
        assert keys.dtype == np.uint64
        assert keys.tolist() == _datasketch_keys(features).tolist()
        assert signature(features).tolist() == keys.tolist()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=1200), min_size=1, max_size=8))
def test_signatures_are_the_same_whichever_blocks_the_sets_fall_in(sizes: list[int]) -> None:
    """Sets are permuted a block of about BLOCK shingles at a time: sets spanning blocks, a set larger than a
    block and empty sets between them all get datasketch's keys."""
    feature_sets = [{f"s{n} w{k}" for k in range(size)} for n, size in enumerate(sizes)]
    computed = signatures(feature_sets)
    for features, keys in zip(feature_sets, computed, strict=True):
        assert keys.tolist() == _datasketch_keys(features).tolist()


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_normalises_as_the_unicode_path_does(text: str) -> None:
    assert normalise(text) == " ".join(unicodedata.normalize("NFKD", text).translate(_FOLD).casefold().split())
