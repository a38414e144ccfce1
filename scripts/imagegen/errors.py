"""The one error hierarchy: every failure a user can meet is one of these.

Library code raises; only the entry point (``cli.runner.run_cli``) turns an error into the
JSON document on stdout and the process exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # provider, network or runtime failure
EXIT_USAGE = 2  # bad input or configuration
EXIT_CLARIFY = 3  # --strict-clarify found the prompt underspecified
EXIT_EDIT_INTENT = 4  # the prompt asks for an edit but no baseline image was given
EXIT_BUDGET = 5  # refused by a spending limit


class ImageGenError(Exception):
    """Base class. ``kind`` is the stable ``error_kind`` agents switch on."""

    kind = "runtime"
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
                 **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.status = status
        self.body = body  # the failed reply's body, for the endpoint module to read (never printed)
        self.refined_from: ProviderError | None = None  # the HTTP layer's error this one was read from
        self.resend = resend
        self.charge_unknown = charge_unknown
        self.retry_after = retry_after

    def document_fields(self) -> dict:
        fields = super().document_fields()
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


def provider_error(kind: str, message: str, **kwargs) -> ProviderError:
    """Build a ProviderError of ``kind`` with that kind's default retryability."""
    kwargs.setdefault("retryable", PROVIDER_KINDS.get(kind, False))
    return ProviderError(message, kind=kind, **kwargs)
