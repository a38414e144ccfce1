"""The one HTTP client: urllib, deadlines, redirects, retries with back-off, and typed errors.

Every remote failure leaves this module as a ProviderError whose ``kind`` an agent can act on.
Request headers (which carry API keys) are never logged, returned or put into a message.

Three rules hold for every request (README, "Reliability"):

* ``timeout`` is a deadline for the whole exchange: connecting, sending, the status line, the
  headers and the body. Every socket read and write waits only for what is left of it, so a reply
  that trickles in a byte at a time still ends on time.
* Redirects are the client's decision, not urllib's (which copies every header, keys included, to
  wherever ``Location`` points): a redirected POST is an error; a GET follows at most
  ``MAX_REDIRECTS`` redirects, and never to another origin while it carries a key (``http.redirects``).
* A request made with ``cancelled`` (an MCP tool call's cancellation, for requests that pay for
  nothing) is broken off within ``transport.SLICE`` seconds of it, at any stage or in the wait
  before a retry, and ends as an ``interrupted`` error; a request other than a GET never once its
  body went out whole (it may be billed). The paid-call path sends without it: a paid request runs
  to its end.
* A URL that is not one of the configured API endpoints (an image URL in a reply) is fetched only
  when it is https to a public address (``addresses.refusal``), or on the host of a configured
  base URL (the tests' loopback fake, a local proxy); its body never goes into an error.
"""

from __future__ import annotations

import json
import random
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from http.client import HTTPException
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .. import __version__
from ..errors import ImageGenError, OutputError, ProviderError, provider_error
from ..record import Record
from ..reply_words import error_message_from_body
from .statuses import RETRY_STATUSES, classify_status, retry_after_seconds, snippet
from .transport import SLICE, Aborted, Exchange, opener, origin, where

if TYPE_CHECKING:
    from .rate_gate import RateGate

MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 60.0
MAX_BODY_BYTES = 256 * 1024 * 1024
CHUNK = 256 * 1024
USER_AGENT = f"image-gen/{__version__} (+python-urllib)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _after_reply_started(sent: bool) -> dict[str, bool]:
    """A reply that breaks off after a POST was answered: the provider did the work and may have
    billed it, so sending again could pay twice. Only a GET is sent again."""
    return {"charge_unknown": True} if sent else {"resend": True}


