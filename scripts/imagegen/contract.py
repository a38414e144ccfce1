"""The stdout contract: the one JSON document a run prints, success or failure, and its version.

``cli.runner`` decides when a run ends; this module says what the document looks like (and how
any JSON the project writes is made safe: valid UTF-8, keys masked).
"""

from __future__ import annotations

import errno
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from .errors import ImageGenError, UsageError
from .reply_words import MAX_PROVIDER_MESSAGE

MAX_DETAILS = 500
# The version of the JSON documents the scripts print: raised when a field is removed or changes
# meaning (adding a field does not change it). Every document carries it as ``contract_version``.
CONTRACT_VERSION = 1


class RunContext:
    """What the error envelope needs to know about a run that may fail midway."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.fields: dict[str, Any] = {}

    def elapsed_ms(self) -> int:
        return int((time.monotonic() - self.started) * 1000)


def shorten(text: str | None, limit: int = MAX_DETAILS) -> str | None:
    if text is None:
        return None
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _redacted(text: str | None) -> str | None:
    from .config import redact  # before shortening: a key cut in half could not be recognised

    return None if text is None else redact(str(text))


def as_error(error: BaseException) -> ImageGenError:
    """Any exception as the typed error a user is shown: the one translation, used by the CLI
    runner, the MCP server and the queue worker alike. An OSError names its file and whether the
    path or the machine is at fault; anything unforeseen is ``internal`` (its traceback on stderr
    only with ``IMAGEGEN_DEBUG=1``)."""
    if isinstance(error, ImageGenError):
        from .error_kinds import is_error_kind  # a run that fails nothing never builds the enum

        return error if is_error_kind(error.kind) else _unlisted(error)
    if isinstance(error, KeyboardInterrupt):
        return _interrupted(error)
    if isinstance(error, OSError):
        return os_failure(error)
    if isinstance(error, RuntimeError) and "home directory" in str(error):
        # pathlib's expanduser on ~name for an unknown user (or without $HOME), which a shell leaves alone
        return UsageError("a path starts with ~ but that home directory is unknown",
                          details="write the path out in full (or set HOME)")
    from .config import debug_enabled

    if debug_enabled():
        import traceback

        traceback.print_exception(type(error), error, error.__traceback__)
    return ImageGenError("internal error: " + type(error).__name__, details=shorten(str(error)) or None,
                         kind="internal")


def _unlisted(error: ImageGenError) -> ImageGenError:
    """An error whose kind is not an ErrorKind (a defect: agents switch on the documented kinds) is
    shown as ``internal``, its message, exit code and document fields (``charge_unknown``...) kept."""
    unlisted = ImageGenError(error.message, kind="internal", retryable=error.retryable, extra=error.document_fields(),
                             details=shorten(f"undocumented error kind {error.kind!r}; {error.details or ''}"))
    unlisted.exit_code = error.exit_code
    return unlisted


def _interrupted(stop: KeyboardInterrupt) -> ImageGenError:
    """A run stopped by Ctrl-C or a stop signal (``cli.signals``); ``charge_unknown`` when a paid
    call was out (the paid-call path marks the exception: the call is in the ledger at its estimate)."""
    by = getattr(stop, "signal_name", None) or "SIGINT (Ctrl-C)"
    unknown = bool(getattr(stop, "charge_unknown", False))
    details = ("a paid request had gone out: it may be billed, and is in the spending ledger as charge_unknown "
               "at its estimate" if unknown else "nothing in flight was lost; run the command again")
    extra: dict[str, Any] = {"charge_unknown": True} if unknown else {}
    progress = getattr(stop, "loop_progress", None)  # a review loop's rounds so far (pipeline.review_loop)
    if isinstance(progress, dict) and progress.get("loop_file"):
        kept = progress.get("kept_paths") or []
        details += (f"; kept: {len(kept)} image(s) of {len(progress.get('rounds') or [])} reviewed round(s) "
                    f"({', '.join(str(p).rsplit('/', 1)[-1] for p in kept) or 'none'}) "
                    f"and the loop's record {progress['loop_file']}")
        details += ("; run the same command again to resume the loop from its record (rounds made are not paid "
                    "for again)" if progress.get("resumable") else "; the rounds are kept; a new run starts afresh")
        extra.update({k: progress.get(k) for k in ("rounds", "loop_file", "kept_paths", "cost_usd")})
    return ImageGenError(f"interrupted by {by}", kind="interrupted", details=details, extra=extra)


def error_document(error: BaseException, context: RunContext | None = None) -> dict[str, Any]:
    """The failure document for any exception (see :func:`as_error`)."""
    return error_envelope(as_error(error), context or RunContext())


def error_envelope(error: ImageGenError, context: RunContext) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "success": False,
        "contract_version": CONTRACT_VERSION,
        "error": error.message,
        "error_kind": error.kind,
        "retryable": error.retryable,
        "details": shorten(_redacted(error.details)),
    }
    doc.update(context.fields)
    doc.update(error.document_fields())
    if error.document_fields().get("provider_message"):
        doc["provider_message"] = provider_words(error)
    doc["generation_time_ms"] = context.elapsed_ms()
    return doc


def provider_words(error: ImageGenError) -> str | None:
    """The provider's own words in ``error``, keys masked, on one line, at most MAX_PROVIDER_MESSAGE
    characters: what an error document or a failed job shows as ``provider_message``."""
    words = error.document_fields().get("provider_message")
    if not words:
        return None
    # masked before shortening: a key cut in half could not be recognised
    return " ".join(str(_redacted(words)).split())[:MAX_PROVIDER_MESSAGE]


# What a byte that was not UTF-8 (a file name, an argument) becomes in a str. The pattern is compiled
# on first use (re caches it): most text holds none, which has_lone_surrogate tells at C speed.
LONE_SURROGATE = "[\ud800-\udfff]"


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate, which no UTF-8 writer or strict JSON reader takes."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def replace_lone_surrogates(text: str, replacement: str | Callable[[re.Match[str]], str]) -> str:
    """``text`` with each lone surrogate replaced (by a string, or by what ``replacement(match)`` returns)."""
    return re.sub(LONE_SURROGATE, replacement, text) if has_lone_surrogate(text) else text


def json_text(document: Any, indent: int | None = 2) -> str:
    """``document`` as JSON text that is always valid UTF-8, with any API key masked.

    Arguments and file names that are not UTF-8 reach Python as lone surrogates, which cannot be
    encoded; they are written as ``\\udcXX`` escapes, which JSON parsers read back.
    """
    import json  # not needed by --help or --version

    from .config import redact

    try:
        text = json.dumps(document, indent=indent, ensure_ascii=False, allow_nan=False)
    except ValueError as error:  # NaN or Infinity: Python would write them, no JSON parser reads them
        raise ImageGenError(f"a result held a number JSON cannot carry (NaN or Infinity): {error}",
                            details="this is a bug in image-gen or a reply it did not expect; report it with "
                                    "the command that was run", kind="internal") from None
    text = replace_lone_surrogates(text, lambda match: f"\\u{ord(match.group()):04x}")
    return redact(text)


def emit(document: dict[str, Any], indent: int | None = 2) -> bool:
    """Write the run's one JSON document to stdout (on one line with ``indent=None``, as logs want it).

    Output never fails a success: a success document holding a number JSON cannot carry has it
    written as null (with a warning); one that cannot be written at all (stdout closed, a broken
    pipe) is noted on stderr and the run keeps its exit code. A failure document that cannot be
    made into JSON is replaced by a bare one. False when nothing could be written."""
    try:
        text = json_text(document, indent=indent)
    except ImageGenError as error:
        if document.get("success") is not False:
            fixed = _finite(document)
            fixed["warnings"] = [*(fixed.get("warnings") or []),
                                 f"a value JSON cannot carry was written as null: {error}"]
            text = json_text(fixed, indent=indent)
        else:
            text = json_text({"success": False, "contract_version": CONTRACT_VERSION, "error": error.message,
                              "error_kind": error.kind, "retryable": False, "details": error.details,
                              "generation_time_ms": 0}, indent=indent)
    return write_stdout(text + "\n")


def _finite(value: Any) -> Any:
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def write_stdout(text: str) -> bool:
    """``text`` on stdout as UTF-8 bytes, whatever the locale says (``LANG=C``, ``PYTHONIOENCODING=latin-1``);
    False, with a note on stderr, when stdout is closed or gone. stdout is then pointed at /dev/null, so
    that the interpreter's own flush at exit prints no traceback either."""
    stream = sys.stdout
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "backslashreplace")
    try:
        if stream is None:
            raise OSError("stdout is closed")
        buffer = getattr(stream, "buffer", None)
        if buffer is None:
            stream.write(data.decode("utf-8", "replace"))
        else:
            stream.flush()
            buffer.write(data)
            buffer.flush()
        stream.flush()
        return True
    except (OSError, ValueError, AttributeError) as error:
        _drop_stdout(stream)
        from .progress import note

        note(f"could not write the result to stdout ({type(error).__name__}: {error}); the run itself ended as "
             "the exit code says")
        return False


def _drop_stdout(stream: Any) -> None:
    import os

    if stream is not None and stream is sys.__stdout__:  # (None: fd 1 was closed at start and may be a file now)
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.close(null)
        except OSError:
            pass
    try:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")
    except OSError:
        pass


# The path itself is wrong (too long, missing, a file where a folder should be): the caller can fix it.
PATH_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ELOOP})


def os_failure(error: OSError, *, fix_path: str = "check the paths given on the command line",
               fix_disk: str = "check free space and permissions, then run again") -> ImageGenError:
    """An unforeseen OSError as a typed error: a usage error (exit 2) when the path is at fault, else a
    runtime failure that is not retried (the same files fail the same way)."""
    where = shorten(str(error.filename), 200) if error.filename is not None else "a file"
    reason = error.strerror or str(error)
    if error.errno in PATH_ERRNOS:
        return UsageError(f"unusable path {where}: {reason}", details=fix_path)
    return ImageGenError(f"file system error on {where}: {reason}", details=fix_disk, kind="runtime",
                         retryable=False)
