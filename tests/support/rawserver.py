"""A loopback server that misbehaves at the socket level: slow headers, bodies that never end, trickles.

http.server cannot play these (it writes whole responses). Each route is a function that gets the request
head and the socket and writes whatever bytes it likes. Every loop stops when the client goes away or the
server stops, so nothing outlives a test.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

Script = Callable[[socket.socket, threading.Event], None]


class RawServer:
    def __init__(self) -> None:
        self.routes: dict[str, Script] = {}
        self.paths: list[str] = []
        self._stop = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> RawServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
                path = head.split(b" ", 2)[1].decode("latin-1").split("?")[0]
                self.paths.append(path)
                script = self.routes.get(path, respond(404, b"not found"))
                script(conn, self._stop)
            except OSError:
                return  # the client gave up: that is the point of most of these routes


def respond(status: int, body: bytes, headers: dict[str, str] | None = None) -> Script:
    def script(conn: socket.socket, _stop: threading.Event) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}", "Connection: close",
                 *(f"{k}: {v}" for k, v in (headers or {}).items())]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    return script


def slow_headers(seconds: float) -> Script:
    """Accepts the request, then says nothing for `seconds`."""
    def script(conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(seconds)
    return script


def trickle(every: float = 0.1) -> Script:
    """A 200 whose chunked body sends one byte every `every` seconds, forever: only a total deadline ends it."""
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\n<rss>\r\n")
        while not stop.is_set():
            conn.sendall(b"1\r\n \r\n")
            time.sleep(every)
    return script


def endless(chunk: int = 65536) -> Script:
    """A 200 that streams as fast as it can and never ends: only a size cap ends it."""
    def script(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n")
        block = f"{chunk:x}\r\n".encode() + b"x" * chunk + b"\r\n"
        while not stop.is_set():
            conn.sendall(block)
    return script
