"""The value checks that flags and stored requests share, so a job file is held to the flags' rules.

Each check takes a value as a command line or a JSON document gives it (text, or a JSON number,
boolean or list) and returns it in the type the core uses, or raises ``ValueError`` with a message
that names the bad value and what would be accepted. ``cli.flags`` turns these into argparse types;
``requests`` runs them on every field of a request read from JSON. Each also says, as JSON Schema,
what it accepts (:func:`schema_of`), so the MCP server's tool schemas follow the same rules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], Any]


def described(schema: dict[str, Any] | Callable[[], dict[str, Any]]) -> Callable[[Check], Check]:
    """Record on a check the JSON Schema of what it accepts (a function giving it, where the vocabulary
    lives in a module a parser should not load): the MCP server's tool schemas are read from it."""
    def mark(check: Check) -> Check:
        check.schema = schema  # type: ignore[attr-defined]
        return check
    return mark


def schema_of(check: Check) -> dict[str, Any]:
    """The JSON Schema of the values ``check`` accepts, as far as it says ({} when it does not)."""
    schema = getattr(check, "schema", None)
    return dict(schema() if callable(schema) else schema or {})


IMAGE_SIZE_NAMES = {"low": "1K", "medium": "2K", "high": "4K"}
MAX_TEXT = 100_000  # a prompt or message longer than this is not a prompt
MAX_LABEL = 200
MAX_COUNT = 10
# Bounds of the queue's numbers: beyond them a value is a typo or an attack, never a plan.
MAX_WORKERS = 64  # worker slots (--max-background-workers)
MAX_VARIANTS = 1000  # variants one enqueue may queue (--count of the queue scripts)
MAX_VARIANT_INDEX = 9999  # --variant-index, --start-index
MAX_ATTEMPTS = 100
MAX_RETRIES = 10


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise ValueError(f"not {what}: {value!r}")


def _whole(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"not a whole number: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValueError(f"not a whole number: {value!r}")


@described({"type": "string", "maxLength": MAX_TEXT})
def text(value: Any) -> str:
    """Any string without NUL bytes, of a sane length."""
    if not isinstance(value, str):
        raise ValueError(f"not text: {value!r:.60}")
    if "\x00" in value:
        raise ValueError("holds a NUL byte; no flag, path or prompt can contain one")
    if len(value) > MAX_TEXT:
        raise ValueError(f"is {len(value)} characters long (at most {MAX_TEXT})")
    return value


@described({"type": "string"})
def path(value: Any) -> str:
    """A file or folder name as given (made absolute by whoever stores it)."""
    return text(value)


@described({"type": "boolean"})
def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"not true or false: {value!r:.60}")
    return value


@described({"type": "integer"})
def integer(value: Any) -> int:
    return _whole(value)


@described({"type": "number", "exclusiveMinimum": 0})
def positive_float(value: Any) -> float:
    number = _number(value, "a number")
    if not 0 < number < float("inf"):
        raise ValueError(f"must be greater than 0: {value}")
    return number


@described({"type": "number", "minimum": 0})
def non_negative_float(value: Any) -> float:
    number = _number(value, "a number")
    if not 0 <= number < float("inf"):
        raise ValueError(f"must be 0 or more: {value}")
    return number


@described({"type": "integer", "minimum": 0})
def non_negative_int(value: Any) -> int:
    number = _whole(value)
    if number < 0:
        raise ValueError(f"must be 0 or more: {value}")
    return number


@described({"type": "integer", "minimum": 1, "maximum": MAX_COUNT})
def count(value: Any) -> int:
    number = non_negative_int(value)
    if not 1 <= number <= MAX_COUNT:
        raise ValueError(f"must be from 1 to {MAX_COUNT}: {value}")
    return number


def whole_number(low: int, high: int, name: str) -> Check:
    """A check for a whole number from ``low`` to ``high``."""
    def check(value: Any) -> int:
        number = _whole(value)
        if not low <= number <= high:
            raise ValueError(f"must be from {low} to {high}: {str(value)[:40]}")
        return number
    check.__name__ = name
    return described({"type": "integer", "minimum": low, "maximum": high})(check)


