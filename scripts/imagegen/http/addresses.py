"""Where the project lets a URL lead: https to a public address, and nowhere inside the network.

One rule for the two kinds of URL that come from outside: a baseline image URL (the provider
fetches it) and an image URL in a provider's reply (this client fetches it). Refused: any scheme
but https, a user name or password in the URL, ``localhost``, and every name that resolves to a
loopback, link-local (169.254.169.254 is the cloud metadata service), private, multicast, reserved
or unspecified address (each address a name resolves to is checked). A name is resolved again when
the connection is made, so the connected peer is checked too (:func:`check_peer`): a DNS answer
that changes between the two (rebinding) cannot lead inside the network.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..record import Record

if TYPE_CHECKING:
    import ipaddress

Resolver = Callable[..., list]


class Refusal(Record):
    """Why a URL is refused: ``reason`` completes "the URL ...", ``kind`` lets a caller pick its fix."""

    reason: str
    kind: str  # scheme, malformed, no_host, credentials, this_machine, unresolvable, no_address, non_public


def refusal(url: str, resolver: Resolver | None = None) -> Refusal | None:
    """None when ``url`` is https to a public host; else why not."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        return Refusal(f"uses {parts.scheme or 'no'} scheme; only https URLs are accepted", "scheme")
    try:
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or 443
    except ValueError as error:
        return Refusal(f"is malformed ({error})", "malformed")
    if not host:
        return Refusal("has no host", "no_host")
    if parts.username is not None or parts.password is not None:
        return Refusal("carries a user name or password", "credentials")
    if host == "localhost" or host.endswith(".localhost"):
        return Refusal(f"points at {host}, this machine", "this_machine")
    import socket  # the URL checks alone need the resolver

    found = _addresses(host, port, resolver or socket.getaddrinfo)
    if isinstance(found, Refusal):
        return found
    for address in found:
        problem = _non_public(address)
        if problem:
            where = host if host == str(address) else f"{host} ({address})"
            return Refusal(f"points at {where}, a {problem} address", "non_public")
    return None


def _addresses(host: str, port: int,
               resolver: Resolver) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address] | Refusal:
    import ipaddress
    import socket

    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = resolver(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError) as error:
        return Refusal(f"has a host that does not resolve: {host} ({error})", "unresolvable")
    found = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        try:
            found.append(ipaddress.ip_address(text))
        except ValueError:
            continue
    if not found:
        return Refusal(f"has a host with no IP address: {host}", "no_address")
    return found


class NonPublicPeer(OSError):
    """The connection reached a non-public address although the name was checked to be public (its DNS
    answer changed between the check and the connection: DNS rebinding)."""


def check_peer(sock: Any, host: str) -> None:
    """Refuse (NonPublicPeer, the socket closed) a connection whose far end is not a public address: the
    check of the name (:func:`refusal`) and the connection each resolve it, and the second answer wins."""
    import ipaddress

    try:
        peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%", 1)[0])
    except (OSError, ValueError, IndexError, TypeError) as error:
        sock.close()
        raise NonPublicPeer(f"cannot tell which address {host} connected to ({error})") from None
    problem = _non_public(peer)
    if problem:
        sock.close()
        raise NonPublicPeer(f"{host} connected to {peer}, a {problem} address (its DNS answer changed after the check)")


def _non_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    for attribute, label in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                             ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                             ("is_private", "private"), ("is_reserved", "reserved")):
        if getattr(address, attribute):
            return label
    if not address.is_global:
        return "non-public"
    return None


def without_credentials(url: str) -> str:
    """``url`` fit to show: a user name or password in it replaced by ``***``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]).geturl()
