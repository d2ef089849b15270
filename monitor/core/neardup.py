"""Near-duplicate text machinery for story clustering: normalised words, MinHash signatures, a banded LSH table.

Pure and deterministic: a fixed MinHash seed and a fixed band hash, so the same texts give the same candidates
in every process (an index rebuilt after a restart behaves like the one it replaces).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import compress, repeat
from operator import is_not
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeAlias, TypeVar
from zlib import crc32

from rapidfuzz import fuzz

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

NUM_PERM = 128
# datasketch's MinHashLSH picks 25 bands of 5 rows for threshold 0.5 at 128 permutations: a pair with Jaccard
# similarity s becomes a candidate with probability 1 - (1 - s^5)^25 (0.55 at s=0.5, 0.98 at s=0.7, 0.06 at s=0.3).
BANDS = 25
ROWS = 5
SHINGLE = 3  # words per shingle
# A bucket holding more values than this says little (a common word, a templated headline) and would make every
# insert and query scan it: it keeps only its newest values. An evicted value still sits in its other buckets.
BUCKET_CAP = 64
BLOCK = 512  # shingles permuted at a time in `signatures`

_SCHEME = "affine32"


def _permutations(num_perm: int, seed: int) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """datasketch's MinHash(num_perm, seed, scheme="affine32").permutations, drawn as it draws them (odd `a`,
    any `b`; tests/core/test_neardup.py holds them equal): importing datasketch (and the scipy it loads) was a
    third of a second of every `monitor` command's start."""
    import numpy as np

    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


class Tables(NamedTuple):
    permutations: tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]
    a: npt.NDArray[np.uint32]  # the first BANDS * ROWS permutations
    b: npt.NDArray[np.uint32]
    mix: npt.NDArray[np.uint64]  # odd 64-bit multipliers: a band's ROWS hash values -> one 64-bit bucket key


@functools.cache
def tables() -> Tables:
    """The MinHash constants, made at the first signature: numpy (a tenth of a second to import) is then loaded
    only by a process that fingerprints, not by every `monitor` command (issue 16, row 4)."""
    import numpy as np

    permutations = _permutations(NUM_PERM, 1)
    mix = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
                    0xFF51AFD7ED558CCD][:ROWS], dtype=np.uint64)
    return Tables(permutations, permutations[0][: BANDS * ROWS], permutations[1][: BANDS * ROWS], mix)


BandKeys: TypeAlias = "npt.NDArray[np.uint64]"


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


# _FOLD on ASCII, as a bytes table: letters and digits stay, everything else is a space (NFKD changes no ASCII
# character and casefold is lower): a third of the cost for the English text most feeds carry.
_ASCII_FOLD = bytes(c if chr(c).isalnum() else 32 for c in range(128)) + bytes(range(128, 256))


def normalise(text: str) -> str:
    """Case-folded words without accents or punctuation, single-spaced: 'Jerí’s “deal”' -> 'jeri s deal'."""
    if text.isascii():
        return " ".join(text.encode("ascii").translate(_ASCII_FOLD).decode("ascii").lower().split())
    return " ".join(unicodedata.normalize("NFKD", text).translate(_FOLD).casefold().split())


def shingles(words: list[str], size: int = SHINGLE) -> set[str]:
    """Word n-grams; a text shorter than `size` words is one shingle, an empty text none."""
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}


def signature(features: Iterable[str]) -> BandKeys:
    """MinHash (datasketch's affine32 scheme, NUM_PERM permutations) of a feature set, folded into BANDS bucket
    keys."""
    return signatures([features])[0]


