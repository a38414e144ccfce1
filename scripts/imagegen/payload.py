"""Pure functions that build each request body. The scripts, the queue worker and --dry-run all use these."""

from __future__ import annotations

import re
from typing import Any

from .registry import ModelSpec

_DATA_URL = re.compile(r"^(data:[^;,]+;base64,)(.{24})(.*)$", re.S)


def chat_request(
    spec: ModelSpec,
    prompt: str,
    *,
    image_urls: list[str] = (),  # type: ignore[assignment]
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


def redact_for_display(value: Any) -> Any:
    """A copy of a request body fit to print: data URLs and base64 shortened to a stub."""
    if isinstance(value, dict):
        return {k: redact_for_display(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_for_display(v) for v in value]
    if isinstance(value, str) and value.startswith("data:"):
        match = _DATA_URL.match(value)
        if match:
            return f"{match.group(1)}{match.group(2)}…({len(value)} chars)"
    return value
