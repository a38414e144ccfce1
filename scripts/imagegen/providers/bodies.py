"""Pure functions that build each request body. The scripts, the queue worker and --dry-run all use these."""

from __future__ import annotations

import re
from typing import Any, Sequence

from ..models.registry import ModelSpec

_DATA_URL = re.compile(r"^(data:[^;,]+;base64,)(.{24})(.*)$", re.S)


def chat_request(
    spec: ModelSpec,
    prompt: str,
    *,
    image_urls: Sequence[str] = (),
    system_message: str | None = None,
    aspect_ratio: str | None = None,
    size: str | None = None,
    seed: int | None = None,
    upsampling: bool | None = None,
) -> dict[str, Any]:
    """An OpenRouter chat-completions body: text first, then images, modalities per model."""
    if image_urls:
        content: Any = [{"type": "text", "text": prompt}] + [
            {"type": "image_url", "image_url": {"url": url}} for url in image_urls
        ]
    else:
        content = prompt
    messages: list[dict[str, Any]] = []
    if system_message and spec.system_message:
        messages.append({"role": "system", "content": system_message})
    messages.append({"role": "user", "content": content})
    body: dict[str, Any] = {"model": spec.id, "messages": messages, "modalities": list(spec.output_modalities)}
    image_config = {k: v for k, v in (("aspect_ratio", aspect_ratio), ("image_size", size)) if v}
    if image_config:
        body["image_config"] = image_config
    if seed is not None:
        body["seed"] = seed
    if spec.upsampling and upsampling is not None:
        body["prompt_upsampling"] = upsampling
    return body


def images_request(
    spec: ModelSpec,
    prompt: str,
    *,
    reference_urls: Sequence[str] = (),
    aspect_ratio: str | None = None,
    resolution: str | None = None,
    n: int = 1,
    quality: str | None = None,
    output_format: str | None = None,
    background: str | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """An OpenRouter Images API body (``POST /images``); options left as None are not sent."""
    body: dict[str, Any] = {"model": spec.id, "prompt": prompt}
    optional = (("resolution", resolution), ("aspect_ratio", aspect_ratio), ("quality", quality),
                ("output_format", output_format), ("background", background), ("seed", seed))
    body.update({key: value for key, value in optional if value is not None})
    body["n"] = n
    if reference_urls:
        body["input_references"] = [{"type": "image_url", "image_url": {"url": url}} for url in reference_urls]
    return body


def anthropic_review_request(model: str, system: str, text: str, media_type: str, b64_data: str,
                             *, max_tokens: int = 1024) -> dict[str, Any]:
    """An Anthropic Messages body asking a vision model about one base64 image (image first, then text)."""
    image = {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": b64_data}}
    return {
        "model": model,
        "max_tokens": max_tokens,
        "temperature": 0,
        "system": system,
        "messages": [{"role": "user", "content": [image, {"type": "text", "text": text}]}],
    }


def openrouter_review_request(model: str, system: str, text: str, image_url: str,
                              *, max_tokens: int = 1024) -> dict[str, Any]:
    """An OpenRouter chat body asking a vision model about one image; text out, no image modalities."""
    return {
        "model": model,
        "max_tokens": max_tokens,
        "temperature": 0,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": [{"type": "text", "text": text},
                                         {"type": "image_url", "image_url": {"url": image_url}}]},
        ],
    }


_BASE64_KEYS = frozenset({"data", "b64_json"})
_BASE64_STUB_OVER = 200


def redact_for_display(value: Any) -> Any:
    """A copy of a request body fit to print: data URLs and base64 shortened to a stub."""
    if isinstance(value, dict):
        return {k: _stub(v) if k in _BASE64_KEYS and isinstance(v, str) and len(v) > _BASE64_STUB_OVER
                else redact_for_display(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_for_display(v) for v in value]
    if isinstance(value, str) and value.startswith("data:"):
        match = _DATA_URL.match(value)
        if match:
            return f"{match.group(1)}{match.group(2)}…({len(value)} chars)"
    return value


def _stub(text: str) -> str:
    return f"{text[:24]}…({len(text)} chars)"
