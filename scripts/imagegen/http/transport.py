"""The sockets under the client: every read and write of an exchange waits only for what is left of
its deadline, and an opener with no redirect handler of urllib's (the client decides redirects).
"""

from __future__ import annotations

import http.client
import io
import socket
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit


class Exchange:
    """One attempt's deadline, which every socket read and write of the attempt shares, and
    whether the whole request went out (after that, the provider may be working on it)."""

    __slots__ = ("deadline", "sent", "public_only")

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.sent = False
        self.public_only = False  # the URL was checked to lead to a public address: so must the connection

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline passed")
        return left


class _DeadlineReader(io.RawIOBase):
    """A socket's reading side that waits for each recv only as long as the deadline allows.

    http.client reads the status line and the headers with readline on ``sock.makefile()``; a
    per-read timeout never fires when a byte arrives every second, so each read gets what is left.
    """

    def __init__(self, sock: socket.socket, exchange: Exchange) -> None:
        super().__init__()
        self._sock, self._exchange = sock, exchange
        self._raw = sock.makefile("rb", buffering=0)  # holds a reference, as http.client's own file does

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        self._sock.settimeout(self._exchange.remaining())
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _DeadlineSocket:
    """A connected socket whose sends and reads wait no longer than the exchange's deadline."""

    def __init__(self, sock: socket.socket, exchange: Exchange) -> None:
        self._sock, self._exchange = sock, exchange

    def makefile(self, mode: str = "r", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._exchange))

    def sendall(self, data: Any, *args: Any) -> None:
        self._sock.settimeout(self._exchange.remaining())
        self._sock.sendall(data, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineConnection:
    """Mixed into http.client's connections: connect within the deadline, then bound every wait."""

    exchange: Exchange
    sock: Any
    timeout: Any

    def connect(self) -> None:
        self.timeout = self.exchange.remaining()
        super().connect()  # type: ignore[misc]
        self.sock = _DeadlineSocket(self.sock, self.exchange)

    def getresponse(self) -> Any:
        self.exchange.sent = True  # http.client asks for the reply only once the whole request is out
        return super().getresponse()  # type: ignore[misc]


class _HTTPConnection(_DeadlineConnection, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineConnection, http.client.HTTPSConnection):
    pass


def _connection_for(request: Any, kind: type) -> Callable[..., Any]:
    def connect(host: str, **kwargs: Any) -> Any:
        connection = kind(host, **kwargs)
        connection.exchange = request.exchange
        if request.exchange.public_only:
            connection._create_connection = _checked_connection(connection)
        return connection

    return connect


def _checked_connection(connection: Any) -> Callable[..., socket.socket]:
    """socket.create_connection, refusing a peer that is not public before a byte is sent (TLS included).
    Through a proxy the peer is the proxy the user set, and the proxy resolves the name."""

    def create(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        sock = socket.create_connection(address, *args, **kwargs)
        if getattr(connection, "_tunnel_host", None) is None:
            from .addresses import check_peer

            check_peer(sock, str(address[0]))
        return sock

    return create


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: Any) -> Any:
        return self.do_open(_connection_for(req, _HTTPConnection), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: Any) -> Any:
        return self.do_open(_connection_for(req, _HTTPSConnection), req,
                            context=getattr(self, "_context", None))


def opener() -> urllib.request.OpenerDirector:
    """http and https only, no redirect handler (3xx comes back as an HTTPError), proxies from the
    environment as urlopen reads them. Not urlopen's global opener, which keeps its first proxies."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.UnknownHandler(), _HTTPHandler(),
                    _HTTPSHandler(), urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        opener.add_handler(handler)
    return opener


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port


def where(url: str) -> str:
    """host[:port] of ``url``, without any user name or password it carries."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    try:
        return f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return host
