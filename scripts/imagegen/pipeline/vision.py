"""Asking a vision model about an image: Anthropic Messages or OpenRouter chat, limits checked first.

Request bodies come from ``payload``; replies are read by ``response`` and judged by ``review``.
Every HTTP failure is the shared client's typed ProviderError (Anthropic's
``{"type": "error", "error": {...}}`` bodies included).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import config
from ..providers import bodies as payload
from . import rubric as review
from ..http.client import HttpClient
from ..errors import ConfigError, ProviderError, UsageError
from .generate import openrouter_headers
from ..images.files import MB, InputImage
from ..providers.replies import ProviderReply, parse_anthropic, parse_chat_text

if TYPE_CHECKING:
    from ..spending.guard import CallRecorder

PROVIDERS = ("anthropic", "openrouter")
DEFAULT_MODELS = {"anthropic": "claude-sonnet-4-6", "openrouter": "google/gemini-2.5-flash"}
ANTHROPIC_VERSION = "2023-06-01"
ANTHROPIC_MAX_BASE64 = 5 * MB  # Anthropic measures the limit on the base64 text, not the file
ANTHROPIC_MAX_SIDE = 8000
OPENROUTER_MAX_BYTES = 20 * MB
MAX_REPLY_TOKENS = 1024  # what payload's review requests allow the model to answer with
# USD per million tokens (input, output) at list prices; reviews by other models have no estimate.
RATES = {"claude-sonnet-4-6": (3.0, 15.0), "google/gemini-2.5-flash": (0.30, 2.50)}
SHRINK_HINT = ("make a smaller copy for the review, e.g. `sips -Z 2048 in.png --out small.png` (macOS) or "
               "`magick in.png -resize 2048x2048 small.jpg`")


def choose_provider(requested: str | None, *, need_key: bool = True) -> str:
    """--provider as given; else anthropic when its key is set, else openrouter."""
    if requested:
        return requested
    if config.key_variable("anthropic"):
        return "anthropic"
    if need_key and not config.key_variable("openrouter"):
        raise ConfigError(
            "no key for a review model: ANTHROPIC_API_KEY and OPENROUTER_API_KEY_IMAGES are both unset",
            details="export ANTHROPIC_API_KEY=sk-ant-... or OPENROUTER_API_KEY_IMAGES=sk-or-..., "
                    "or run review.py without --auto and review the image yourself",
            kind="missing_key",
        )
    return "openrouter"


def check_limits(provider: str, image: InputImage) -> None:
    """Refuse (exit 2) what the provider would reject, before spending an upload on it."""
    if provider == "anthropic":
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
    elif len(image.data) > OPENROUTER_MAX_BYTES:
        raise UsageError(f"{image.path.name} is {len(image.data) / MB:.1f} MB; reviews through OpenRouter "
                         f"take at most {OPENROUTER_MAX_BYTES // MB} MB", details=SHRINK_HINT, kind="too_large")


@dataclass(frozen=True)
class VisionRequest:
    url: str
    body: dict[str, Any]
    provider: str
    model: str


def build_request(provider: str, model: str, image: InputImage, original_prompt: str) -> VisionRequest:
    """The exact request for one review (what --dry-run shows and the run sends)."""
    text = review.user_message(original_prompt)
    if provider == "anthropic":
        encoded = base64.b64encode(image.data).decode("ascii")
        body = payload.anthropic_review_request(model, review.SYSTEM_PROMPT, text, image.mime, encoded)
        return VisionRequest(config.base_url("anthropic") + "/v1/messages", body, provider, model)
    body = payload.openrouter_review_request(model, review.SYSTEM_PROMPT, text, image.data_url())
    return VisionRequest(config.base_url("openrouter") + "/chat/completions", body, provider, model)


def _headers(provider: str) -> dict[str, str]:
    if provider == "anthropic":
        return {"x-api-key": config.api_key("anthropic"), "anthropic-version": ANTHROPIC_VERSION}
    return openrouter_headers(config.api_key("openrouter"))


def _image_tokens(provider: str, image: InputImage) -> int:
    width, height = image.width or 2048, image.height or 2048
    if provider == "anthropic":
        return min(1600, -(-width * height // 750))  # Anthropic scales large images to about 1.15 MP first
    return 258 * -(-width // 768) * -(-height // 768)  # Gemini counts 258 tokens per 768-pixel tile


def estimate_usd(request: VisionRequest, image: InputImage, original_prompt: str) -> float | None:
    """An upper bound for one review (the whole reply allowance counted), or None for a model whose
    price is not known here."""
    rates = RATES.get(request.model)
    if rates is None:
        return None
    text = (len(review.SYSTEM_PROMPT) + len(review.user_message(original_prompt))) // 3
    tokens_in = text + _image_tokens(request.provider, image)
    return round((tokens_in * rates[0] + MAX_REPLY_TOKENS * rates[1]) / 1_000_000, 6)


def cost_from_usage(model: str, usage: dict[str, Any]) -> float | None:
    """What an Anthropic reply cost, from its token counts (OpenRouter reports ``usage.cost`` itself)."""
    rates = RATES.get(model)
    tokens_in, tokens_out = usage.get("input_tokens"), usage.get("output_tokens")
    if rates is None or not isinstance(tokens_in, int) or not isinstance(tokens_out, int):
        return None
    return round((tokens_in * rates[0] + tokens_out * rates[1]) / 1_000_000, 6)


def send(request: VisionRequest, client: HttpClient, recorder: CallRecorder | None = None) -> dict[str, Any]:
    """Send one review request; the parsed scores with verdict, plus model, usage and cost.
    ``recorder`` puts the call in the spending ledger."""
    def call() -> ProviderReply:
        response = client.post_json(request.url, request.body, _headers(request.provider))
        reply = (parse_anthropic if request.provider == "anthropic" else parse_chat_text)(response)
        if reply.cost_usd is None:
            cost = cost_from_usage(request.model, reply.usage)
            if cost is not None:
                reply.usage = {**reply.usage, "cost": cost}
        return reply

    reply = recorder.call(call) if recorder is not None else call()
    try:
        scores = review.parse_reply(reply.text)
    except ProviderError as error:
        if reply.finish_reason in ("max_tokens", "length"):
            error.details = f"the reply was cut off (stop reason {reply.finish_reason}); run again"
        raise
    return {
        **scores,
        "provider": request.provider,
        "model": reply.model or request.model,
        "usage": reply.usage or None,
        "cost_usd": reply.cost_usd,
    }
