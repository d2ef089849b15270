"""What clustering needs of an item's text, computed once per item: the normalised title, title + lead, and the
MinHash band keys that find its candidates. Pure, and no index needed, so the parse workers compute it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, TypeAlias
from zlib import crc32

from monitor.core import neardup
from monitor.core.neardup import BandKeys, normalise, shingles, signatures
from monitor.domain import pickled_by_slots

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

LEAD_WORDS = 40  # words of the summary that count: feeds truncate summaries at different points
MIN_TITLE_WORDS = 5  # shorter titles are too generic to identify a story on their own
TITLE_SHINGLE = 1  # titles as bags of words, like the token_set_ratio that confirms them
Keys: TypeAlias = "tuple[BandKeys | None, BandKeys]"  # (title's if long enough, title + lead's)


@pickled_by_slots
@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What clustering needs of an item's text. Computing it is most of the cost of filing an item, and it needs
    no index, so the parse workers compute it off the daemon's main process."""

    title_norm: str
    body: str  # normalised title + lead
    keys: Keys | None  # MinHash band keys; None for a text without words


def fingerprint_of(title: str, summary: str) -> Fingerprint:
    return fingerprints_of([(title, summary)])[0]


def fingerprints_of(texts: Sequence[tuple[str, str]]) -> list[Fingerprint]:
    """fingerprint_of for each (title, summary), a document's items at once: one vectorised MinHash pass over all
    their feature sets instead of one per item (numpy's per-call overhead was most of it: 80 -> 53 us an item)."""
    prepared = [prepare(title, summary) for title, summary in texts]
    groups = [feature_sets(title_norm, body) if body else [] for title_norm, body in prepared]
    found = iter(signatures([features for group in groups for features in group]))
    out = []
    for (title_norm, body), group in zip(prepared, groups, strict=True):
        keys = [next(found) for _ in group]
        out.append(Fingerprint(title_norm, body, (keys[1] if len(keys) > 1 else None, keys[0]) if keys else None))
    return out


def prepare(title: str, summary: str) -> tuple[str, str]:
    """(normalised title, normalised title + lead). A summary repeating the title loses the repeat."""
    head, rest = normalise(title), normalise(summary)
    if head and rest:
        if f" {rest} " in f" {head} ":
            rest = ""
        elif f" {head} " in f" {rest} ":
            rest = f" {rest} ".replace(f" {head} ", " ", 1).strip()
    lead = rest.split()[:LEAD_WORDS]
    return head, " ".join([*head.split(), *lead])


def signatures_of(title_norm: str, body: str) -> Keys:
    body_keys, *title_keys = signatures(feature_sets(title_norm, body))
    return (title_keys[0] if title_keys else None), body_keys


# What stored band keys were made with (pack_keys): keys packed by other parameters are not these keys, and
# unpack_keys refuses them, so the caller computes them again rather than filing an item under the wrong buckets.
_SCHEME_TAG = f"v1 {neardup.NUM_PERM} {neardup.BANDS} {neardup.ROWS} {neardup.SHINGLE} {TITLE_SHINGLE} " \
    f"{MIN_TITLE_WORDS} {LEAD_WORDS} {neardup._SCHEME}"
_VERSION = crc32(_SCHEME_TAG.encode()) & 0xFF or 1  # one byte, never 0
_KEYS_BYTES = neardup.BANDS * 8
_LE = "<u8"  # numpy's little-endian uint64: the same bytes on every machine


def pack_keys(keys: Keys | None) -> bytes:
    """A fingerprint's band keys as stored with its item (issue 16, row 4: a restart reads them instead of
    computing MinHash again): a version byte, then the body's keys, then the title's if any (little-endian
    uint64). A text without words packs to the version byte alone."""
    if keys is None:
        return bytes([_VERSION])
    title, body = keys
    parts = [bytes([_VERSION]), body.astype(_LE).tobytes()]
    if title is not None:
        parts.append(title.astype(_LE).tobytes())
    return b"".join(parts)


class StaleKeys(ValueError):
    """Stored keys made with other parameters (or damaged): compute them again."""


