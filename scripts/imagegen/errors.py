"""The one error hierarchy: every failure a user can meet is one of these.

Each error's ``kind`` is one of ``error_kinds.ErrorKind``, written as its plain value (a test holds
every kind the code names to that list). Library code raises; only the entry point
(``cli.runner.run_cli``) turns an error into the JSON document on stdout and the process exit code.
"""

from __future__ import annotations

from .reply_words import words_of

EXIT_OK = 0
EXIT_FAILURE = 1  # provider, network or runtime failure
EXIT_USAGE = 2  # bad input or configuration
EXIT_CLARIFY = 3  # --strict-clarify found the prompt underspecified
EXIT_EDIT_INTENT = 4  # the prompt asks for an edit but no baseline image was given
EXIT_BUDGET = 5  # refused by a spending limit


class ImageGenError(Exception):
    """Base class. ``kind`` is the stable ``error_kind`` agents switch on."""

    kind: str = "runtime"
    exit_code = EXIT_FAILURE
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        details: str | None = None,
        retryable: bool | None = None,
        kind: str | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        if retryable is not None:
            self.retryable = retryable
        if kind is not None:
            self.kind = kind
        self.extra = dict(extra or {})

    def document_fields(self) -> dict:
        """What this error adds to the error document beyond message, kind, retryable and details."""
        return dict(self.extra)


class UsageError(ImageGenError):
    """Bad flags, bad files, bad presets: fix the input and run again."""

    kind = "usage"
    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """Missing key, malformed base URL and other environment problems."""

    kind = "config"


class OutputExistsError(UsageError):
    kind = "output_exists"


class ClarifyError(ImageGenError):
    kind = "clarify"
    exit_code = EXIT_CLARIFY


class EditIntentError(ImageGenError):
    kind = "edit_intent_without_baseline"
    exit_code = EXIT_EDIT_INTENT


class BudgetError(ImageGenError):
    kind = "budget"
    exit_code = EXIT_BUDGET


class ProviderError(ImageGenError):
    """A remote API failed. ``kind`` is one of the provider error kinds below.

    Control data is kept as attributes: ``resend`` (the HTTP layer may send the same request again:
    it never reached the provider, or a retryable status came back), ``charge_unknown`` (the
    provider received the request and may have billed it) and ``retry_after`` (seconds it asked
    us to wait). The last two also appear in the error document.
    """

    kind = "provider_error"
    retryable = True

    def __init__(self, message: str, *, status: int | None = None, resend: bool = False,
                 charge_unknown: bool = False, retry_after: float | None = None, body: bytes | None = None,
                 provider_message: str | None = None, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.status = status
        self.body = body  # the failed reply's body, for the endpoint module to read (never printed)
        self.refined_from: ProviderError | None = None  # the HTTP layer's error this one was read from
        self.resend = resend
        self.charge_unknown = charge_unknown
        self.retry_after = retry_after
        # The provider's own words (its error message, an HTML page's title), apart from the fix in details.
        self.provider_message = provider_message if provider_message is not None else words_of(body)

    def document_fields(self) -> dict:
        fields = super().document_fields()
        if self.provider_message:  # as the provider wrote it: the contract masks keys, then shortens it
            fields["provider_message"] = self.provider_message
        if self.status is not None:
            fields["http_status"] = self.status
        if self.charge_unknown:
            fields["charge_unknown"] = True
        if self.retry_after is not None:
            fields["retry_after_sec"] = self.retry_after
        return fields


class OutputError(ImageGenError):
    """The image arrived but could not be written (read-only or full disk, ...)."""

    kind = "output"


# error_kind -> retryable, for the kinds a remote call can end in.
PROVIDER_KINDS: dict[str, bool] = {
    "auth": False,
    "credits": False,
    "moderation": False,
    "no_endpoint": False,
    "bad_request": False,
    "rate_limited": True,
    "timeout": True,
    "network": True,
    "provider_error": True,
    "no_image": True,
    "refusal": False,
    "model_unavailable": False,
}


# error_kind -> what to do, the details of a provider failure that says nothing more specific.
PROVIDER_FIXES: dict[str, str] = {
    "auth": "the provider refused the key: check that it is set and valid (preflight_check.py --online tests "
            "the OpenRouter key)",
    "credits": "add credits to the provider account (OpenRouter: https://openrouter.ai/settings/credits), "
               "then run again",
    "moderation": "the provider's content policy blocked this request; rephrase the prompt (retrying will not help)",
    "refusal": "the model refused the request; rephrase it or choose another model",
    "model_unavailable": "choose another model: models.py --refresh lists the ones served today",
    "no_endpoint": "no provider serves this model with these settings: choose another model, ratio or size "
                   "(models.py --table)",
    "bad_request": "the provider refused the request as sent (provider_message says what it objects to): "
                   "change that flag or input and run again",
    "rate_limited": "wait and run again (retry_after_sec says how long, when the provider said), "
                    "or choose another model",
    "timeout": "raise --timeout, or try a faster model (nanobanana, flux.2-klein)",
    "network": "check the network connection and the *_BASE_URL variables, then run again",
    "provider_error": "the provider failed on its side: run again later, or choose another model",
    "no_image": "run again once, or choose another model",
}


def provider_error(kind: str, message: str, **kwargs) -> ProviderError:
    """Build a ProviderError of ``kind`` with that kind's default retryability, and details that say
    what to do. A failed reply's ``body`` comes with the HTTP layer's snippet of it as ``details``:
    those are the provider's words, so they make way for the fix (the words reach the document as
    ``provider_message``)."""
    kwargs.setdefault("retryable", PROVIDER_KINDS.get(kind, False))
    if kwargs.get("body") is not None:
        kwargs.pop("details", None)
    if not kwargs.get("details"):
        kwargs["details"] = PROVIDER_FIXES.get(kind)
    return ProviderError(message, kind=kind, **kwargs)
