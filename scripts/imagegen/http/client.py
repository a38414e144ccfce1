"""The one HTTP client: urllib, timeouts, retries with back-off, and typed errors.

Every remote failure leaves this module as a ProviderError whose ``kind`` an agent can act on.
Request headers (which carry API keys) are never logged, returned or put into a message.
"""

from __future__ import annotations

import email.utils
import json
import random
import socket
import sys
import time
import urllib.error
import urllib.request
from http.client import HTTPException
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

from .. import __version__
from ..errors import ProviderError, provider_error

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 524, 529})
STATUS_KINDS = {
    400: "bad_request",
    401: "auth",
    402: "credits",
    403: "moderation",
    404: "no_endpoint",
    408: "timeout",
    413: "bad_request",
    422: "bad_request",
    429: "rate_limited",
}
MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 60.0
MAX_BODY_BYTES = 256 * 1024 * 1024
CHUNK = 256 * 1024
USER_AGENT = f"image-gen/{__version__} (+python-urllib)"


def _limit_wait(handle: Any, seconds: float) -> None:
    """Let the next read wait no longer than the time left, so --timeout bounds the whole reply."""
    sock = getattr(getattr(getattr(handle, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        try:
            sock.settimeout(max(0.05, seconds))
        except OSError:
            pass


def _after_reply_started(sent: bool) -> dict[str, bool]:
    """A reply that breaks off after a POST was answered: the provider did the work and may have
    billed it, so sending again could pay twice. Only a GET is sent again."""
    return {"charge_unknown": True} if sent else {"resend": True}


class _SinkError(Exception):
    """A local write failed while the body streamed in: not a network failure."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class RateGate:
    """A back-off shared by threads: after a 429 nobody sends until the gate reopens."""

    def __init__(self) -> None:
        import threading  # only the queue's threads share a gate

        self._lock = threading.Lock()
        self._open_at = 0.0

    def defer(self, seconds: float) -> None:
        with self._lock:
            self._open_at = max(self._open_at, time.monotonic() + seconds)

    def wait(self) -> None:
        while True:
            with self._lock:
                delay = self._open_at - time.monotonic()
            if delay <= 0:
                return
            time.sleep(min(delay, 1.0))


class Response:
    __slots__ = ("status", "headers", "body", "url", "inline")

    def __init__(self, status: int, headers: dict[str, str], body: bytearray, url: str,
                 inline: dict[str, Any] | None = None) -> None:
        self.status, self.headers, self.body, self.url = status, headers, body, url
        self.inline = inline  # placeholder -> InlineImage, when images were streamed out

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as error:
            raise provider_error(
                "provider_error",
                "the provider sent a response that is not valid JSON",
                details=_snippet(self.body) + f" ({error})",
                status=self.status,
            ) from None


class Request(NamedTuple):
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | list[bytes] | None = None
    length: int | None = None


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse Retry-After given as delta-seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _snippet(body: bytes | bytearray, limit: int = 300) -> str:
    from ..config import redact

    # Mask keys before cutting: a key cut in half could no longer be recognised.
    text = redact(bytes(body[:65536]).decode("utf-8", "replace"))
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def error_message_from_body(body: bytes | bytearray) -> str | None:
    """The human message inside an OpenRouter, OpenAI or Anthropic error body, if any."""
    if len(body) > 1024 * 1024:
        return None
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict):
        message = error.get("message") or error.get("type") or error.get("code")
        reasons = (error.get("metadata") or {}).get("reasons") if isinstance(error.get("metadata"), dict) else None
        if reasons:
            message = f"{message} (reasons: {', '.join(map(str, reasons))})"
        return str(message) if message else None
    if isinstance(error, str):
        return error
    return None


def classify_status(status: int) -> str:
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    if status >= 500:
        return "provider_error"
    return "bad_request" if 400 <= status < 500 else "provider_error"


class HttpClient:
    """Sends requests with retries. One instance per run; safe to share between threads."""

    def __init__(
        self,
        *,
        timeout: float = 180.0,
        retries: int = 2,
        gate: RateGate | None = None,
        secrets: Iterable[str] = (),
        verbose: bool = True,
    ) -> None:
        self.timeout = timeout
        self.retries = max(0, retries)
        self.gate = gate
        self.secrets = [s for s in secrets if s]
        self.verbose = verbose

    # -- public helpers -------------------------------------------------------------------
    def post_json(self, url: str, payload: Any, headers: dict[str, str], *,
                  spool_dir: Path | None = None) -> Response:
        """POST JSON. With ``spool_dir``, base64 images in the reply are decoded into unnamed temp
        files there while it streams in (see inline.py): memory stays flat whatever the image size."""
        body = json.dumps(payload).encode("utf-8")
        request = Request("POST", url, {**headers, "Content-Type": "application/json"}, body)
        return self.send(request, spool_dir=spool_dir)

    def get(self, url: str, headers: dict[str, str] | None = None, max_bytes: int = MAX_BODY_BYTES) -> Response:
        return self.send(Request("GET", url, dict(headers or {})), max_bytes=max_bytes)

    def post_multipart(self, url: str, content_type: str, chunks: list[bytes], length: int,
                       headers: dict[str, str], *, spool_dir: Path | None = None) -> Response:
        request = Request("POST", url, {**headers, "Content-Type": content_type}, chunks, length)
        return self.send(request, spool_dir=spool_dir)

    # -- the loop ------------------------------------------------------------------------
    def send(self, request: Request, max_bytes: int = MAX_BODY_BYTES, spool_dir: Path | None = None) -> Response:
        attempt = 0
        while True:
            if self.gate is not None:
                self.gate.wait()
            try:
                response = self._once(request, max_bytes, spool_dir)
            except ProviderError as error:
                delay = self._retry_delay(error, attempt)
                if delay is None:
                    raise
                attempt += 1
                self._say(f"{error.message}; retry {attempt}/{self.retries} in {delay:.1f}s")
                time.sleep(delay)
                continue
            return response

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

    def _once(self, request: Request, max_bytes: int, spool_dir: Path | None = None) -> Response:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **request.headers}
        if request.length is not None:
            headers["Content-Length"] = str(request.length)
        raw = urllib.request.Request(request.url, data=request.body, method=request.method, headers=headers)
        sent = request.method == "POST"
        deadline = time.monotonic() + self.timeout
        try:
            with urllib.request.urlopen(raw, timeout=self.timeout) as handle:
                if spool_dir is None:
                    body = self._read(handle, deadline, max_bytes, sent)
                    return Response(handle.status, dict(handle.headers.items()), body, request.url)
                skeleton, images = self._read_split(handle, deadline, max_bytes, sent, spool_dir)
                return Response(handle.status, dict(handle.headers.items()), skeleton, request.url, images)
        except urllib.error.HTTPError as http_error:
            try:
                body = self._read(http_error, deadline, 1024 * 1024, sent)
            except ProviderError:
                body = bytearray()
            raise self._http_failure(http_error.code, dict(http_error.headers.items()), body) from None
        except ProviderError:
            raise
        except (TimeoutError, socket.timeout):
            raise self._timeout(sent, "no response") from None
        except urllib.error.URLError as error:
            reason = error.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise self._timeout(False, "could not connect") from None
            raise self._network(f"cannot reach {self._host(request.url)}: {reason}") from None
        except (ConnectionError, HTTPException, OSError) as error:
            failure = f"{type(error).__name__} {error}"
            raise self._network(f"connection to {self._host(request.url)} failed: {failure}") from None

    def _read_split(self, handle: Any, deadline: float, max_bytes: int, sent: bool,
                    spool_dir: Path) -> tuple[bytearray, dict[str, Any]]:
        import tempfile

        from ..errors import OutputError
        from .b64stream import Splitter

        splitter = Splitter(lambda: tempfile.TemporaryFile(dir=spool_dir, prefix=".imagegen-"))
        try:
            self._read(handle, deadline, max_bytes, sent, sink=splitter.feed)
            skeleton, images = splitter.finish()
        except OSError as error:  # the spool's disk, not the network: reads are wrapped in _read
            splitter.discard()
            raise OutputError(f"could not hold the image in {spool_dir}: {error.strerror or error}",
                              details="free some space or choose another output directory") from None
        except BaseException:
            splitter.discard()
            raise
        return bytearray(skeleton), images

    def _read(self, handle: Any, deadline: float, max_bytes: int, sent: bool,
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
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._timeout(sent, "the response did not finish in time")
                _limit_wait(handle, remaining)
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
        except (TimeoutError, socket.timeout):
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
            message = "an HTML error page" if is_html else (_snippet(body) or "no body")
        retry_after = retry_after_seconds(lowered.get("retry-after"))
        return provider_error(
            kind,
            f"HTTP {status}: {self._redact(message)}",
            details=self._redact(_snippet(body)) if body else None,
            status=status,
            resend=status in RETRY_STATUSES,
            retry_after=round(retry_after, 3) if retry_after is not None else None,
            body=bytes(body),
        )

    def _timeout(self, sent: bool, what: str) -> ProviderError:
        # Once sent, the request reached the provider: it may be working on it (and billing it).
        return provider_error("timeout", f"timed out after {self.timeout:g}s: {what}", charge_unknown=sent,
                              resend=not sent, details="raise --timeout, or try a faster model (nanobanana, flux.2-klein)")

    def _network(self, message: str) -> ProviderError:
        return provider_error("network", self._redact(message), resend=True)

    @staticmethod
    def _host(url: str) -> str:
        from urllib.parse import urlsplit

        return urlsplit(url).netloc

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def _say(self, text: str) -> None:
        if self.verbose:
            print(f"image-gen: {text}", file=sys.stderr, flush=True)
