"""Hostile listeners for the reliability tests, beside the well-behaved fake in ``fake_api.py``.

* :class:`RawListener` records every request's raw bytes (request line, headers, body) exactly as
  they arrived, and answers each with one scripted reply. It stands for "another host": the place a
  redirect points to, or an internal address an image URL names. Tests assert what it never saw.
* :class:`TrickleServer` reads a request, then sends its status line and headers one byte at a
  time, slowly enough that no single read ever times out, and never finishes them.
* :class:`StallServer` reads a request (or nothing), sends part of a reply, and stalls until the
  test releases it: a request that a cancellation must break off at one stage or another.
* :func:`full_listener` is a port that never accepts: its backlog is full, so a connect stalls.

Standard library only; every listener binds 127.0.0.1 on a free port and is a context manager.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import NamedTuple


class Answer(NamedTuple):
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self) -> bytes:
        head = [f"HTTP/1.1 {self.status} Scripted", f"Content-Type: {self.content_type}",
                f"Content-Length: {len(self.body)}", "Connection: close", *(f"{k}: {v}" for k, v in self.headers)]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + self.body


def _read_request(connection: socket.socket) -> bytes:
    """The request's head and as much body as Content-Length announces (bounded, for tests)."""
    data = b""
    connection.settimeout(5)
    try:
        while b"\r\n\r\n" not in data and len(data) < 1 << 20:
            chunk = connection.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
        while len(body) < min(length, 64 << 20):
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body
    except OSError:
        return data


class _Listener:
    """A loopback TCP listener serving each connection on its own thread until closed."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self.port: int = self._socket.getsockname()[1]
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True, name=type(self).__name__)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._closed.set()
        try:
            self._socket.close()
        except OSError:
            pass
        self._thread.join(timeout=5)

    def _accept(self) -> None:
        self._socket.settimeout(0.05)
        while not self._closed.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve_and_close, args=(connection,), daemon=True).start()

    def _serve_and_close(self, connection: socket.socket) -> None:
        try:
            self.serve(connection)
        except OSError:
            pass
        finally:
            connection.close()

    def serve(self, connection: socket.socket) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class RawListener(_Listener):
    """Records raw requests; answers each with ``answer``."""

    def __init__(self, answer: Answer | None = None) -> None:
        super().__init__()
        self.answer = answer or Answer(body=b'{"ok": true}')
        self._received: list[bytes] = []

    @property
    def received(self) -> list[bytes]:
        with self._lock:
            return list(self._received)

    def saw(self, needle: str | bytes) -> bool:
        """Whether any request carried ``needle`` anywhere (case-insensitive)."""
        text = needle.encode() if isinstance(needle, str) else needle
        return any(text.lower() in raw.lower() for raw in self.received)

    def serve(self, connection: socket.socket) -> None:
        raw = _read_request(connection)
        with self._lock:
            self._received.append(raw)
        connection.sendall(self.answer.encode())


class TrickleServer(_Listener):
    """Sends ``HTTP/1.1 200 OK`` and an endless header, one byte every ``interval`` seconds."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__()
        self.interval = interval
        self.requests = 0

    def serve(self, connection: socket.socket) -> None:
        _read_request(connection)
        with self._lock:
            self.requests += 1
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Slow: "
        position = 0
        while not self._closed.is_set():
            byte = head[position:position + 1] if position < len(head) else b"a"
            connection.sendall(byte)
            position += 1
            time.sleep(self.interval)


class StallServer(_Listener):
    """Reads each request whole (with ``read`` False: nothing, so a large body stalls its sender), sends
    ``first`` (nothing, part of the head, or the head and part of the body), then stalls until
    :attr:`release` is set (it then sends ``rest``) or the listener closes. :attr:`got` is set once the
    request is read (without ``read``: once the connection is accepted); :attr:`connections` counts them."""

    def __init__(self, first: bytes = b"", rest: bytes = b"", *, read: bool = True) -> None:
        super().__init__()
        self.first, self.rest, self.read = first, rest, read
        self.got = threading.Event()
        self.release = threading.Event()
        self.connections = 0

    def serve(self, connection: socket.socket) -> None:
        with self._lock:
            self.connections += 1
        if self.read:
            _read_request(connection)
        self.got.set()
        if self.first:
            connection.sendall(self.first)
        while not self.release.wait(0.05):
            if self._closed.is_set():
                return
        connection.sendall(self.rest)


def full_listener() -> tuple[socket.socket, list[socket.socket]] | None:
    """A loopback listener whose backlog is full, and the connections that fill it: a further connect
    stalls (its SYN is dropped). None when this system completes connects anyway."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    held: list[socket.socket] = []
    for _ in range(8):
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.2)
        try:
            probe.connect(listener.getsockname())
        except TimeoutError:
            probe.close()
            return listener, held
        held.append(probe)
    for sock in [listener, *held]:
        sock.close()
    return None
