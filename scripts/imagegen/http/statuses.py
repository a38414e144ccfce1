"""What a failed HTTP status means before a provider's own words are read: its error kind, whether to
send again, and a Retry-After (the provider's own words are read by ``reply_words``)."""

from __future__ import annotations

import email.utils
import time

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


def snippet(body: bytes | bytearray, limit: int = 300) -> str:
    from ..config import redact

    # Mask keys before cutting: a key cut in half could no longer be recognised.
    text = redact(bytes(body[:65536]).decode("utf-8", "replace"))
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def classify_status(status: int) -> str:
    if status in STATUS_KINDS:
        return STATUS_KINDS[status]
    if status >= 500:
        return "provider_error"
    return "bad_request" if 400 <= status < 500 else "provider_error"
