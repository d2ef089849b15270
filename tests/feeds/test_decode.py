"""Bounded decoding: a decompression bomb never inflates much past the cap, whatever the chunking."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import brotli
import pytest

from monitor.feeds.decode import BoundedDecoder, DecodeFailed, TooLarge

CAP = 200_000
ZEROS = b"\0" * 20_000_000  # 100 times the cap


@pytest.mark.parametrize(("encoding", "body"), [
    ("gzip", gzip.compress(ZEROS, 1)), ("deflate", zlib.compress(ZEROS, 1)), ("br", brotli.compress(ZEROS, 1)),
])
def test_bomb_in_one_chunk_allocates_about_the_cap(encoding: str, body: bytes) -> None:
    decoder = BoundedDecoder(encoding, CAP)
    tracemalloc.start()
    try:
        with pytest.raises(TooLarge):
            decoder.feed(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * CAP, peak


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_small_chunks_decode_exactly(chunk: int) -> None:
    data = b"<rss>" + bytes(range(256)) * 100 + b"</rss>"
    for encoding, body in (("gzip", gzip.compress(data) + gzip.compress(data)), ("br", brotli.compress(data)),
                           ("deflate", zlib.compress(data)), ("", data)):
        decoder = BoundedDecoder(encoding, CAP)
        out = b"".join(decoder.feed(body[i:i + chunk]) for i in range(0, len(body), chunk))
        assert out == (data * 2 if encoding == "gzip" else data), encoding


def test_exactly_the_cap_is_allowed() -> None:
    assert BoundedDecoder("gzip", 1000).feed(gzip.compress(b"a" * 1000)) == b"a" * 1000
    with pytest.raises(TooLarge):
        BoundedDecoder("gzip", 1000).feed(gzip.compress(b"a" * 1001))


def test_garbage_and_unknown_encodings() -> None:
    with pytest.raises(DecodeFailed):
        BoundedDecoder("gzip", CAP).feed(b"this is not gzip")
    with pytest.raises(DecodeFailed):
        BoundedDecoder("br", CAP).feed(b"\xff\xff\xff\xff not brotli")
    with pytest.raises(DecodeFailed, match="compress"):
        BoundedDecoder("compress", CAP)