workers = whole_number(1, MAX_WORKERS, "workers")
compression = whole_number(0, 100, "compression")
variant_count = whole_number(1, MAX_VARIANTS, "variant_count")
variant_index = whole_number(0, MAX_VARIANT_INDEX, "variant_index")
attempts = whole_number(1, MAX_ATTEMPTS, "attempts")
retries = whole_number(0, MAX_RETRIES, "retries")


@described({"type": "number", "exclusiveMinimum": 0, "maximum": 1024})
def megabytes(value: Any) -> float:
    number = positive_float(value)
    if number > 1024:
        raise ValueError(f"must be at most 1024 MB: {value}")
    return number


@described({"type": "string", "minLength": 1, "maxLength": MAX_LABEL, "pattern": "^[^/]+$"})
def label(value: Any) -> str:
    """A caller's id (request, job, message): printable, no slashes, at most 200 characters."""
    if not isinstance(value, str):
        raise ValueError(f"not an id: {value!r:.60}")
    stripped = value.strip()
    if not stripped or len(stripped) > MAX_LABEL or "/" in stripped or any(not c.isprintable() for c in stripped):
        raise ValueError(f"{value[:80]!r} is not a usable id: 1-{MAX_LABEL} printable characters without '/' "
                         "(e.g. discord-1234)")
    return stripped


def _ratios() -> dict[str, Any]:
    from .models.pricing import RATIO_PIXELS_1K

    return {"enum": list(RATIO_PIXELS_1K)}


def _sizes() -> dict[str, Any]:
    from .models.pricing import SIZE_SCALE

    return {"enum": list(SIZE_SCALE)}


@described(_ratios)
def ratio(value: Any) -> str:
    from .models.pricing import RATIO_PIXELS_1K

    if not isinstance(value, str) or value not in RATIO_PIXELS_1K:
        raise ValueError(f"unknown aspect ratio {str(value)[:40]!r}; choose from {', '.join(RATIO_PIXELS_1K)}")
    return value


@described(_sizes)
def size(value: Any) -> str:
    from .models.pricing import SIZE_SCALE

    upper = value.upper() if isinstance(value, str) else None
    if upper not in SIZE_SCALE:
        raise ValueError(f"unknown size {str(value)[:40]!r}; choose from {', '.join(SIZE_SCALE)}")
    return upper


@described({"enum": list(IMAGE_SIZE_NAMES)})
def image_size(value: Any) -> str:
    """--image-size low|medium|high, the names some callers use for 1K|2K|4K."""
    try:
        return IMAGE_SIZE_NAMES[value.lower()]
    except (AttributeError, KeyError):
        raise ValueError(f"unknown image size {str(value)[:40]!r}; choose from low, medium, high") from None


def choice(*options: str) -> Check:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"{str(value)[:40]!r} is not one of {', '.join(options)}")
        return value
    return described({"enum": list(options)})(check)


@described({"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_.]*=",
            "examples": ["palette=#2F4858,#33658A,#F6AE2D", "mood=Quiet and cold"]})
def setting(value: Any) -> str:
    """A preset change, ``FIELD=VALUE`` (the field is checked against the preset's own where it is used)."""
    import re

    value = text(value)
    name, sep, _ = value.partition("=")
    if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", name.strip()):
        raise ValueError(f"{value[:60]!r} is not FIELD=VALUE (e.g. palette=#2F4858,#F6AE2D or mood=calm)")
    return value


def list_of(item: Check) -> Check:
    """A list (JSON array, or the list argparse collected) whose every item passes ``item``; a tuple."""
    def check(value: Any) -> tuple:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"not a list: {value!r:.60}")
        return tuple(item(v) for v in value)
    return described(lambda: {"type": "array", "items": schema_of(item)})(check)


OPENAI_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")


@described({"type": "string", "pattern": "^\\s*([Aa][Uu][Tt][Oo]|[1-9][0-9]{1,4}[xX][1-9][0-9]{1,4})\\s*$",
            "examples": list(OPENAI_SIZES)})
def openai_size(value: Any) -> str:
    """--openai-size: 1024x1024, 1536x1024, 1024x1536, auto (or WxH for newer models)."""
    import re

    text_value = text(value).strip().lower()
    if not re.match(r"^(auto|[1-9]\d{1,4}x[1-9]\d{1,4})\Z", text_value):
        raise ValueError(f"expected WIDTHxHEIGHT or auto, got {value!r}; e.g. {', '.join(OPENAI_SIZES)}")
    return text_value
