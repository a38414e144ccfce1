"""What a provider's failed reply says in words: the message inside a JSON error body, an HTML
page's title, else the start of its text. Imports nothing of the package: the error hierarchy
(``errors``) and the HTTP layer both read replies through it."""

from __future__ import annotations

import json
import re

MAX_PROVIDER_MESSAGE = 300  # the length of ``provider_message`` in an error document


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


def words_of(body: bytes | None) -> str | None:
    """What a failed reply says in words: the error message of a JSON error body, an HTML page's
    title, else the start of its text; never the raw JSON."""
    if not body:
        return None
    text = bytes(body[:65536]).decode("utf-8", "replace").strip()
    if text.startswith(("{", "[")):
        return error_message_from_body(body)
    if text[:1] == "<":
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return ("an HTML page: " + " ".join(title[1].split())) if title and title[1].strip() else "an HTML page"
    return text[:MAX_PROVIDER_MESSAGE * 2] or None
