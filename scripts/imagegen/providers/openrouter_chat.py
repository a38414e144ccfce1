"""OpenRouter chat completions with image output (``POST {base}/chat/completions``).

The request puts the text first, then the images; ``modalities`` follow the model (image-only
models such as FLUX take ``["image"]``). The reply carries images as data URLs (decoded while
they stream in, see ``http.b64stream``) or links, in ``choices[0].message.images``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..jsonshape import dict_at
from . import openrouter
from .call import Call
from .replies import ImageSource, ProviderReply, chat_reply, first_choice, no_image, skeleton

if TYPE_CHECKING:
    from ..http.client import Response
    from ..models.table import ModelSpec


def url() -> str:
    return openrouter.base_url() + "/chat/completions"


def body(spec: ModelSpec, prompt: str, *, image_urls: Sequence[str] = (), system_message: str | None = None,
         aspect_ratio: str | None = None, size: str | None = None, seed: int | None = None,
         upsampling: bool | None = None) -> dict[str, Any]:
    """The chat-completions body: text first, then images, modalities per model."""
    if image_urls:
        content: Any = [{"type": "text", "text": prompt}] + [
            {"type": "image_url", "image_url": {"url": image_url}} for image_url in image_urls
        ]
    else:
        content = prompt
    messages: list[dict[str, Any]] = []
    if system_message and spec.system_message:
        messages.append({"role": "system", "content": system_message})
    messages.append({"role": "user", "content": content})
    request: dict[str, Any] = {"model": spec.id, "messages": messages, "modalities": list(spec.output_modalities)}
    image_config = {k: v for k, v in (("aspect_ratio", aspect_ratio), ("image_size", size)) if v}
    if image_config:
        request["image_config"] = image_config
    if seed is not None:
        request["seed"] = seed
    if spec.upsampling and upsampling is not None:
        request["prompt_upsampling"] = upsampling
    return request


def call(request_body: dict[str, Any]) -> Call:
    return Call("openrouter", url(), openrouter.headers, parse, body=request_body, refine=openrouter.refine)


def parse(response: Response) -> ProviderReply:
    """A chat completion with images; raises the right error kind when there are none."""
    from ..http.b64stream import placeholder_in

    document, inline = skeleton(response)
    choice = first_choice(document, response.status)
    message = dict_at(choice, "message")
    sources = []
    for item in message.get("images") or []:
        image_url = ((item or {}).get("image_url") or {}).get("url") if isinstance(item, dict) else None
        if not isinstance(image_url, str):
            continue
        found = placeholder_in(image_url, inline)
        if found is not None:
            sources.append(ImageSource(inline=found))
        elif image_url.startswith(("https://", "http://")):
            sources.append(ImageSource(url=image_url))
    reply = chat_reply(document, choice, sources)
    if not sources:
        raise no_image(reply)
    return reply
