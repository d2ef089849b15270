"""Content-Encoding decoders that never produce more than a budget of bytes.

httpx decodes each network chunk in one call, so a 64 KB chunk of a gzip bomb inflates to 64 MB and a brotli
one to far more before any size check runs. These decoders stop inflating one byte past the cap.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Protocol

import brotli


class TooLarge(Exception):
    """The decoded body is over the budget."""


class DecodeFailed(Exception):
    """The body is not valid for its Content-Encoding."""


class _Stage(Protocol):
    def feed(self, data: bytes, budget: int) -> bytes: ...


class _Identity:
    def feed(self, data: bytes, budget: int) -> bytes:
        return data


class _Zlib:
    """gzip (several members allowed) and deflate, zlib-wrapped or raw (servers send both as `deflate`)."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._wbits = zlib.MAX_WBITS | 32 if gzip else zlib.MAX_WBITS  # | 32: gzip or zlib header
        self._d = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes, budget: int) -> bytes:
        out = bytearray()
        while data:
            try:
                out += self._d.decompress(data, budget - len(out) + 1)
            except zlib.error:
                if self._gzip or self._started:
                    raise
                self._d, self._wbits = zlib.decompressobj(-zlib.MAX_WBITS), -zlib.MAX_WBITS  # raw deflate
                self._started = True
                continue
            self._started = True
            if len(out) > budget:
                raise TooLarge
            data = self._d.unconsumed_tail
            if self._d.eof:
                # Another gzip member follows, or trailing padding/junk that every client ignores.
                rest = self._d.unused_data
                if self._gzip and rest[:2] == b"\x1f\x8b":
                    data, self._d = rest, zlib.decompressobj(self._wbits)
        return bytes(out)


class _Brotli:
    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def feed(self, data: bytes, budget: int) -> bytes:
        out = bytearray(self._d.process(data, output_buffer_limit=budget + 1))
        # Past the limit the decoder keeps the rest of the input; it must be drained with empty input.
        while len(out) <= budget and not self._d.can_accept_more_data():
            more = self._d.process(b"", output_buffer_limit=budget - len(out) + 1)
            if not more:
                break
            out += more
        if len(out) > budget:
            raise TooLarge
        return bytes(out)


_STAGES: dict[str, Callable[[], _Stage]] = {
    "gzip": lambda: _Zlib(True), "x-gzip": lambda: _Zlib(True), "deflate": lambda: _Zlib(False),
    "br": _Brotli, "identity": _Identity,
}


class BoundedDecoder:
    """Decodes a body chunk by chunk through its Content-Encoding(s), at most `max_bytes` in all."""

    def __init__(self, content_encoding: str, max_bytes: int) -> None:
        names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
        unknown = [n for n in names if n not in _STAGES]
        if unknown:
            raise DecodeFailed(f"unsupported Content-Encoding {unknown[0]!r}")
        # Encodings are listed in the order they were applied: undo the last one first.
        self._stages: list[_Stage] = [_STAGES[n]() for n in reversed(names)]
        self.max_bytes = max_bytes
        self.size = 0

    def feed(self, data: bytes) -> bytes:
        try:
            for stage in self._stages:
                data = stage.feed(data, self.max_bytes - self.size)
        except (zlib.error, brotli.error) as exc:
            raise DecodeFailed(str(exc)) from None
        self.size += len(data)
        if self.size > self.max_bytes:
            raise TooLarge
        return data
