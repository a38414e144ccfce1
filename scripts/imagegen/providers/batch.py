"""What the two batch engines (``gemini_batch``, ``openai_batch``) share: a batch's state in our
words, one result line, and the reading of the JSON Lines files both return results in.

A batch engine takes many requests at once, at half the price, and answers within a day. Each
request carries our key (the job id), so results are matched to jobs by key, never by order
alone. The batch itself carries our record's name (Gemini's ``displayName``, OpenAI's
``metadata``), so a batch whose submission was cut off before we recorded its id is found again
instead of being submitted twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..record import Record

if TYPE_CHECKING:
    from ..errors import ProviderError
    from .replies import ProviderReply

RUNNING, SUCCEEDED, FAILED, EXPIRED, CANCELLED, CANCELLING = (
    "running", "succeeded", "failed", "expired", "cancelled", "cancelling")
TERMINAL = frozenset({SUCCEEDED, FAILED, EXPIRED, CANCELLED})
MAX_LIST_PAGES = 20  # how far back a lost batch is looked for (100 batches a page)
# A batch's results hold every image it made; they are spooled to disk as they stream in, so the
# bound is the disk's, not memory's (a single call's reply keeps the client's smaller limit).
MAX_RESULTS_BYTES = 64 * 1024 ** 3
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # a batch's state without its results


class BatchStatus(Record):
    """A batch as its provider reports it: its id, our state word, the provider's own, the counts."""

    id: str
    state: str
    provider_state: str
    total: int | None = None
    succeeded: int | None = None
    failed: int | None = None
    error: str | None = None  # why the whole batch failed, in the provider's words
    document: dict[str, Any] = {}

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL

    def progress(self) -> dict[str, Any]:
        return {"batch_state": self.state, "provider_state": self.provider_state, "requests": self.total,
                "succeeded": self.succeeded, "failed": self.failed,
                **({"batch_error": self.error} if self.error else {})}


class BatchLine(Record):
    """One request's outcome: a reply with its images, or the error it ended in."""

    key: str
    reply: ProviderReply | None = None
    error: ProviderError | None = None


def count(value: Any) -> int | None:
    """A counter, which int64 fields carry as JSON strings (``"requestCount": "2"``)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


def json_lines(skeleton: bytes) -> Iterator[dict[str, Any]]:
    """Each object of a JSON Lines body whose images were spooled out (unreadable lines skipped)."""
    for raw in bytes(skeleton).splitlines():
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except (ValueError, RecursionError):
            continue
        if isinstance(line, dict):
            yield line


def encode_lines(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line, separators=(",", ":")).encode("utf-8") + b"\n" for line in lines)
