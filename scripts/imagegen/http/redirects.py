"""Whether the client follows a redirect, and where to: a GET only, at most ``MAX_REDIRECTS`` in a row,
and never to another origin while it carries a key (or to an address that is not public)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

from ..errors import ProviderError, provider_error
from .transport import origin, where

if TYPE_CHECKING:
    from .client import HttpClient, Request, _Redirected

MAX_REDIRECTS = 3
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})


def followed(client: HttpClient, request: Request, redirect: _Redirected) -> Request:
    """The request a redirect leads to, or the error that refuses it."""
    if not redirect.location:
        raise refused(client, request, redirect, "without a Location to go to")
    target = urljoin(request.url, redirect.location.strip()).split("#", 1)[0]
    if request.method != "GET":
        raise refused(client, request, redirect, "a POST is never sent on: its body and key stay here", target)
    if origin(target) != origin(request.url):
        if _carries_credentials(client, request.headers):
            raise refused(client, request, redirect, "a request that carries a key is not followed to another origin",
                          target)
        client._check_destination(target)
    return request._replace(url=target)


def refused(client: HttpClient, request: Request, redirect: _Redirected, why: str,
            target: str | None = None) -> ProviderError:
    onward = f" to {where(target)}" if target else ""
    return provider_error(
        "provider_error", client._redact(f"HTTP {redirect.status} from {where(request.url)} redirects{onward}; "
                                         f"not followed: {why}"),
        details="point the base URL (OPENROUTER_BASE_URL, OPENAI_BASE_URL, ANTHROPIC_BASE_URL) at the API's "
                "own address, not at one that redirects", status=redirect.status, retryable=False)


def _carries_credentials(client: HttpClient, headers: dict[str, str]) -> bool:
    from ..config import secret_values

    secrets = [*client.secrets, *secret_values()]
    return any(name.lower() in CREDENTIAL_HEADERS or any(secret in value for secret in secrets)
               for name, value in headers.items())