class _SinkError(Exception):
    """A local write failed while the body streamed in: not a network failure."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Redirected(Exception):
    """A 3xx came back; the client decides whether to follow it."""

    def __init__(self, status: int, location: str | None) -> None:
        super().__init__(status)
        self.status, self.location = status, location


def sleep_unless(cancelled: Callable[[], bool] | None, seconds: float) -> bool:
    """Sleep ``seconds``, looking every ``transport.SLICE`` whether ``cancelled`` says the caller stopped
    waiting; True when it did (None: a plain sleep)."""
    if cancelled is None:
        time.sleep(seconds)
        return False
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if cancelled():
            return True
        time.sleep(min(left, SLICE))
    return cancelled()


def _finite_or_text(text: str) -> float | str:
    """A JSON number as a float, or as its own text when no float holds it (1e999): never Infinity."""
    value = float(text)
    return value if value - value == 0 else text


def _reached_provider(error: ImageGenError) -> bool:
    """Whether a failed attempt got to the provider: it answered, or the request went out whole."""
    return (getattr(error, "status", None) is not None or bool(getattr(error, "charge_unknown", False))
            or error.extra.get("charge_unknown") is True)


class Response:
    __slots__ = ("status", "headers", "body", "url", "inline")

    def __init__(self, status: int, headers: dict[str, str], body: bytearray, url: str,
                 inline: dict[str, Any] | None = None) -> None:
        self.status, self.headers, self.body, self.url = status, headers, body, url
        self.inline = inline  # placeholder -> InlineImage, when images were streamed out

    def json(self) -> Any:
        try:
            return json.loads(self.body, parse_constant=str, parse_float=_finite_or_text)
        except RecursionError:
            raise provider_error("provider_error", "the provider sent JSON nested too deep to read",
                                 status=self.status, retryable=False) from None
        except (ValueError, UnicodeDecodeError) as error:
            raise provider_error(
                "provider_error",
                "the provider sent a response that is not valid JSON",
                details=snippet(self.body) + f" ({error})",
                status=self.status,
            ) from None


class Request(Record):
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | list[bytes] | None = None
    length: int | None = None


class HttpClient:
    """Sends requests with retries. One instance per run; safe to share between threads.

    ``on_attempt``, when set (see :meth:`observed`), hears of every attempt that reached the
    provider and failed, retried or not, before anything else happens: the ledger's way to see
    each one (a retried 5xx, a reset after sending, a reply the disk could not hold).

    ``cancelled``, when set, says whether the caller stopped waiting: a request in flight is then
    broken off (see the module docstring). Only clients for requests that pay for nothing get one.
    """

    def __init__(
        self,
        *,
        timeout: float = 180.0,
        retries: int = 2,
        gate: RateGate | None = None,
        secrets: Iterable[str] = (),
        verbose: bool = True,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self.timeout = timeout
        self.retries = max(0, retries)
        # How the wait between attempts is spent: pause(seconds) -> True ends the retries (None: sleep).
        self.pause: Callable[[float], bool] | None = None
        self.gate = gate
        self.secrets = [s for s in secrets if s]
        self.verbose = verbose
        self.on_attempt: Callable[[ImageGenError], None] | None = None
        self.cancelled = cancelled
        self.posted = False  # a POST went out whole: whatever happens next, it may be billed
        self._opener: urllib.request.OpenerDirector | None = None
        self._bases: tuple[str, ...] | None = None

    def observed(self, on_attempt: Callable[[ImageGenError], None]) -> HttpClient:
        """This client, telling ``on_attempt`` of each failed attempt that reached the provider."""
        twin = HttpClient(timeout=self.timeout, retries=self.retries, gate=self.gate, secrets=self.secrets,
                          verbose=self.verbose, cancelled=self.cancelled)
        twin._opener, twin._bases, twin.on_attempt = self._opener, self._bases, on_attempt
        twin.pause = self.pause
        return twin

    # -- public helpers -------------------------------------------------------------------
    def post_json(self, url: str, payload: Any, headers: dict[str, str], *,
                  spool_dir: Path | None = None) -> Response:
        """POST JSON. With ``spool_dir``, base64 images in the reply are decoded into unnamed temp
        files there while it streams in (see inline.py): memory stays flat whatever the image size."""
        body = json.dumps(payload).encode("utf-8")
        request = Request("POST", url, {**headers, "Content-Type": "application/json"}, body)
        return self.send(request, spool_dir=spool_dir)

    def get(self, url: str, headers: dict[str, str] | None = None, max_bytes: int = MAX_BODY_BYTES, *,
            spool_dir: Path | None = None) -> Response:
        """GET. With ``spool_dir``, base64 images in the body are spooled out as :meth:`post_json` does
        (a batch's results: JSON Lines, each line an image reply)."""
        return self.send(Request("GET", url, dict(headers or {})), max_bytes=max_bytes, spool_dir=spool_dir)

    def post_bytes(self, url: str, body: bytes, headers: dict[str, str]) -> Response:
        """POST a body as it is (an upload); ``headers`` name its type."""
        return self.send(Request("POST", url, dict(headers), body))

    def post_multipart(self, url: str, content_type: str, chunks: list[bytes], length: int,
                       headers: dict[str, str], *, spool_dir: Path | None = None) -> Response:
        request = Request("POST", url, {**headers, "Content-Type": content_type}, chunks, length)
        return self.send(request, spool_dir=spool_dir)

    # -- the loop ------------------------------------------------------------------------
    def send(self, request: Request, max_bytes: int = MAX_BODY_BYTES, spool_dir: Path | None = None) -> Response:
        self._check_destination(request.url)
        attempt = 0
        while True:
            if self.gate is not None:
                self.gate.wait()
            try:
                response = self._attempt(request, max_bytes, spool_dir)
            except Aborted:
                raise self._interrupted(request) from None
            except ImageGenError as error:
                if self.on_attempt is not None and _reached_provider(error):
                    self.on_attempt(error)
                delay = self._retry_delay(error, attempt) if isinstance(error, ProviderError) else None
                if delay is None:
                    raise
                attempt += 1
                self._say(f"{error.message}; retry {attempt}/{self.retries} in {delay:.1f}s")
                if self.pause is not None:
                    if self.pause(delay):
                        raise  # the caller stopped waiting (an MCP cancellation): no further attempt is sent
                elif sleep_unless(self.cancelled, delay):
                    raise self._interrupted(request) from None
                continue
            return response

    def _interrupted(self, request: Request) -> ProviderError:
        return provider_error("interrupted", f"cancelled while waiting for {self._host(request.url)}",
                              details="the request was broken off; nothing it asked for is billed", retryable=True)

    def _retry_delay(self, error: ProviderError, attempt: int) -> float | None:
        if attempt >= self.retries or not error.resend:
            return None
        retry_after = error.retry_after
        if retry_after is not None:
            if retry_after > MAX_RETRY_AFTER:
                return None
            delay = retry_after
        else:
            from ..config import retry_base_seconds

            base = retry_base_seconds()
            delay = min(MAX_BACKOFF, base * (2**attempt)) * random.uniform(0.5, 1.0)
        if self.gate is not None and error.kind == "rate_limited":
            self.gate.defer(delay)
        return delay

    def _attempt(self, request: Request, max_bytes: int, spool_dir: Path | None) -> Response:
        """One attempt: the request and the redirects it may follow, all within one deadline."""
        exchange = Exchange(self.timeout, self.cancelled, recallable=request.method == "GET")
        hops = 0
        while True:
            try:
                return self._once(request, max_bytes, spool_dir, exchange)
            except _Redirected as redirect:
                from . import redirects  # a configured API does not redirect: the policy loads when one does

                if hops == redirects.MAX_REDIRECTS:
                    raise redirects.refused(self, request, redirect, f"more than {redirects.MAX_REDIRECTS} "
                                            "redirects in a row") from None
                hops += 1
                request = redirects.followed(self, request, redirect)
                exchange.sent = False

    # -- where requests may go -------------------------------------------------------------
    def _api_bases(self) -> tuple[str, ...]:
        if self._bases is None:
            from .. import config

            bases = []
            for provider in config.DEFAULT_BASE_URLS:
                try:
                    bases.append(config.base_url(provider))
                except ImageGenError:
                    continue  # a malformed base URL fails where it is used, with its own message
            self._bases = tuple(bases)
        return self._bases

    def _needs_public(self, url: str) -> bool:
        """Whether ``url`` must lead to a public address: anything but a configured API and its host."""
        if self._is_api(url):
            return False
        scheme, host, _ = origin(url)
        return not (scheme in ("http", "https") and host and host in {origin(base)[1] for base in self._api_bases()})

    def _is_api(self, url: str) -> bool:
        return any(url == base or url.startswith((base + "/", base + "?")) for base in self._api_bases())

    def _check_destination(self, url: str) -> None:
        """An endpoint of a configured API, a URL on a configured API's host, or https to a public address."""
        if not self._needs_public(url):
            return  # a configured API or its host (the tests' loopback fake, a local proxy): the user chose it
        from .addresses import refusal, without_credentials

        refused = refusal(url)
        if refused is not None:
            raise provider_error("provider_error", self._redact(f"refused to fetch {without_credentials(url)[:200]}: "
                                                                f"it {refused.reason}"),
                                 details="image URLs must be https to a public address; a reply pointing inside "
                                         "the network is not followed", retryable=False)

    # -- one request -------------------------------------------------------------------------
    def _opened(self, raw: urllib.request.Request, exchange: Exchange) -> Any:
        if self._opener is None:
            self._opener = opener()
        raw.exchange = exchange  # type: ignore[attr-defined]  # read by _connection_for
        return self._opener.open(raw, timeout=exchange.remaining())

    def _once(self, request: Request, max_bytes: int, spool_dir: Path | None, exchange: Exchange) -> Response:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **request.headers}
        if request.length is not None:
            headers["Content-Length"] = str(request.length)
        raw = urllib.request.Request(request.url, data=request.body, method=request.method, headers=headers)
        exchange.public_only = self._needs_public(request.url)

        def posted() -> bool:
            return request.method == "POST" and exchange.sent

        try:
            return self._exchange(request, raw, max_bytes, spool_dir, exchange, posted)
        finally:
            self.posted = self.posted or posted()  # also when interrupted (Ctrl-C, a signal) mid-reply

    def _exchange(self, request: Request, raw: urllib.request.Request, max_bytes: int, spool_dir: Path | None,
                  exchange: Exchange, posted: Callable[[], bool]) -> Response:
        try:
            with self._opened(raw, exchange) as handle:
                if spool_dir is None:
                    body = self._read(handle, exchange, max_bytes, posted())
                    return Response(handle.status, dict(handle.headers.items()), body, request.url)
                skeleton, images = self._read_split(handle, exchange, max_bytes, posted(), spool_dir)
                return Response(handle.status, dict(handle.headers.items()), skeleton, request.url, images)
        except urllib.error.HTTPError as http_error:
            raise self._status_failure(request, http_error, exchange) from None
        except (ProviderError, OutputError):
            raise
        except TimeoutError:
            raise self._timeout(posted(), "no response") from None
        except urllib.error.URLError as error:
            reason = error.reason
            from .addresses import NonPublicPeer, without_credentials

            if isinstance(reason, NonPublicPeer):
                raise provider_error("provider_error", self._redact(
                    f"refused to fetch {without_credentials(request.url)[:200]}: {reason}"), retryable=False,
                    details="image URLs must be https to a public address; a reply pointing inside the network "
                            "is not followed") from None
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise self._timeout(False, "could not connect") from None
            raise self._network(f"cannot reach {self._host(request.url)}: {reason}") from None
        except (ConnectionError, HTTPException, OSError) as error:
            failure = f"{type(error).__name__} {error}"
            raise self._network(f"connection to {self._host(request.url)} failed: {failure}",
                                after_sending=posted()) from None

    def _status_failure(self, request: Request, http_error: urllib.error.HTTPError,
                        exchange: Exchange) -> Exception:
        """The error for a non-2xx reply (a redirect is handed back to be decided on)."""
        try:
            code, headers = http_error.code, dict(http_error.headers.items())
            if code in REDIRECTS:
                return _Redirected(code, http_error.headers.get("Location"))
            if not self._is_api(request.url):  # a fetched URL: its body is whatever that host sent, never shown
                retry_after = retry_after_seconds(http_error.headers.get("Retry-After"))
                return provider_error(classify_status(code), f"HTTP {code} from {where(request.url)}", status=code,
                                      resend=code in RETRY_STATUSES,
                                      retry_after=round(retry_after, 3) if retry_after is not None else None)
            try:
                body = self._read(http_error, exchange, 1024 * 1024, False)
            except ProviderError:
                body = bytearray()
        finally:
            http_error.close()
        try:
            return self._http_failure(code, headers, body)
        except RecursionError:  # an error body nested too deep to parse: classify it by its status alone
            return self._http_failure(code, headers, bytearray())

    def _read_split(self, handle: Any, exchange: Exchange, max_bytes: int, sent: bool,
                    spool_dir: Path) -> tuple[bytearray, dict[str, Any]]:
        import tempfile

        from .b64stream import Splitter

        splitter = Splitter(lambda: tempfile.TemporaryFile(dir=spool_dir, prefix=".imagegen-"))
        try:
            self._read(handle, exchange, max_bytes, sent, sink=splitter.feed)
            skeleton, images = splitter.finish()
        except OSError as error:  # the spool's disk, not the network: reads are wrapped in _read
            splitter.discard()
            # The reply was on its way: the provider did the work and may have billed it.
            raise OutputError(f"could not hold the image in {spool_dir}: {error.strerror or error}",
                              details="free some space or choose another output directory",
                              extra={"charge_unknown": True}) from None
        except BaseException:
            splitter.discard()
            raise
        return bytearray(skeleton), images

    def _read(self, handle: Any, exchange: Exchange, max_bytes: int, sent: bool,
              sink: Callable[[bytes], None] | None = None) -> bytearray:
        """The body (or, with ``sink``, each chunk handed to it and an empty body)."""
        length = handle.headers.get("Content-Length")
        body = bytearray()
        received = 0
        try:
            expected = int(length) if length else None
        except ValueError:
            expected = None
        if expected is not None and expected > max_bytes:
            raise provider_error("provider_error", f"response too large ({expected} bytes, limit {max_bytes})",
                                 retryable=False)
        read = getattr(handle, "read1", handle.read)  # read1 returns what has arrived: deadlines hold
        try:
            while True:
                if exchange.deadline <= time.monotonic():
                    raise self._timeout(sent, "the response did not finish in time")
                chunk = read(CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > max_bytes:
                    raise provider_error("provider_error", f"response larger than {max_bytes} bytes", retryable=False)
                if sink is None:
                    body += chunk
                else:
                    try:
                        sink(chunk)
                    except OSError as error:
                        raise _SinkError(error) from None
                if expected is not None and received >= expected:
                    break
        except TimeoutError:
            raise self._timeout(sent, "the response stalled") from None
        except HTTPException as error:  # IncompleteRead and friends
            raise provider_error("provider_error", "the response was cut off",
                                 details=type(error).__name__, **_after_reply_started(sent)) from None
        except _SinkError as wrapped:
            raise wrapped.error from None
        except (ConnectionError, OSError) as error:
            raise provider_error("network", "the connection broke while reading the response",
                                 details=str(error), **_after_reply_started(sent)) from None
        if expected is not None and received < expected:
            raise provider_error("provider_error", "the response was cut off",
                                 details=f"received {received} of {expected} bytes", **_after_reply_started(sent))
        return body

    def _http_failure(self, status: int, headers: dict[str, str], body: bytearray) -> ProviderError:
        kind = classify_status(status)
        message = error_message_from_body(body)
        lowered = {k.lower(): v for k, v in headers.items()}
        is_html = "html" in lowered.get("content-type", "") or body.lstrip()[:1] == b"<"
        if message is None:
            message = "an HTML error page" if is_html else (snippet(body) or "no body")
        retry_after = retry_after_seconds(lowered.get("retry-after"))
        return provider_error(
            kind,
            f"HTTP {status}: {self._redact(message)}",
            details=self._redact(snippet(body)) if body else None,
            status=status,
            resend=status in RETRY_STATUSES,
            retry_after=round(retry_after, 3) if retry_after is not None else None,
            body=bytes(body),
        )

    def _timeout(self, sent: bool, what: str) -> ProviderError:
        # Once sent, the request reached the provider: it may be working on it (and billing it).
        return provider_error("timeout", f"timed out after {self.timeout:g}s: {what}", charge_unknown=sent,
                              resend=not sent,
                              details="raise --timeout, or try a faster model (nanobanana, flux.2-klein)")

    def _network(self, message: str, *, after_sending: bool = False) -> ProviderError:
        # Broken after the whole POST went out: sent again as before, but it may have been billed.
        return provider_error("network", self._redact(message), resend=True, charge_unknown=after_sending)

    @staticmethod
    def _host(url: str) -> str:

        return urlsplit(url).netloc

    def _redact(self, text: str) -> str:
        """``text`` with this client's keys and every key in the environment masked (``config.redact``)."""
        from ..config import redact

        for secret in self.secrets:
            text = text.replace(secret, "***")
        return redact(text)

    def _say(self, text: str) -> None:
        if self.verbose:
            from ..progress import note

            note(text)