def signatures(feature_sets: Sequence[Iterable[str]]) -> list[BandKeys]:
    """`signature` of several feature sets in one vectorised pass: the same values as datasketch's
    MinHash(scheme="affine32", hashfunc=zlib.crc32).update_batch (a test holds them equal) at a third of its
    cost, which was most of the cost of filing an item. crc32 rather than datasketch's default SHA-1: six times
    cheaper per shingle, and the MurmurHash3 finalizer datasketch applies first spreads its bits."""
    import numpy as np

    a, b, mix = (t := tables()).a, t.b, t.mix
    sets = [[crc32(f.encode("utf-8")) for f in features] for features in feature_sets]
    filled = [n for n, hashes in enumerate(sets) if hashes]
    mins = np.full((len(sets), BANDS * ROWS), 0xFFFFFFFF, dtype=np.uint32)
    if filled:
        hashed = _fmix32(np.fromiter((h for n in filled for h in sets[n]), dtype=np.uint32))
        ends = np.cumsum([len(sets[n]) for n in filled])
        starts = ends - [len(sets[n]) for n in filled]
        # A block of whole sets at a time, about BLOCK shingles: the permuted values of a document's 2,700
        # shingles at once (1.3 MB) made this a third slower than blocks that stay in the CPU's cache.
        first = 0
        while first < len(filled):
            last = max(first + 1, int(np.searchsorted(ends, starts[first] + BLOCK, side="right")))
            low, high = starts[first], ends[last - 1]
            permuted = hashed[low:high, None] * a + b  # uint32 arithmetic wraps, as datasketch's affine32
            mins[filled[first:last]] = np.minimum.reduceat(permuted, starts[first:last] - low, axis=0)
            first = last
    rows = mins.astype(np.uint64).reshape(len(sets), BANDS, ROWS)
    return list((rows * mix).sum(axis=2, dtype=np.uint64))


def _fmix32(hv: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint32]:
    """MurmurHash3's 32-bit finalizer, which datasketch applies to every input hash before the permutations."""
    import numpy as np

    hv = hv ^ (hv >> np.uint32(16))
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    return hv ^ (hv >> np.uint32(16))


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
        self._frozen: _Frozen | None = None  # values filed at once by `bulk`, in their buckets until touched
        self._thawed: list[set[int]] = []  # per band: the keys whose frozen values are in _tables already
        self._resolve: Callable[[int], T] | None = None
        self._gone: set[int] = set()  # frozen ids removed (their buckets not made yet are made without them)

    def __len__(self) -> int:
        return self._size

    def bulk(self, keys: npt.NDArray[np.uint64], ids: Sequence[int], resolve: Callable[[int], T]) -> None:
        """File many values at once into an empty index, as `insert` of each in order would (keys[n] for the value
        `resolve(ids[n])`), without making their buckets: a bucket is made from the sorted keys the first time an
        operation touches it (its newest BUCKET_CAP values, as the inserts would have left it), and a value is
        resolved only then. At a restart 50,000 texts took 1.5 s of dict inserts; sorting their keys takes 0.1 s."""
        if self._size or self._frozen is not None:
            raise ValueError("bulk filing needs an empty index")
        if len(ids):
            self._frozen = _Frozen(keys, ids)
            self._thawed = [set() for _ in range(BANDS)]
            self._resolve = resolve
            self._size = len(ids)

    def melt(self) -> None:
        """Forget the frozen values (the caller has removed every one of them)."""
        self._frozen, self._thawed, self._resolve, self._gone = None, [], None, set()

    def insert(self, keys: BandKeys, value: T) -> None:
        self._place(keys, value, None)

    def remove(self, keys: BandKeys, value: T, frozen: int | None = None) -> None:
        """`frozen`: the value's id if `bulk` filed it: only its buckets made already change (the others will be
        made without it), which spares a removal the binary searches."""
        bands = keys.tolist()
        if frozen is not None and self._frozen is not None:
            self._gone.add(frozen)
            tables = [table if key in thawed else {} for table, key, thawed in zip(self._tables, bands, self._thawed,
                                                                                   strict=True)]
        else:
            self._thaw(keys, bands)
            tables = self._tables
        for table, key in zip(tables, bands, strict=True):
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
        """Values sharing at least one band with `keys`, most shared bands first (ties: first found first), at most
        `limit` of them."""
        hits: dict[T, int] = {}
        bands = keys.tolist()
        self._thaw(keys, bands)
        for held in map(dict.get, self._tables, bands):  # the lookups in C; most find nothing
            if held is None:
                continue
            if isinstance(held, list):
                for value in held:
                    hits[value] = hits.get(value, 0) + 1
            else:
                hits[held] = hits.get(held, 0) + 1
        return _ranked(hits, limit)

    def file(self, keys: BandKeys, value: T, limit: int) -> list[T]:
        """query(keys, limit), then insert(keys, value), in one pass over the buckets (for a value that is filed
        whatever the query finds): the second pass over the same 25 buckets was half of their cost."""
        hits: dict[T, int] = {}
        self._place(keys, value, hits)
        return _ranked(hits, limit)

    def _place(self, keys: BandKeys, value: T, hits: dict[T, int] | None) -> None:
        """File `value` in its buckets, counting in `hits` the values it finds there (if given). Most buckets
        are empty: setdefault files the value there in one pass in C (a Python loop over the bands was a tenth
        of a busy round's main-process time); only shared buckets are handled one by one."""
        bands = keys.tolist()
        self._thaw(keys, bands)
        held = list(map(dict.setdefault, self._tables, bands, repeat(value)))
        self._size += 1
        for band in compress(range(BANDS), map(is_not, held, repeat(value))):
            current = held[band]
            if isinstance(current, list):
                if hits is not None:
                    for other in current:
                        hits[other] = hits.get(other, 0) + 1
                if len(current) >= BUCKET_CAP:
                    del current[0]
                current.append(value)
            else:
                if hits is not None:
                    hits[current] = hits.get(current, 0) + 1
                self._tables[band][bands[band]] = [current, value]

    def _thaw(self, keys: BandKeys, bands: list[int]) -> None:
        """Make the buckets of `keys` that hold frozen values and were never touched: their newest BUCKET_CAP
        values in the order they were filed (the inserts would have evicted the older ones)."""
        if self._frozen is None or self._resolve is None:
            return
        for band, ids in self._frozen.find(keys):
            key = bands[band]
            if key in self._thawed[band]:
                continue
            self._thawed[band].add(key)
            values = [self._resolve(i) for i in ids[-BUCKET_CAP:] if i not in self._gone]
            if values:
                self._tables[band][key] = values[0] if len(values) == 1 else values


