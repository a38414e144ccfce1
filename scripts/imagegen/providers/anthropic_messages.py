"""Anthropic Messages (``POST {ANTHROPIC_BASE_URL}/v1/messages``): a vision review of one image.

Failures come as ``{"type": "error", "error": {...}}`` bodies, which the HTTP layer reads for
non-2xx statuses and :func:`parse` checks in a 200 too. Anthropic reports token counts, not a
price: :func:`cost_from_usage` prices them at list rates where the model's are known.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import config
from ..errors import ProviderError, provider_error
from .call import Call
from .replies import ProviderReply, not_an_object, raise_embedded_error, text_of
from .sampling import sampling

if TYPE_CHECKING:
    from ..http.client import Response

VERSION = "2023-06-01"
# USD per million tokens (input, output) at list prices.
RATES = {"claude-sonnet-4-6": (3.0, 15.0)}


def url() -> str:
    return config.base_url("anthropic") + "/v1/messages"


def headers() -> dict[str, str]:
    return {"x-api-key": config.api_key("anthropic"), "anthropic-version": VERSION}


def review_body(model: str, system: str, text: str, media_type: str, b64_data: str,
                *, max_tokens: int = 1024) -> dict[str, Any]:
    """Ask a vision model about one base64 image (image first, then text)."""
    image = {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": b64_data}}
    return {
        "model": model,
        "max_tokens": max_tokens,
        **sampling(model, temperature=0),
        "system": system,
        "messages": [{"role": "user", "content": [image, {"type": "text", "text": text}]}],
    }


def call(request_body: dict[str, Any]) -> Call:
    model = str(request_body.get("model"))
    return Call("anthropic", url(), headers, lambda response: parse(response, model), body=request_body,
                refine=refine)


def refine(error: ProviderError) -> ProviderError:
    """A failed status re-read from Anthropic's ``{"type": "error", "error": {"type", "message"}}``."""
    from . import errors

    return errors.refine(error, errors.anthropic)


def parse(response: Response, model: str | None = None) -> ProviderReply:
    """A Messages reply: its text blocks joined (None when there are none), priced from its usage."""
    document = response.json()
    if not isinstance(document, dict):
        raise not_an_object(response.status, "Anthropic")
    raise_embedded_error(document, response.status)
    if document.get("type") == "error":
        raise provider_error("provider_error", "Anthropic reported an error without details", status=response.status)
    reply = ProviderReply(
        images=[], text=text_of(document.get("content")), generation_id=document.get("id"),
        model=document.get("model"), provider="Anthropic", usage=document.get("usage") or {},
        finish_reason=document.get("stop_reason"), document=document,
    )
    if reply.finish_reason == "refusal":  # a refusal, not a reply in the wrong format: do not retry
        raise provider_error("refusal", "the review model refused to review this image", retryable=False,
                             details="the model declined; try --provider openrouter or another --review-model",
                             status=response.status, extra={"reply_text": reply.text})
    cost = cost_from_usage(model or reply.model or "", reply.usage)
    if cost is not None:
        reply.usage = {**reply.usage, "cost": cost}
    return reply


def cost_from_usage(model: str, usage: dict[str, Any]) -> float | None:
    rates = RATES.get(model)
    tokens_in, tokens_out = usage.get("input_tokens"), usage.get("output_tokens")
    if rates is None or not isinstance(tokens_in, int) or not isinstance(tokens_out, int):
        return None
    return round((tokens_in * rates[0] + tokens_out * rates[1]) / 1_000_000, 6)
