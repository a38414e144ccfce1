"""Google's Gemini API, image output (``POST {GEMINI_BASE_URL}/models/{model}:generateContent``).

The key goes in the ``x-goog-api-key`` header, never in the URL (URLs reach logs and error
messages). The body is ``contents`` (the prompt first, then the images as ``inlineData``),
``generationConfig.responseModalities`` and ``imageConfig``; the reply's images are ``inlineData``
parts of ``candidates[0].content.parts`` (decoded while they stream in, see ``http.b64stream``).
A reply may carry no candidate at all (``promptFeedback.blockReason``: the prompt was blocked) or
a candidate without an image (``finishReason`` IMAGE_SAFETY, NO_IMAGE, ...): both are read as
our error kinds here. Google reports token counts, not a price: ``models.direct_table`` prices images.

The batch engine (``gemini_batch``) sends these same request bodies, so :func:`body` and
:func:`read_reply` serve both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import config
from ..errors import ProviderError, provider_error
from ..jsonshape import dict_at
from .call import Call
from .replies import BLOCK_WORDS, ImageSource, ProviderReply, no_image, skeleton

if TYPE_CHECKING:
    from ..http.b64stream import InlineImage
    from ..http.client import Response

# Our size names -> imageConfig.imageSize (Google writes "512" for the half-K tier).
IMAGE_SIZES = {"0.5K": "512", "1K": "1K", "2K": "2K", "4K": "4K"}
# promptFeedback.blockReason values; all but BLOCK_REASON_UNSPECIFIED are policy blocks.
PROMPT_BLOCKS = ("SAFETY", "OTHER", "BLOCKLIST", "PROHIBITED_CONTENT", "IMAGE_SAFETY")


def base_url() -> str:
    return config.base_url("google")


def model_path(model: str) -> str:
    """``models/{model}`` with the id escaped: a model id must not turn into another path."""
    return "models/" + quote(model, safe="-._")


def url(model: str) -> str:
    return f"{base_url()}/{model_path(model)}:generateContent"


def headers() -> dict[str, str]:
    return {"x-goog-api-key": config.api_key("google")}


def body(prompt: str, *, images: Sequence[tuple[str, str]] = (), system_message: str | None = None,
         aspect_ratio: str | None = None, size: str | None = None, seed: int | None = None) -> dict[str, Any]:
    """A GenerateContentRequest for one image: text first, then ``images`` as (mime type, base64)."""
    parts: list[dict[str, Any]] = [{"text": prompt}]
    parts += [{"inlineData": {"mimeType": mime, "data": data}} for mime, data in images]
    image_config = {k: v for k, v in (("aspectRatio", aspect_ratio), ("imageSize", IMAGE_SIZES.get(size or "", size)))
                    if v}
    generation: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if image_config:
        generation["imageConfig"] = image_config
    if seed is not None:
        generation["seed"] = seed
    request: dict[str, Any] = {"contents": [{"role": "user", "parts": parts}], "generationConfig": generation}
    if system_message:
        request["systemInstruction"] = {"parts": [{"text": system_message}]}
    return request


def call(model: str, request_body: dict[str, Any], price_each: float | None) -> Call:
    """One generateContent call; ``price_each`` prices the images it returns (Google reports no cost)."""
    return Call("google", url(model), headers, lambda response: parse(response, model, price_each), body=request_body,
                refine=refine)


def refine(error: ProviderError) -> ProviderError:
    """``error`` as Google means it; a 429 that is no rate limit (zero quota, a day's quota used up) is
    not sent again, and Google's RetryInfo delay is the wait before the next attempt."""
    from . import errors

    return errors.refine_attempt(error, errors.google)


def parse(response: Response, model: str, price_each: float | None) -> ProviderReply:
    document, inline = skeleton(response)
    return read_reply(document, inline, model, price_each, status=response.status)


def read_reply(document: dict[str, Any], inline: dict[str, InlineImage], model: str, price_each: float | None, *,
               status: int = 200) -> ProviderReply:
    """A GenerateContentResponse (from a call, or one line of a batch's results) as a reply, or the
    error kind it means: a blocked prompt, a candidate stopped without an image, an error object."""
    error = document.get("error")
    if isinstance(error, dict) and error:
        from . import errors

        raise errors.google(error, status)
    candidates = document.get("candidates")
    candidate = candidates[0] if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict) else {}
    content = dict_at(candidate, "content")
    parts = [p for p in content.get("parts") or [] if isinstance(p, dict)] if isinstance(
        content.get("parts"), list) else []
    final, texts = None, []
    for part in parts:
        if part.get("thought") is True:
            continue  # Gemini 3's draft images and thinking: the last image without the flag is the result
        data = part.get("inlineData") if isinstance(part.get("inlineData"), dict) else part.get("inline_data")
        if isinstance(data, dict) and isinstance(data.get("data"), str):
            final = inline.get(data["data"]) or final
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
    sources = [ImageSource(inline=final)] if final is not None else []
    usage = dict_at(document, "usageMetadata")
    finish = candidate.get("finishReason") if isinstance(candidate.get("finishReason"), str) else None
    reply = ProviderReply(
        images=sources, text="\n".join(t for t in texts if t).strip() or None,
        generation_id=document.get("responseId") if isinstance(document.get("responseId"), str) else None,
        model=document.get("modelVersion") if isinstance(document.get("modelVersion"), str) else model,
        provider="Google", usage=dict(usage), finish_reason=finish, native_finish_reason=finish, document=document)
    if sources and price_each is not None:
        reply.usage["cost"] = round(price_each * len(sources), 6)
        reply.usage["cost_source"] = "price table"
    if not sources:
        raise _no_image(document, reply, status)
    return reply


def _no_image(document: dict[str, Any], reply: ProviderReply, status: int) -> Exception:
    feedback = dict_at(document, "promptFeedback")
    blocked = feedback.get("blockReason")
    if isinstance(blocked, str) and blocked in PROMPT_BLOCKS or (
            isinstance(blocked, str) and any(word in blocked for word in BLOCK_WORDS)):
        words = feedback.get("blockReasonMessage") if isinstance(feedback.get("blockReasonMessage"), str) else None
        return provider_error("moderation", f"Google blocked the prompt (blockReason {blocked})", status=status,
                              retryable=False, provider_message=words,
                              extra={"block_reason": blocked, "text_response": reply.text})
    return no_image(reply)