class _Frozen:
    """Band keys filed at once, as one sorted array of (band: 5 bits, the key's top bits, position: the low bits),
    so the 25 buckets of a key are found with two vectorised binary searches. A key's top bits can be shared by
    another key: the positions found are checked against the full keys."""

    def __init__(self, keys: npt.NDArray[np.uint64], ids: Sequence[int]) -> None:
        import numpy as np

        count = len(ids)
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)
        self.ids = list(ids)
        self.low = np.uint64(max(1, count.bit_length()))  # bits of the position
        self.mask = np.uint64((1 << int(self.low)) - 1)
        self.bands = np.arange(BANDS, dtype=np.uint64) << np.uint64(59)
        positions = np.arange(count, dtype=np.uint64)[:, None]
        self.sorted = np.sort((self._prefix(self.keys) | positions).ravel())

    def _prefix(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
        import numpy as np

        return self.bands | ((keys >> (np.uint64(5) + self.low)) << self.low)

    def find(self, keys: BandKeys) -> list[tuple[int, list[int]]]:
        """(band, ids filed under keys[band] in the order they were filed) for each band that has some."""
        import numpy as np

        low = self._prefix(keys)
        start = np.searchsorted(self.sorted, low, side="left")
        end = np.searchsorted(self.sorted, low | self.mask, side="right")
        found = []
        for band in np.flatnonzero(end > start).tolist():
            positions = self.sorted[start[band]:end[band]] & self.mask
            positions = positions[self.keys[positions, band] == keys[band]]
            if len(positions):
                found.append((band, [self.ids[p] for p in positions.tolist()]))
        return found


def _ranked(hits: dict[T, int], limit: int) -> list[T]:
    """Most shared bands first (ties: first found first), at most `limit`. A plain dict and one sort:
    Counter.most_common's heap costs more on a few hits."""
    if len(hits) < 2:
        return list(hits)
    return sorted(hits, key=hits.__getitem__, reverse=True)[:limit]
