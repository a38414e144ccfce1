"""The vision routes a review can take, one object each behind one interface: the limits checked
before an upload, the call, its list prices and how it counts image tokens, and its default models
(a chain from ``models.chains``, resolved at run time). review.py asks :func:`review_route`.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, ClassVar

from ..errors import UsageError
from ..images.files import MB, InputImage
from ..providers import anthropic_messages, openrouter_text
from ..record import Record

if TYPE_CHECKING:
    from ..providers.call import Call

ANTHROPIC_MAX_BASE64 = 5 * MB  # Anthropic measures the limit on the base64 text, not the file
ANTHROPIC_MAX_SIDE = 8000
OPENROUTER_MAX_BYTES = 20 * MB
SHRINK_HINT = ("make a smaller copy for the review, e.g. `sips -Z 2048 in.png --out small.png` (macOS) or "
               "`magick in.png -resize 2048x2048 small.jpg`")
DEFAULT_ALIAS = "review-default"  # the model_alias of a model taken from the default chain


class ReviewModel(Record):
    """The model a review uses, the alias it came from (None: named), and the candidates after it."""

    id: str
    alias: str | None = None
    rest: tuple[str, ...] = ()


class ReviewRoute:
    name = ""
    rates: ClassVar[dict[str, tuple[float, float]]] = {}  # USD per million tokens (input, output) at list prices

    def check_limits(self, image: InputImage) -> None:
        """Refuse (exit 2) what the provider would reject, before spending an upload on it."""

    def image_tokens(self, image: InputImage) -> int:
        raise NotImplementedError

    def call(self, model: str, image: InputImage, system: str, text: str, max_tokens: int) -> Call:
        raise NotImplementedError

    def model(self, named: str | None, configured: str) -> ReviewModel:
        """--review-model, else $IMAGEGEN_REVIEW_MODEL when it suits the route (OpenRouter ids hold a
        "/"), else the route's default chain resolved now."""
        from ..models import chains

        if named:
            return ReviewModel(named)
        if configured and ("/" in configured) == (self.name == "openrouter"):
            return ReviewModel(configured)
        choice = chains.choose(chains.default_chain("review", self.name), self.name, DEFAULT_ALIAS, models="text")
        return ReviewModel(choice.id, DEFAULT_ALIAS, choice.rest)


class Anthropic(ReviewRoute):
    name = "anthropic"
    rates = anthropic_messages.RATES

    def check_limits(self, image: InputImage) -> None:
        encoded = 4 * ((len(image.data) + 2) // 3)
        if encoded > ANTHROPIC_MAX_BASE64:
            raise UsageError(
                f"{image.path.name} is {len(image.data) / MB:.1f} MB ({encoded / MB:.1f} MB as base64); "
                "Anthropic takes at most 5 MB of base64 per image (about 3.75 MB of file)",
                details=f"{SHRINK_HINT}, or use --provider openrouter", kind="too_large",
            )
        side = max(image.width or 0, image.height or 0)
        if side > ANTHROPIC_MAX_SIDE:
            raise UsageError(
                f"{image.path.name} is {image.width}x{image.height}; Anthropic takes at most "
                f"{ANTHROPIC_MAX_SIDE} pixels a side",
                details=f"{SHRINK_HINT}, or use --provider openrouter", kind="too_large",
            )

    def image_tokens(self, image: InputImage) -> int:
        width, height = image.width or 2048, image.height or 2048
        return min(1600, -(-width * height // 750))  # Anthropic scales large images to about 1.15 MP first

    def call(self, model: str, image: InputImage, system: str, text: str, max_tokens: int) -> Call:
        encoded = base64.b64encode(image.data).decode("ascii")
        return anthropic_messages.call(anthropic_messages.review_body(model, system, text, image.mime, encoded,
                                                                      max_tokens=max_tokens))


class OpenRouter(ReviewRoute):
    name = "openrouter"
    rates = openrouter_text.RATES

    def check_limits(self, image: InputImage) -> None:
        if len(image.data) > OPENROUTER_MAX_BYTES:
            raise UsageError(f"{image.path.name} is {len(image.data) / MB:.1f} MB; reviews through OpenRouter "
                             f"take at most {OPENROUTER_MAX_BYTES // MB} MB", details=SHRINK_HINT, kind="too_large")

    def image_tokens(self, image: InputImage) -> int:
        width, height = image.width or 2048, image.height or 2048
        return 258 * -(-width // 768) * -(-height // 768)  # Gemini counts 258 tokens per 768-pixel tile

    def call(self, model: str, image: InputImage, system: str, text: str, max_tokens: int) -> Call:
        return openrouter_text.call(openrouter_text.review_body(model, system, text, image.data_url(),
                                                                max_tokens=max_tokens))


REVIEW_ROUTES: dict[str, ReviewRoute] = {route.name: route for route in (Anthropic(), OpenRouter())}


def review_route(name: str) -> ReviewRoute:
    return REVIEW_ROUTES[name]
