"""Near-duplicate text machinery for story clustering: normalised words, MinHash signatures, a banded LSH table.

Pure and deterministic: a fixed MinHash seed and a fixed band hash, so the same texts give the same candidates
in every process (an index rebuilt after a restart behaves like the one it replaces).
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

import numpy as np
import numpy.typing as npt
from datasketch import MinHash
from rapidfuzz import fuzz

NUM_PERM = 128
# datasketch's MinHashLSH picks 25 bands of 5 rows for threshold 0.5 at 128 permutations: a pair with Jaccard
# similarity s becomes a candidate with probability 1 - (1 - s^5)^25 (0.55 at s=0.5, 0.98 at s=0.7, 0.06 at s=0.3).
BANDS = 25
ROWS = 5
SHINGLE = 3  # words per shingle
# A bucket holding more values than this says little (a common word, a templated headline) and would make every
# insert and query scan it: it keeps only its newest values. An evicted value still sits in its other buckets.
BUCKET_CAP = 64

_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=1).permutations
_SCHEME = "affine32"
# Odd 64-bit multipliers: a band's ROWS hash values -> one 64-bit bucket key (arithmetic wraps modulo 2^64).
_MIX = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                 0xFF51AFD7ED558CCD][:ROWS], dtype=np.uint64)

BandKeys = npt.NDArray[np.uint64]


class _Fold(dict[int, int | None]):
    """str.translate table built on demand: drop combining marks, punctuation/symbols/separators -> space."""

    def __missing__(self, codepoint: int) -> int | None:
        category = unicodedata.category(chr(codepoint))
        value: int | None = codepoint
        if category == "Mn":
            value = None
        elif category[0] in "PSZC":
            value = 32
        self[codepoint] = value
        return value


_FOLD = _Fold()


def normalise(text: str) -> str:
    """Case-folded words without accents or punctuation, single-spaced: 'Jerí’s “deal”' -> 'jeri s deal'."""
    return " ".join(unicodedata.normalize("NFKD", text).translate(_FOLD).casefold().split())


def shingles(words: list[str], size: int = SHINGLE) -> set[str]:
    """Word n-grams; a text shorter than `size` words is one shingle, an empty text none."""
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def signature(features: Iterable[str]) -> BandKeys:
    """MinHash (datasketch, NUM_PERM permutations) of a feature set, folded into BANDS bucket keys."""
    minhash = MinHash(num_perm=NUM_PERM, permutations=_PERMUTATIONS, scheme=_SCHEME)
    minhash.update_batch([f.encode("utf-8") for f in features])
    rows = minhash.hashvalues[: BANDS * ROWS].astype(np.uint64).reshape(BANDS, ROWS)
    keys: BandKeys = (rows * _MIX).sum(axis=1, dtype=np.uint64)
    return keys


def similarity(a: str, b: str) -> float:
    """The confirmation score of a candidate pair (rapidfuzz token_set_ratio, 0-100) of normalised texts."""
    if not a or not b:
        return 0.0
    return float(fuzz.token_set_ratio(a, b))


T = TypeVar("T", bound=Hashable)


class BandIndex(Generic[T]):
    """LSH over band keys: BANDS tables mapping a bucket key to the values filed under it (at most BUCKET_CAP,
    the newest).

    A lean stand-in for datasketch's MinHashLSH (which keeps a set per bucket: about 9 KB per entry against
    about 2.5 KB here); query cost depends on the number of near neighbours, not on the size of the index.
    """

    def __init__(self) -> None:
        self._tables: list[dict[int, T | list[T]]] = [{} for _ in range(BANDS)]
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def insert(self, keys: BandKeys, value: T) -> None:
        for table, key in zip(self._tables, keys.tolist(), strict=True):
            held = table.get(key)
            if held is None:
                table[key] = value
            elif isinstance(held, list):
                if len(held) >= BUCKET_CAP:
                    del held[0]
                held.append(value)
            else:
                table[key] = [held, value]
        self._size += 1

    def remove(self, keys: BandKeys, value: T) -> None:
        for table, key in zip(self._tables, keys.tolist(), strict=True):
            held = table.get(key)
            if isinstance(held, list):
                if value in held:  # else evicted from this crowded bucket already
                    held.remove(value)
                if len(held) == 1:
                    table[key] = held[0]
            elif held is not None and held == value:
                del table[key]
        self._size -= 1

    def query(self, keys: BandKeys, limit: int) -> list[T]:
        """Values sharing at least one band with `keys`, most shared bands first, at most `limit` of them."""
        hits: Counter[T] = Counter()
        for table, key in zip(self._tables, keys.tolist(), strict=True):
            held = table.get(key)
            if isinstance(held, list):
                hits.update(held)
            elif held is not None:
                hits[held] += 1
        return [value for value, _ in hits.most_common(limit)]
