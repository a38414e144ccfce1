"""The sockets under the client: every read and write of an exchange waits only for what is left of
its deadline, and an opener with no redirect handler of urllib's (the client decides redirects).

An exchange that a cancellation may break off (``Exchange.cancelled``: a request that pays for
nothing, made for an MCP tool call) waits in slices of ``SLICE`` seconds at every stage (connecting,
the TLS handshake, sending, the status line, headers and body) and raises :class:`Aborted` at the
first slice after the cancellation. Reads go through ``recv_into`` on the socket itself: the file
``socket.makefile`` returns refuses every read after one timeout.
"""

from __future__ import annotations

import errno
import http.client
import io
import os
import selectors
import socket
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

SLICE = 0.1  # seconds a wait of an exchange that can be cancelled lasts before it looks again
_CONNECTING = frozenset(code for code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY,
                                           getattr(errno, "WSAEWOULDBLOCK", None)) if code is not None)


class Aborted(Exception):
    """The caller cancelled, and the exchange was broken off (not an OSError: nothing on the way catches it)."""


class Exchange:
    """One attempt's deadline, which every socket read and write of the attempt shares, and
    whether the whole request went out (after that, the provider may be working on it).

    ``cancelled`` (None: nothing cancels it) says whether the caller stopped waiting. It is obeyed
    at every stage, except by a request that is not ``recallable`` once it went out whole: a POST
    the provider may bill runs to its end."""

    __slots__ = ("deadline", "sent", "public_only", "cancelled", "recallable")

    def __init__(self, seconds: float, cancelled: Callable[[], bool] | None = None, *,
                 recallable: bool = False) -> None:
        self.deadline = time.monotonic() + seconds
        self.sent = False
        self.public_only = False  # the URL was checked to lead to a public address: so must the connection
        self.cancelled, self.recallable = cancelled, recallable

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the deadline passed")
        return left

    def abortable(self) -> bool:
        return self.cancelled is not None and (self.recallable or not self.sent)

    def check(self) -> None:
        """Aborted when the caller cancelled and the exchange may be broken off."""
        if self.abortable() and self.cancelled():  # type: ignore[misc]
            raise Aborted

    def slice(self) -> float:
        """How long the next socket wait may last: what is left of the deadline, cut to ``SLICE`` when a
        cancellation may end the exchange."""
        left = self.remaining()
        return min(left, SLICE) if self.abortable() else left

    def waited(self) -> None:
        """A wait of :meth:`slice` ran out: Aborted when cancelled, TimeoutError once the deadline passed."""
        self.check()
        self.remaining()


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
        while True:
            self._exchange.check()
            self._sock.settimeout(self._exchange.slice())
            try:
                return self._sock.recv_into(buffer)
            except TimeoutError:
                self._exchange.waited()

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
        if not self._exchange.abortable():
            self._sock.settimeout(self._exchange.remaining())
            self._sock.sendall(data, *args)
            return
        with memoryview(data) as view, view.cast("B") as octets:
            done = 0
            while done < len(octets):
                self._exchange.check()
                self._sock.settimeout(self._exchange.slice())
                try:
                    done += self._sock.send(octets[done:], *args)
                except TimeoutError:
                    self._exchange.waited()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _DeadlineConnection:
    """Mixed into http.client's connections: connect within the deadline, then bound every wait."""

    exchange: Exchange
    sock: Any
    timeout: Any

    def connect(self) -> None:
        self.exchange.check()
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


class _SlicedHandshake:
    """An SSLContext whose handshake waits in slices while the exchange may be cancelled."""

    def __init__(self, context: Any, exchange: Exchange) -> None:
        self._context, self._exchange = context, exchange

    def wrap_socket(self, sock: socket.socket, **kwargs: Any) -> Any:
        if not self._exchange.abortable():
            return self._context.wrap_socket(sock, **kwargs)
        wrapped = self._context.wrap_socket(sock, do_handshake_on_connect=False, **kwargs)
        try:
            while True:
                self._exchange.check()
                wrapped.settimeout(self._exchange.slice())
                try:
                    wrapped.do_handshake()
                    return wrapped
                except TimeoutError:
                    self._exchange.waited()
        except BaseException:
            wrapped.close()
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _connection_for(request: Any, kind: type) -> Callable[..., Any]:
    def connect(host: str, **kwargs: Any) -> Any:
        connection = kind(host, **kwargs)
        connection.exchange = request.exchange
        connection._create_connection = _connector(connection)
        if isinstance(connection, http.client.HTTPSConnection):
            connection._context = _SlicedHandshake(connection._context, request.exchange)  # type: ignore[attr-defined]
        return connection

    return connect


def _connector(connection: Any) -> Callable[..., socket.socket]:
    """socket.create_connection (in slices while a cancellation may end the exchange), refusing a peer that
    is not public before a byte is sent (TLS included) when the exchange asks it. Through a proxy the peer
    is the proxy the user set, and the proxy resolves the name."""
    exchange: Exchange = connection.exchange

    def create(address: Any, timeout: Any, source_address: Any = None) -> socket.socket:
        if exchange.abortable():
            sock = _connect_in_slices(address, exchange, source_address)
        else:
            sock = socket.create_connection(address, timeout, source_address)
        if exchange.public_only and getattr(connection, "_tunnel_host", None) is None:
            from .addresses import check_peer

            check_peer(sock, str(address[0]))
        return sock

    return create


def _connect_in_slices(address: tuple[str, int], exchange: Exchange, source_address: Any) -> socket.socket:
    """socket.create_connection, each connect waited for a slice at a time (Aborted once cancelled)."""
    host, port = address
    failure: OSError | None = None
    for family, kind, proto, _, peer in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        exchange.check()
        sock = socket.socket(family, kind, proto)
        try:
            if source_address:
                sock.bind(source_address)
            sock.setblocking(False)
            code = sock.connect_ex(peer)
            if code in _CONNECTING:
                with selectors.DefaultSelector() as selector:
                    selector.register(sock, selectors.EVENT_WRITE)
                    while not selector.select(exchange.slice()):
                        exchange.waited()
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
            sock.settimeout(exchange.remaining())
            return sock
        except TimeoutError:
            sock.close()
            raise
        except OSError as error:  # this address refused: the next one may answer, as create_connection does
            sock.close()
            failure = error
        except BaseException:
            sock.close()
            raise
    raise failure if failure is not None else OSError("getaddrinfo returned no address")


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