def unpack_keys(blob: bytes) -> Keys | None:
    """pack_keys reversed: the same keys (None for a text without words). StaleKeys if they were packed by other
    parameters or are damaged."""
    if not blob or blob[0] != _VERSION or len(blob) not in (1, 1 + _KEYS_BYTES, 1 + 2 * _KEYS_BYTES):
        raise StaleKeys(f"{len(blob)} bytes, version {blob[0] if blob else None}")
    if len(blob) == 1:
        return None
    import numpy as np  # here, as in neardup: only a process that reads stored keys loads numpy

    values = np.frombuffer(blob, dtype=_LE, offset=1).astype(np.uint64)
    body = values[:neardup.BANDS]
    return (values[neardup.BANDS:] if len(values) > neardup.BANDS else None), body


class Unpacked(NamedTuple):
    """unpack_keys of many blobs at once, as arrays (a row without keys holds zeros)."""

    body: npt.NDArray[np.uint64]  # (blobs, BANDS)
    title: npt.NDArray[np.uint64]  # (blobs, BANDS)
    words: npt.NDArray[np.bool_]  # packed with keys
    titled: npt.NDArray[np.bool_]  # packed with the title's keys too
    wordless: list[int]  # packed for a text without words (a caller checks that its text has none)
    stale: list[int]  # None, damaged or packed by other parameters: compute them again


def unpack_many(blobs: Sequence[bytes | None]) -> Unpacked:
    """unpack_keys of each blob, vectorised: the blobs joined, their lengths and version bytes checked and their
    keys gathered by numpy (a restart reads 50,000 of them: one numpy call each was a tenth of its time)."""
    import numpy as np

    count = len(blobs)
    sizes = np.fromiter((len(blob) if blob is not None else 0 for blob in blobs), dtype=np.intp, count=count)
    fine = np.zeros(count, dtype=bool)
    some = np.flatnonzero(sizes)
    fine[some] = np.frombuffer(bytes(blobs[n][0] for n in some.tolist()), dtype=np.uint8) == _VERSION  # type: ignore[index]
    body = np.zeros((count, neardup.BANDS), dtype=np.uint64)
    title = np.zeros((count, neardup.BANDS), dtype=np.uint64)
    words = fine & ((sizes == 1 + _KEYS_BYTES) | (sizes == 1 + 2 * _KEYS_BYTES))
    titled = fine & (sizes == 1 + 2 * _KEYS_BYTES)
    for bands in (1, 2):
        rows = np.flatnonzero(fine & (sizes == 1 + bands * _KEYS_BYTES))
        if len(rows):
            packed = np.frombuffer(b"".join([blobs[n] for n in rows.tolist()]),  # type: ignore[misc]
                                   dtype=np.dtype([("v", "u1"), ("k", _LE, (bands * neardup.BANDS,))]))["k"]
            body[rows] = packed[:, :neardup.BANDS]
            if bands == 2:
                title[rows] = packed[:, neardup.BANDS:]
    wordless = np.flatnonzero(fine & (sizes == 1)).tolist()
    stale = np.flatnonzero(~(words | (fine & (sizes == 1)))).tolist()
    return Unpacked(body, title, words, titled, wordless, stale)


def restored(title: str, summary: str, blob: bytes) -> Fingerprint:
    """The fingerprint of a stored item from its stored keys: only the cheap normalisation is done again (8 us
    against the 60 us of a MinHash pass). StaleKeys as unpack_keys."""
    keys = unpack_keys(blob)
    title_norm, body = prepare(title, summary)
    if (keys is None) != (not body):
        raise StaleKeys("keys stored for another text")
    return Fingerprint(title_norm, body, keys)


def feature_sets(title_norm: str, body: str) -> list[set[str]]:
    """What the MinHash keys are made of: the body's shingles, then the words of a title long enough to identify
    a story on its own."""
    title_words = title_norm.split()
    return [shingles(body.split()),
            *([shingles(title_words, TITLE_SHINGLE)] if len(title_words) >= MIN_TITLE_WORDS else [])]
