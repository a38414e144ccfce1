"""Provider errors as the providers define them: OpenRouter's ``error.metadata.error_type`` and
``error.availability``, OpenAI's ``error.code``, Anthropic's ``error.type``, Google's
``error.status`` (a ``google.rpc.Code`` name) and ``error.details``.

The HTTP layer classifies a failed status by its number (and decides whether to send again); an
endpoint module then hands the error here with the body, and gets back the kind its provider
meant: a policy block is ``moderation`` and a refusal ``refusal`` (never retried), a model that is
gone is ``model_unavailable`` with the live alternatives as the fix, and the upstream reason
(``metadata.raw``) reaches the JSON document.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import PROVIDER_FIXES, PROVIDER_KINDS, ProviderError, provider_error
from ..jsonshape import dict_at

# OpenRouter metadata.error_type -> our error_kind (https://openrouter.ai/docs, "Errors").
OPENROUTER_TYPES = {
    "authentication": "auth", "permission_denied": "auth", "payment_required": "credits",
    "rate_limit_exceeded": "rate_limited", "provider_overloaded": "provider_error",
    "provider_unavailable": "provider_error", "server": "provider_error", "timeout": "timeout",
    "unmapped": "provider_error", "content_policy_violation": "moderation", "refusal": "refusal",
    "not_found": "no_endpoint", "image_not_found": "bad_request",
    **{name: "bad_request" for name in (
        "invalid_request", "invalid_prompt", "context_length_exceeded", "string_too_long", "payload_too_large",
        "unprocessable", "invalid_image", "image_too_large", "image_too_small", "unsupported_image_format",
        "image_download_failed")},
}
# error.availability.code values that mean "this model cannot be used here": pick another.
MODEL_GONE = frozenset({"model_not_found", "wrong_endpoint", "no_endpoints", "region_restricted",
                        "constraint_filtered"})
OPENAI_CODES = {"moderation_blocked": "moderation", "model_not_found": "model_unavailable",
                "invalid_api_key": "auth", "insufficient_quota": "credits", "billing_hard_limit_reached": "credits",
                "rate_limit_exceeded": "rate_limited"}
ANTHROPIC_TYPES = {"authentication_error": "auth", "permission_error": "auth", "not_found_error": "model_unavailable",
                   "rate_limit_error": "rate_limited", "overloaded_error": "provider_error",
                   "invalid_request_error": "bad_request", "request_too_large": "bad_request",
                   "billing_error": "credits"}
# Google's error.status (google.rpc.Code names, https://ai.google.dev/gemini-api/docs/troubleshooting).
GOOGLE_STATUSES = {"INVALID_ARGUMENT": "bad_request", "FAILED_PRECONDITION": "bad_request",
                   "OUT_OF_RANGE": "bad_request", "UNAUTHENTICATED": "auth", "PERMISSION_DENIED": "auth",
                   "NOT_FOUND": "model_unavailable", "RESOURCE_EXHAUSTED": "rate_limited",
                   "INTERNAL": "provider_error", "UNAVAILABLE": "provider_error", "UNKNOWN": "provider_error",
                   "DEADLINE_EXCEEDED": "timeout", "CANCELLED": "provider_error", "ABORTED": "provider_error"}
GOOGLE_REASONS = {"API_KEY_INVALID": "auth", "API_KEY_SERVICE_BLOCKED": "auth", "SERVICE_DISABLED": "auth",
                  "BILLING_DISABLED": "credits", "CONSUMER_SUSPENDED": "auth"}
# OpenRouter's words for a model id it does not serve (no error_type comes with them): HTTP 400
# "<id> is not a valid model ID" and HTTP 404 "No endpoints found for <id>." (replies recorded from
# the service; see tests/fake_api.py). "No endpoints found that support ..." is about the settings.
MODEL_GONE_WORDS = re.compile(r"\bis not a valid model ID\b|^No endpoints found for (?!that )", re.IGNORECASE)
NEVER_RETRIED = frozenset({"moderation", "refusal", "model_unavailable", "auth", "credits", "bad_request"})
# The fixes that hold whatever else an error says (fallback models come first).
HINTS = {kind: PROVIDER_FIXES[kind] for kind in ("moderation", "refusal", "model_unavailable")}


def error_object(body: bytes | None) -> dict[str, Any] | None:
    """The ``error`` object of an error body, or None when there is none."""
    if not body:
        return None
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, dict) else None


def _text(value: Any, limit: int = 500) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text[:limit] or None


def openrouter(error: dict[str, Any], status: int | None, *, base: ProviderError | None = None,
               prefix: str = "the provider reported an error: ") -> ProviderError:
    """An OpenRouter ``error`` object (in a failed status or inside an HTTP 200) as a typed error.
    Inside a 200, ``error.code`` is the status the failure would have had."""
    metadata = dict_at(error, "metadata")
    availability = dict_at(error, "availability")
    error_type = metadata.get("error_type")
    kind = OPENROUTER_TYPES.get(error_type) if isinstance(error_type, str) else None
    if availability.get("code") in MODEL_GONE:
        kind = "model_unavailable"
    code = error.get("code")
    if kind is None and base is None and isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 500:
        from ..http.statuses import RETRY_STATUSES, classify_status

        kind, default_retry = classify_status(code), code in RETRY_STATUSES
    else:
        kind = kind or (base.kind if base is not None else "provider_error")
        default_retry = base.retryable if base else PROVIDER_KINDS.get(kind, True)
    if isinstance(error.get("message"), str) and MODEL_GONE_WORDS.search(error["message"]):
        kind = "model_unavailable"
    retryable = availability.get("retryable")
    if not isinstance(retryable, bool):
        retryable = False if kind in NEVER_RETRIED else default_retry
    fallbacks = [m for m in availability.get("fallback_models") or [] if isinstance(m, str)][:8]
    raw = _text(metadata.get("raw")) or _text(metadata.get("reasons"))
    message = _text(error.get("message"), 300) or (f"code {code}" if code is not None else "no reason given")
    extra = {k: v for k, v in (("error_type", error_type), ("provider_name", metadata.get("provider_name")),
                               ("upstream_reason", raw), ("availability", availability.get("code")),
                               ("fallback_models", fallbacks or None)) if v is not None}
    details = "; ".join(part for part in (
        fallbacks and "try: " + ", ".join(fallbacks),
        HINTS.get(kind),
    ) if part) or None
    words = message + (f" (upstream: {raw})" if raw else "")
    retry_after = availability.get("retry_after")
    if not isinstance(retry_after, (int, float)) or isinstance(retry_after, bool):
        retry_after = None
    return _rebuilt(kind, prefix + message, status, retryable, details, extra, base, retry_after, words)


def openai(error: dict[str, Any], status: int | None, *, base: ProviderError | None = None) -> ProviderError:
    code = error.get("code") if isinstance(error.get("code"), str) else None
    kind = OPENAI_CODES.get(code or "") or (base.kind if base else "provider_error")
    message = _text(error.get("message"), 300) or "OpenAI reported an error"
    extra = {k: v for k, v in (("error_code", code), ("error_type", error.get("type")),
                               ("param", error.get("param"))) if v is not None}
    if isinstance(error.get("moderation_details"), (dict, list, str)):
        extra["upstream_reason"] = _text(error["moderation_details"])
    details = HINTS.get(kind)
    retryable = False if kind in NEVER_RETRIED else (base.retryable if base else PROVIDER_KINDS.get(kind, True))
    return _rebuilt(kind, f"HTTP {status}: {message}" if status else message, status, retryable, details, extra,
                    base, words=message)


def anthropic(error: dict[str, Any], status: int | None, *, base: ProviderError | None = None) -> ProviderError:
    error_type = error.get("type") if isinstance(error.get("type"), str) else None
    kind = ANTHROPIC_TYPES.get(error_type or "") or (base.kind if base else "provider_error")
    message = _text(error.get("message"), 300) or "Anthropic reported an error"
    retryable = False if kind in NEVER_RETRIED else (base.retryable if base else PROVIDER_KINDS.get(kind, True))
    return _rebuilt(kind, f"HTTP {status}: {message}" if status else message, status, retryable,
                    HINTS.get(kind), {"error_type": error_type} if error_type else {}, base, words=message)


def google(error: dict[str, Any], status: int | None, *, base: ProviderError | None = None) -> ProviderError:
    """A Gemini API ``error`` object: ``{"code", "message", "status", "details": [...]}``.

    ``details`` may hold an ErrorInfo (``reason`` API_KEY_INVALID: a bad key, sent as 400) and a
    RetryInfo (``retryDelay`` "37s"). A 429 whose quota ``limit: 0`` is no rate limit: the key's
    project has no quota for the model at all (the free tier has none for image models)."""
    code = error.get("status") if isinstance(error.get("status"), str) else None
    details = [d for d in error.get("details") or [] if isinstance(d, dict)] if isinstance(
        error.get("details"), list) else []
    reasons = [d.get("reason") for d in details if isinstance(d.get("reason"), str)]
    kind = next((GOOGLE_REASONS[r] for r in reasons if r in GOOGLE_REASONS), None) or GOOGLE_STATUSES.get(code or "")
    kind = kind or (base.kind if base else "provider_error")
    message = _text(error.get("message"), 300) or "Google reported an error"
    fix = HINTS.get(kind)
    quotas = [str(v.get("quotaId")) for d in details for v in d.get("violations") or [] if isinstance(v, dict)]
    daily = kind == "rate_limited" and any("PerDay" in quota for quota in quotas)
    if kind == "rate_limited" and "limit: 0" in message:
        kind, fix = "credits", ("this key's Google project has no quota for the model (the free tier has none for "
                                "image models): enable billing in Google AI Studio, or use --provider openrouter")
    elif daily:
        fix = "the key's daily quota for this model is used up (it resets at midnight Pacific time): wait, " \
              "raise the quota in Google AI Studio, or use --provider openrouter"
    elif code == "FAILED_PRECONDITION":
        fix = "the Gemini API refuses this key here (free tier not offered in this region?): enable billing, or " \
              "use --provider openrouter"
    retry_after = None
    for detail in details:
        delay = detail.get("retryDelay")
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                retry_after = max(0.0, min(float(delay[:-1]), 3600.0))
            except ValueError:
                pass
    extra = {k: v for k, v in (("error_status", code), ("error_reason", reasons[0] if reasons else None)) if v}
    retryable = False if kind in NEVER_RETRIED or daily else (
        base.retryable if base else PROVIDER_KINDS.get(kind, True))
    return _rebuilt(kind, f"HTTP {status}: {message}" if status else message, status, retryable, fix, extra, base,
                    retry_after, words=message)


def _rebuilt(kind: str, message: str, status: int | None, retryable: bool, details: str | None,
             extra: dict[str, Any], base: ProviderError | None, retry_after: float | None = None,
             words: str | None = None) -> ProviderError:
    """The typed error; ``details`` says what to do (the kind's fix when None), ``words`` are the provider's."""
    if base is not None:  # the HTTP layer's message already names the status and is masked
        message = base.message
        retry_after = retry_after if retry_after is not None else base.retry_after
        extra = {**base.extra, **extra}
    return provider_error(kind, message, status=status, retryable=retryable, details=details, extra=extra,
                          charge_unknown=bool(base and base.charge_unknown), retry_after=retry_after,
                          provider_message=words or (base.provider_message if base else None))


def refine(error: ProviderError, reader: Any) -> ProviderError:
    """``error`` (a failed status from the HTTP layer) re-read by ``reader`` (openrouter, openai,
    anthropic or google) from the body it kept; unchanged when the body holds no error object."""
    found = error_object(error.body)
    return reader(found, error.status, base=error) if found is not None else error


def refine_attempt(error: ProviderError, reader: Any) -> ProviderError:
    """:func:`refine`, written back to the HTTP layer's own error: that layer decides whether to send
    again from the status alone (a 429 is resent), and ``paid_call`` reads each failed attempt
    through here before it decides. An error the provider's words make final (no quota, a policy
    block) is not resent; a wait the body names is the wait before the next attempt."""
    refined = refine(error, reader)
    if refined is not error:
        if not refined.retryable:
            error.resend = False
        elif error.retry_after is None and refined.retry_after is not None:
            error.retry_after = refined.retry_after
    return refined
