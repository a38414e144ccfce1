"""OpenRouter chat completions with text out: a vision review, and prompt enhancement."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import openrouter
from .call import Call
from .replies import chat_reply, first_choice, not_an_object
from .sampling import sampling

if TYPE_CHECKING:
    from ..http.client import Response
    from .replies import ProviderReply

# USD per million tokens (input, output) at list prices, for estimates (replies report usage.cost).
# The default chains' models at Google's list prices (Gemini API pricing page, checked 2026-12-06:
# gemini-3.5-flash $1.50 / $9.00, gemini-3.1-flash-lite $0.25 / $1.50); OpenRouter passes them on.
RATES = {"google/gemini-2.5-flash": (0.30, 2.50), "google/gemini-3.5-flash": (1.50, 9.00),
         "google/gemini-3.1-flash-lite": (0.25, 1.50)}


def url() -> str:
    return openrouter.base_url() + "/chat/completions"


def review_body(model: str, system: str, text: str, image_url: str, *, max_tokens: int = 1024) -> dict[str, Any]:
    """Ask a vision model about one image; text out, no image modalities."""
    return {
        "model": model,
        "max_tokens": max_tokens,
        **sampling(model, temperature=0),
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": [{"type": "text", "text": text},
                                         {"type": "image_url", "image_url": {"url": image_url}}]},
        ],
    }


def rewrite_body(model: str, system: str, text: str, *, max_tokens: int, temperature: float) -> dict[str, Any]:
    """Ask a text model to rewrite ``text`` under ``system`` (prompt enhancement)."""
    return {
        "model": model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": text}],
        "max_tokens": max_tokens,
        **sampling(model, temperature=temperature),
    }


def call(request_body: dict[str, Any]) -> Call:
    return Call("openrouter", url(), openrouter.headers, parse, body=request_body, refine=openrouter.refine)


def parse(response: Response) -> ProviderReply:
    """A text-only chat completion: the text may be None."""
    document = response.json()
    if not isinstance(document, dict):
        raise not_an_object(response.status)
    return chat_reply(document, first_choice(document, response.status), [])
