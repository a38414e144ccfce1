"""The models of the providers called directly (Google's Gemini API, OpenAI's Images API) and
their prices: the one table for every call that does not go through OpenRouter.

OpenRouter publishes live prices; these providers do not, so the prices below are copied from
their pricing pages on :data:`PRICES_AS_OF` and every estimate made from them says so. Their
batch engines bill :data:`BATCH_DISCOUNT` of the standard price.
"""

from __future__ import annotations

from typing import Any

from ..record import Record

PRICES_AS_OF = "2026-12-01"
BATCH_DISCOUNT = 0.5  # Gemini Batch Mode and the OpenAI Batch API: half the standard price
GEMINI_PREFIX = "gemini-"
OPENAI_PREFIXES = ("gpt-image-", "chatgpt-image-")
NAMES = {"openrouter": "OpenRouter", "google": "Google's Gemini API", "openai": "OpenAI's Images API"}
MAKERS = {"openrouter": "OpenRouter", "google": "Google", "openai": "OpenAI"}


# -- Google -----------------------------------------------------------------------------------

class GeminiModel(Record):
    """One Gemini image model: the OpenRouter alias it matches, what it takes, USD per image by size."""

    alias: str
    per_image: dict[str, float]
    sizes: tuple[str, ...]
    extreme_ratios: bool  # 1:4, 4:1, 1:8, 8:1 as well as the standard ratios
    max_refs: int
    best_for: str


# Standard (not batch) list prices per output image on Google's Gemini API pricing page. The GA ids
# (gemini-3.1-flash-image, gemini-3-pro-image: GA 2026-05-28) are priced as the previews they
# replaced; gemini-3.1-flash-lite-image (GA 2026-06-30, 1K only) at $0.034 per image (1120 tokens at
# $30/M), as resellers quote Google's pricing page (second-hand, read 2026-12-06). The previews stay
# for reading old records and OpenRouter's chains; Google shut them down on 2026-06-25
# (``chains.SHUT_DOWN``: never sent).
_FLASH = ({"0.5K": 0.045, "1K": 0.067, "2K": 0.101, "4K": 0.151}, ("0.5K", "1K", "2K", "4K"), True, 14,
          "fast everyday generation, extreme aspect ratios")
_PRO = ({"1K": 0.134, "2K": 0.134, "4K": 0.24}, ("1K", "2K", "4K"), False, 14,
        "balanced quality, editing and reasoning")
GEMINI_MODELS = {
    "gemini-3.1-flash-image": GeminiModel("nanobanana-2", *_FLASH),
    "gemini-3-pro-image": GeminiModel("nanobanana-pro", *_PRO),
    "gemini-3.1-flash-image-preview": GeminiModel("nanobanana-2", *_FLASH),
    "gemini-3-pro-image-preview": GeminiModel("nanobanana-pro", *_PRO),
    "gemini-3.1-flash-lite-image": GeminiModel(
        "nanobanana-2-lite", {"1K": 0.034}, ("1K",), True, 14, "the cheapest 1K drafts, high volume"),
}
GEMINI_DEFAULT = "nanobanana-2"  # an alias: resolved against Google's model list at run time


def gemini_model(model: str) -> GeminiModel | None:
    return GEMINI_MODELS.get(model)


# -- OpenAI -----------------------------------------------------------------------------------

class OpenAIModel(Record):
    """What one OpenAI image model takes, and its prices in USD per million tokens."""

    text_in: float
    image_in: float
    text_out: float
    image_out: float
    input_fidelity: bool  # takes input_fidelity on edits (OpenAI's spec: "for gpt-image-2, omit this parameter")
    markup: bool  # takes a markup overlay (GPT Image 2.5)
    flexible_sizes: bool = False  # any WIDTHxHEIGHT within FLEXIBLE_RULES, not only the three frames
    price_source: str = ""  # where the rates come from, as every estimate made from them says


# gpt-image-2's rates: $5/M text in, $8/M image in, $30/M image out, about $0.006 / $0.053 / $0.211
# per 1024x1024 image at low / medium / high (OpenAI's pricing page as reported by secondary sources
# read on 2026-12-06: third-hand, verify before relying). Text out is not reported: gpt-image-1's $10/M.
GPT_IMAGE_2_SOURCE = ("gpt-image-2's published rates ($30/M image tokens out; about $0.006 / $0.053 / $0.211 per "
                      "1024x1024 image at low / medium / high), reported second-hand on 2026-12-06")
