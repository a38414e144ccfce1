"""ErrorKind: every ``error_kind`` a document, a job record or a ledger line can carry.

These are the values agents switch on, and ``references/contract.md`` documents each one (a test
holds both the code and the contract to this list). The code names a kind by its plain value
(``kind = "budget"``), so that a run that fails nothing never builds this enum; ``contract.as_error``
consults it for every error a user is shown, and reports an unlisted kind as ``internal``.
"""

from __future__ import annotations

from enum import Enum


class ErrorKind(str, Enum):
    """Every ``error_kind`` a document, a job record or a ledger line can carry: the values agents
    switch on. ``references/contract.md`` documents each one (a test holds it to that)."""

    # provider and network failures (exit 1)
    AUTH = "auth"
    CREDITS = "credits"
    MODERATION = "moderation"
    REFUSAL = "refusal"
    MODEL_UNAVAILABLE = "model_unavailable"
    NO_ENDPOINT = "no_endpoint"
    BAD_REQUEST = "bad_request"
    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    NETWORK = "network"
    PROVIDER_ERROR = "provider_error"
    NO_IMAGE = "no_image"
    BAD_REVIEW_REPLY = "bad_review_reply"
    # the machine (exit 1)
    OUTPUT = "output"
    RUNTIME = "runtime"
    INTERNAL = "internal"
    BUSY = "busy"
    # bad input or configuration (exit 2)
    USAGE = "usage"
    CONFIG = "config"
    MISSING_KEY = "missing_key"
    UNKNOWN_MODEL = "unknown_model"
    UNSUPPORTED = "unsupported"
    PRESET = "preset"
    OUTPUT_EXISTS = "output_exists"
    OUTPUT_DIR = "output_dir"
    MASK = "mask"
    TOO_LARGE = "too_large"
    UPLOAD_CONSENT_REQUIRED = "upload_consent_required"
    BASELINE_FILE = "baseline_file"
    BASELINE_URL = "baseline_url"
    QUEUE_DIR = "queue_dir"
    EXPIRED = "expired"
    # the prompt (exits 3 and 4), spending (exit 5), interruption (exit 130)
    CLARIFY = "clarify"
    EDIT_INTENT_WITHOUT_BASELINE = "edit_intent_without_baseline"
    BUDGET = "budget"
    INTERRUPTED = "interrupted"
    # queue jobs only
    WORKER_LOST = "worker_lost"
    CORRUPT_JOB = "corrupt_job"
    OUTSIDE_ROOTS = "outside_roots"
    CANCELLED = "cancelled"
    BATCH_FAILED = "batch_failed"
    BATCH_EXPIRED = "batch_expired"
    BATCH = "batch"  # a batch job's history only: sent back to pending/ for another submission

    # Written into JSON and messages as the bare value.
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


def is_error_kind(value: str) -> bool:
    """Whether ``value`` is a documented error kind."""
    try:
        ErrorKind(value)
    except ValueError:
        return False
    return True
