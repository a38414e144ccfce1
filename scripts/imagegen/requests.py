"""Typed requests: what a run is asked to do, as plain values that round-trip through JSON.

A command builds a request from its parsed flags (``cli.from_flags``); the queue stores
``request.to_json()`` in a job file and reads it back with :meth:`Request.from_json`, which runs
every field through the same checks (``validate``) the flags' argparse types run. So a job file
is held to the rules of the command line, and a malformed or hostile one fails with a clear
message instead of deep inside a run. Rules that involve several fields (a rail flag without a
baseline, an option the chosen API cannot honour) are checked where the plan is built, which
both paths share.

The classes are plain (no dataclasses: a text-to-image run should not pay for importing them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from . import validate
from .errors import UsageError
from .prompt import choices
from .record import Record

R = TypeVar("R", bound="Request")
_MISSING = object()


class InvalidRequest(UsageError):
    """A request read from JSON breaks a rule the flags would have enforced."""


class Field(Record):
    name: str
    check: Callable[[Any], Any]
    default: Any = None
    required: bool = False
    path: bool = False  # made absolute when a request is stored for later (a job)
    dump: Callable[[Any], Any] | None = None  # the JSON form, where it is not the value itself


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _absolute(value: str, base: Path) -> str:
    if value.startswith(("http://", "https://")):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


class Request:
    """Base class: ``FIELDS`` names every field with its check and default."""

    KIND: ClassVar[str] = ""
    FIELDS: ClassVar[tuple[Field, ...]] = ()

    def __init__(self, **values: Any) -> None:
        for field in self.FIELDS:
            setattr(self, field.name, values.pop(field.name, field.default))
        if values:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(sorted(values))}")

    def values(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in self.FIELDS}

    def replace(self: R, **changes: Any) -> R:
        return type(self)(**{**self.values(), **changes})

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.values() == other.values()

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={val!r}" for k, val in self.values().items() if val not in (None, (), False))
        return f"{type(self).__name__}({shown})"

    def to_json(self) -> dict[str, Any]:
        """Every field as JSON (defaults included, so a stored job does not change meaning when a default does)."""
        document = {}
        for field in self.FIELDS:
            value = getattr(self, field.name)
            if field.dump is not None and value is not None:
                value = tuple(map(field.dump, value)) if isinstance(value, tuple) else field.dump(value)
            document[field.name] = _json_value(value)
        return document

    @classmethod
    def from_json(cls: type[R], document: Any) -> R:
        """A request from its JSON form, every field checked as its flag is; InvalidRequest if not."""
        if not isinstance(document, dict):
            raise InvalidRequest(f"a {cls.KIND} request must be a JSON object, not {type(document).__name__}")
        known = {field.name for field in cls.FIELDS}
        unknown = sorted(str(key)[:40] for key in document if key not in known)
        if unknown:
            raise InvalidRequest(f"the {cls.KIND} request has unknown fields: {', '.join(unknown[:5])}",
                                 details="remove them; known fields: " + ", ".join(sorted(known)))
        values = {}
        for field in cls.FIELDS:
            given = document.get(field.name, _MISSING)
            if given is _MISSING:
                if field.required:
                    raise InvalidRequest(f"the {cls.KIND} request has no '{field.name}'")
                continue
            values[field.name] = cls._checked(field, given)
        return cls(**values)

    @classmethod
    def _checked(cls, field: Field, given: Any) -> Any:
        if given is None:
            if field.default is None and not field.required:
                return None
            raise InvalidRequest(f"the {cls.KIND} request's '{field.name}' may not be null")
        try:
            return field.check(given)
        except ValueError as error:
            raise InvalidRequest(f"the {cls.KIND} request's '{field.name}' is not usable: {error}") from None

    def with_absolute_paths(self: R, base: Path) -> R:
        """The same request with every relative file path resolved against ``base``."""
        changes = {}
        for field in self.FIELDS:
            value = getattr(self, field.name)
            if not field.path or value is None:
                continue
            changes[field.name] = (tuple(_absolute(item, base) for item in value) if isinstance(value, tuple)
                                   else _absolute(value, base))
        return self.replace(**changes)

    def given(self, name: str) -> bool:
        """Whether a field was set: ``seed 0`` counts, an empty list, False or None does not."""
        value = getattr(self, name)
        return value is not None and value is not False and value != ()


_PATHS = validate.list_of(validate.path)
_TEXTS = validate.list_of(validate.text)
APIS, QUALITIES = choices.APIS, choices.QUALITIES
OUTPUT_FORMATS, BACKGROUNDS = choices.OUTPUT_FORMATS, choices.BACKGROUNDS

# The fields of an image request that say where it goes and who pays.
_OUTPUT = (
    Field("output_dir", validate.path, "data", path=True),
    Field("output_file", validate.path, path=True),
    Field("overwrite", validate.flag, False),
    Field("sidecar", validate.flag, True),
)
_SPENDING = (
    Field("max_cost", validate.non_negative_float),
    Field("request_id", validate.label),
)
_IMAGES_API = (
    Field("api", validate.choice(*APIS), "chat"),
    Field("quality", validate.choice(*QUALITIES)),
    Field("output_format", validate.choice(*OUTPUT_FORMATS)),
    Field("background", validate.choice(*BACKGROUNDS)),
    Field("output_compression", validate.compression),
    Field("moderation", validate.choice(*choices.MODERATIONS)),
)
_LOOK = (
    Field("provider", validate.choice(*choices.PROVIDERS)),
    Field("model", validate.text),
    Field("fallback_model", validate.text),  # the script's default model; a preset's model wins over it
    Field("aspect_ratio", validate.ratio),
    Field("size", validate.size),
    Field("seed", validate.integer),
    Field("preset", validate.path, path=True),
    Field("preset_set", validate.list_of(validate.setting), ()),
    Field("style_refs", _PATHS, (), path=True),
    Field("system_prompt", validate.text),
)

# generate --review / --best-of: the review loop (pipeline.review_loop) around the generation.
_REVIEW_LOOP = (
    Field("review", validate.flag, False),
    Field("max_rounds", validate.whole_number(1, choices.MAX_REVIEW_ROUNDS, "max_rounds"),
          choices.DEFAULT_REVIEW_ROUNDS),
    Field("best_of", validate.whole_number(1, choices.MAX_BEST_OF, "best_of"), 1),
    Field("review_provider", validate.choice(*choices.REVIEW_PROVIDERS)),
    Field("review_model", validate.text),
)


class ImageRequest(Request):
    """What every request that makes images has (the fields of ``_LOOK``, ``_IMAGES_API``, ``_OUTPUT``
    and ``_SPENDING``, plus the prompt, the count and the input images): annotations for readers and
    type checkers; the values come from ``FIELDS``."""

    prompt: str
    n: int
    provider: str | None
    model: str | None
    fallback_model: str | None
    aspect_ratio: str | None
    size: str | None
    seed: int | None
    preset: str | None
    preset_set: tuple[str, ...]
    style_refs: tuple[str, ...]
    system_prompt: str | None
    input_images: tuple[str, ...]
    api: str
    quality: str | None
    output_format: str | None
    background: str | None
    output_compression: int | None
    moderation: str | None
    output_dir: str
    output_file: str | None
    overwrite: bool
    sidecar: bool
    max_cost: float | None
    request_id: str | None


class GenerateRequest(ImageRequest):
    """generate.py, generate_image.py and a queued job: text (and images) to image."""

    KIND = "generate"
    FIELDS = (
        Field("prompt", validate.text, required=True),
        *_LOOK,
        Field("input_images", _PATHS, (), path=True),
        Field("prompt_upsampling", validate.flag),
        Field("n", validate.count, 1),
        Field("baseline_image", validate.path, path=True),
        Field("baseline_source_kind", validate.choice(*choices.BASELINE_SOURCE_KINDS),
              choices.DEFAULT_BASELINE_SOURCE_KIND),
        Field("confirm_external_upload", validate.flag, False),
        Field("workspace_root", validate.path, path=True),
        Field("max_baseline_mb", validate.megabytes, choices.DEFAULT_MAX_BASELINE_MB),
        Field("allow_no_baseline_on_edit_intent", validate.flag, False),
        Field("variation_strength", validate.choice(*choices.VARIATION_STRENGTHS)),
        Field("must_keep", _TEXTS, ()),
        Field("lock_palette", validate.flag),
        Field("lock_composition", validate.flag),
        Field("strict_clarify", validate.flag, False),
        Field("enhance", validate.flag, False),
        Field("enhance_model", validate.text, choices.DEFAULT_ENHANCE_MODEL),
        *_IMAGES_API,
        *_OUTPUT,
        *_SPENDING,
        Field("instructions", _TEXTS, ()),  # lines the caller adds (a queue's "Variation 2 of 4"), never checked
        *_REVIEW_LOOP,
    )

    prompt_upsampling: bool | None
    baseline_image: str | None
    baseline_source_kind: str
    confirm_external_upload: bool
    workspace_root: str | None
    max_baseline_mb: float
    allow_no_baseline_on_edit_intent: bool
    variation_strength: str | None
    must_keep: tuple[str, ...]
    lock_palette: bool | None
    lock_composition: bool | None
    strict_clarify: bool
    enhance: bool
    enhance_model: str
    instructions: tuple[str, ...]
    review: bool
    max_rounds: int
    best_of: int
    review_provider: str | None
    review_model: str | None

    def review_loop(self) -> bool:
        """Whether a vision review judges the images (--review, or --best-of above 1)."""
        return bool(self.review) or self.best_of > 1


@validate.described({"type": "string", "pattern": r"^(\s*\d+(\.\d+)?\s*%?\s*,){3}\s*\d+(\.\d+)?\s*%?\s*$",
              "examples": ["100,50,300,200", "10%,10%,50%,50%"]})
def _rect(value: Any) -> Any:
    from .images.masks import rect_spec

    return rect_spec(validate.text(value))


class EditRequest(ImageRequest):
    """edit.py: an instruction edit through OpenRouter, or a mask edit through OpenAI."""

    KIND = "edit"
    FIELDS = (
        Field("mode", validate.choice("openrouter", "openai")),
        Field("input_images", _PATHS, required=True, path=True),
        Field("prompt", validate.text, required=True),
        Field("n", validate.count, 1),
        *_LOOK,
        *_IMAGES_API,
        Field("mask", validate.path, path=True),
        Field("mask_rects", validate.list_of(_rect), (), dump=lambda rect: rect.text),
        Field("mask_invert", validate.flag, False),
        Field("keep_unmasked", validate.flag, False),
        Field("markup", validate.path, path=True),
        Field("openai_model", validate.text),
        Field("openai_size", validate.openai_size),
        Field("input_fidelity", validate.choice("high", "low")),
        *_OUTPUT,
        *_SPENDING,
    )

    mode: str | None
    mask: str | None
    mask_rects: tuple[Any, ...]
    mask_invert: bool
    keep_unmasked: bool
    markup: str | None
    openai_model: str | None
    openai_size: str | None
    input_fidelity: str | None


class ReviewRequest(Request):
    """review.py: judge an image (or two) against the prompt that made it."""

    KIND = "review"
    FIELDS = (
        Field("image", validate.path, required=True, path=True),
        Field("original_prompt", validate.text),
        Field("compare", validate.path, path=True),
        Field("auto", validate.flag, False),
        Field("provider", validate.choice(*choices.REVIEW_PROVIDERS)),
        Field("review_model", validate.text),
        Field("review_file", validate.flag, True),
        *_SPENDING,
    )

    image: str
    original_prompt: str | None
    compare: str | None
    auto: bool
    provider: str | None
    review_model: str | None
    review_file: bool
    max_cost: float | None
    request_id: str | None


class RunOptions:
    """How this invocation runs a request (not part of the request: a queued job gets the worker's)."""

    __slots__ = ("timeout", "retries", "dry_run", "quiet", "show_hints")

    def __init__(self, *, timeout: float = 180.0, retries: int = 2, dry_run: bool = False, quiet: bool = False,
                 show_hints: bool = False) -> None:
        self.timeout, self.retries, self.dry_run, self.quiet, self.show_hints = (
            timeout, retries, dry_run, quiet, show_hints)