# The 2.5 and 2.6 rates are gpt-image-1's list prices until OpenAI's list is read here.
_FAMILY_RATES = (5.0, 10.0, 10.0, 40.0)
_FAMILY_SOURCE = f"assumed rates (gpt-image-1's list prices, as of {PRICES_AS_OF}), not the model's own"
# The models OpenAI serves (checked on PRICES_AS_OF). gpt-image-1 was shut down on 2026-10-23;
# gpt-image-1-mini, gpt-image-1.5 and chatgpt-image-latest on 2026-12-01.
OPENAI_MODELS = {
    "gpt-image-2": OpenAIModel(5.0, 8.0, 10.0, 30.0, input_fidelity=False, markup=False, flexible_sizes=True,
                               price_source=GPT_IMAGE_2_SOURCE),
    **{name: OpenAIModel(*_FAMILY_RATES, input_fidelity=True, markup=name.startswith("gpt-image-2.5"),
                         price_source=_FAMILY_SOURCE)
       for name in ("gpt-image-2.5-sunburst", "gpt-image-2.5-flare", "gpt-image-2.6-sunburst", "gpt-image-2.6-flare")},
}
OPENAI_DEFAULT = "gpt-image-2"
# Output tokens per image by quality and frame, from OpenAI's image generation guide (the gpt-image-1
# family's, used for the models that make only the three frames).
OUTPUT_TOKENS = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}
# gpt-image-2: output tokens by quality and frame, the rule behind the cost calculator in OpenAI's
# image generation guide (size-and-quality-options), as reconstructed in the OpenAI developer
# community ("gpt-image-2 output pricing calculator", 2026-06-05; read 2026-12-06). It reproduces the
# published 1024x1024 prices at $30/M (196 / 1756 / 7024 tokens: $0.006 / $0.053 / $0.211) and the
# counts reported for 1536x1024 high (5488) and 976x704 low (129): not proportional to the pixels.
FLEXIBLE_QUALITY_FACTORS = {"low": 16, "medium": 48, "high": 96}
_AREA_OFFSET, _AREA_SCALE = 2_000_000, 4_000_000


def flexible_tokens(tier: str, width: int, height: int) -> int | None:
    """Output image tokens of one gpt-image-2 image of ``width`` x ``height`` at ``tier``."""
    factor = FLEXIBLE_QUALITY_FACTORS.get(tier)
    if factor is None or width <= 0 or height <= 0:
        return None
    long_edge, short_edge = max(width, height), min(width, height)
    short_factor = (2 * factor * short_edge + long_edge) // (2 * long_edge)
    return -(-factor * short_factor * (_AREA_OFFSET + width * height) // _AREA_SCALE)


def openai_model(model: str) -> OpenAIModel | None:
    """The table's entry for ``model`` (a dated snapshot such as gpt-image-2-2026-04-21 counts as its model)."""
    if model in OPENAI_MODELS:
        return OPENAI_MODELS[model]
    base = max((name for name in OPENAI_MODELS if model.startswith(name + "-")), key=len, default=None)
    return OPENAI_MODELS[base] if base else None


def flexible(model: str) -> bool:
    """Whether ``model`` takes any WIDTHxHEIGHT (gpt-image-2 and its snapshots), not only three frames."""
    info = openai_model(model)
    return info is not None and info.flexible_sizes


def output_tokens(quality: str | None, size: str, model: str | None = None) -> int | None:
    """Image tokens OpenAI bills for one image of ``size`` (unknown or auto quality: the high tier).
    A flexible model's count follows :func:`flexible_tokens`; the others know only their three frames."""
    tier = "high" if quality in (None, "auto") else quality
    if model is not None and flexible(model):
        from .frames import parse

        frame = parse(size)
        return None if frame is None else flexible_tokens(tier, *frame)
    return OUTPUT_TOKENS.get(tier, {}).get(size)


def _count(details: Any, name: str) -> int | None:
    value = details.get(name) if isinstance(details, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def openai_cost(model: str, usage: dict[str, Any]) -> float | None:
    """The price of an OpenAI images reply from its token counts: text and image tokens, in and out,
    each at its own rate."""
    info = openai_model(model)
    inputs, outputs = usage.get("input_tokens_details"), usage.get("output_tokens_details")
    text_in, image_in = _count(inputs, "text_tokens"), _count(inputs, "image_tokens")
    if text_in is None and image_in is None and _count(usage, "input_tokens") is not None:
        text_in, image_in = _count(usage, "input_tokens"), 0  # a prompt alone: all text tokens
    text_out, image_out = _count(outputs, "text_tokens"), _count(outputs, "image_tokens")
    if image_out is None and text_out is None:  # older replies give only the total, all image tokens
        image_out, text_out = _count(usage, "output_tokens"), 0
    counts = (text_in, image_in, text_out, image_out)
    if info is None or any(c is None for c in counts):
        return None
    rates = (info.text_in, info.image_in, info.text_out, info.image_out)
    total = sum(rate * count for rate, count in zip(rates, counts, strict=True) if count is not None)
    return round(total / 1_000_000, 6)


def openai_estimate(model: str, quality: str | None, size: str, count: int) -> float | None:
    """What ``count`` images of ``size`` should cost, from the output tokens they take (None: unknown)."""
    info = openai_model(model)
    tokens = output_tokens(quality, size, model)
    if info is None or tokens is None:
        return None
    return round(info.image_out * tokens / 1_000_000 * count, 4)


def batch_price(usd: float | None) -> float | None:
    return None if usd is None else round(usd * BATCH_DISCOUNT, 6)
