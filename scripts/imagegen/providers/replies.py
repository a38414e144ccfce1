"""What the endpoint modules share in reading replies: the reply type, images (inline or by URL),
text, cost, and the failures a provider hides in an HTTP 200."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import ProviderError, provider_error
from ..http.b64stream import InlineImage, split_body
from ..jsonshape import dict_at

if TYPE_CHECKING:
    from ..http.client import HttpClient, Response

MAX_DOWNLOAD = 100 * 1024 * 1024


class ImageSource:
    """One image in a reply: inline base64 or a URL to fetch."""

    __slots__ = ("inline", "url")

    def __init__(self, inline: InlineImage | None = None, url: str | None = None) -> None:
        self.inline, self.url = inline, url

    def chunks(self, client: HttpClient) -> Iterator[bytes]:
        if self.inline is not None:
            return self.inline.decoded_chunks()
        assert self.url is not None
        try:
            response = client.get(self.url, {"Accept": "image/*"}, max_bytes=MAX_DOWNLOAD)
        except ProviderError as error:
            # The generation itself worked (and was billed): a failed download is the provider's
            # fault, not a missing endpoint or a bad request of ours, whatever its HTTP status.
            from urllib.parse import urlsplit

            host = urlsplit(self.url).netloc
            raise provider_error("provider_error", f"could not download the generated image from {host}: "
                                 f"{error.message}", details=error.details, status=error.status,
                                 retryable=error.retryable, charge_unknown=error.charge_unknown,
                                 retry_after=error.retry_after, extra=dict(error.extra)) from None
        return iter([bytes(response.body)])

    def close(self) -> None:
        """Drop the spooled image (its unnamed temp file) once it is saved or abandoned."""
        if self.inline is not None:
            self.inline.close()

    def describe(self) -> dict[str, Any]:
        if self.inline is not None:
            return {"inline_base64_chars": self.inline.encoded_size}
        return {"url": self.url}


class ProviderReply:
    """What a provider answered: its images, text, ids, usage (with ``cost`` when known) and the
    reply itself with image data left out (``document``)."""

    __slots__ = ("images", "text", "generation_id", "model", "provider", "usage", "finish_reason",
                 "native_finish_reason", "document")

    def __init__(self, images: list[ImageSource], text: str | None, generation_id: str | None, model: str | None,
                 provider: str | None, usage: dict[str, Any] | None = None, finish_reason: str | None = None,
                 native_finish_reason: str | None = None, document: dict[str, Any] | None = None) -> None:
        self.images, self.text, self.generation_id, self.model, self.provider = (
            images, text, generation_id, model, provider)
        self.usage = usage if usage is not None else {}
        self.finish_reason, self.native_finish_reason = finish_reason, native_finish_reason
        self.document = document if document is not None else {}

    @property
    def cost_usd(self) -> float | None:
        """The reported cost when it is one a call could have had (finite, >= 0, <= $100); else None."""
        from ..costs import plausible_cost

        return plausible_cost(self.usage.get("cost"))


def skeleton(response: Response) -> tuple[dict[str, Any], dict[str, InlineImage]]:
    if response.inline is not None:
        skeleton, inline = bytes(response.body), response.inline
    else:
        skeleton, inline = split_body(response.body)
    try:
        document = json.loads(skeleton)
    except (ValueError, UnicodeDecodeError):
        snippet = skeleton[:200].decode("utf-8", "replace")
        what = "an HTML page" if snippet.lstrip().startswith("<") else "a body that is not valid JSON"
        raise provider_error("provider_error", f"the provider sent {what} (HTTP {response.status})",
                             details=snippet, status=response.status) from None
    if not isinstance(document, dict):
        raise not_an_object(response.status)
    return document, inline


def raise_embedded_error(document: dict[str, Any], status: int) -> None:
    """A bare top-level ``error`` in a 200 (OpenRouter's shape; a string from others)."""
    error = document.get("error")
    if isinstance(error, dict) and error:
        from . import errors

        raise errors.openrouter(error, status)
    if error:
        raise provider_error("provider_error", f"the provider reported an error: {str(error)[:300]}", status=status)


def first_choice(document: dict[str, Any], status: int) -> dict[str, Any]:
    """The reply's first choice, after the failures a 200 can carry (an error body, finish_reason error)."""
    raise_embedded_error(document, status)
    choices = document.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise provider_error("provider_error", "the provider's reply has no choices", status=status)
    choice = choices[0]
    if choice.get("finish_reason") == "error":
        from . import errors

        error = choice.get("error")
        error = error if isinstance(error, dict) else {"message": str(error or "") or None}
        raise errors.openrouter(error, status, prefix="generation failed at the provider: ")
    return choice


def chat_reply(document: dict[str, Any], choice: dict[str, Any], images: list[ImageSource]) -> ProviderReply:
    message = dict_at(choice, "message")
    return ProviderReply(
        images=images, text=text_of(message.get("content")), generation_id=document.get("id"),
        model=document.get("model"), provider=document.get("provider"), usage=document.get("usage") or {},
        finish_reason=choice.get("finish_reason"), native_finish_reason=choice.get("native_finish_reason"),
        document=document,
    )


def parse_image_list(response: Response) -> ProviderReply:
    """An Images API or OpenAI edits reply: ``{"data": [{"b64_json"|"url"}], "usage"}``."""
    document, inline = skeleton(response)
    return image_list_reply(document, inline, response.status)


def image_list_reply(document: dict[str, Any], inline: dict[str, InlineImage], status: int) -> ProviderReply:
    """The reply an images list (a call's, or one line of a batch's results) makes."""
    raise_embedded_error(document, status)
    sources = []
    for item in document.get("data") or []:
        if not isinstance(item, dict):
            continue
        found = inline.get(item.get("b64_json", "")) if isinstance(item.get("b64_json"), str) else None
        if found is not None:
            sources.append(ImageSource(inline=found))
        elif isinstance(item.get("url"), str):
            sources.append(ImageSource(url=item["url"]))
    reply = ProviderReply(images=sources, text=None, generation_id=document.get("id"), model=document.get("model"),
                          provider=None, usage=document.get("usage") or {}, document=document)
    if not sources:
        raise no_image(reply)
    return reply


def not_an_object(status: int, who: str = "the provider") -> Exception:
    return provider_error("provider_error", f"{who} sent JSON that is not an object", status=status)


def json_object(response: Response, who: str) -> dict[str, Any]:
    """A small JSON reply (no images in it) as an object, or the provider_error it is."""
    try:
        document = json.loads(bytes(response.body))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise provider_error("provider_error", f"{who} sent an answer that is not JSON (HTTP {response.status})",
                             status=response.status) from None
    if not isinstance(document, dict):
        raise not_an_object(response.status, who)
    return document


def text_of(content: Any) -> str | None:
    if isinstance(content, str):
        return content.strip() or None
    if isinstance(content, list):
        texts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        joined = "\n".join(t for t in texts if t).strip()
        return joined or None
    return None


BLOCK_WORDS = ("PROHIBITED", "SAFETY", "BLOCK", "RECITATION")


def no_image(reply: ProviderReply) -> Exception:
    """A reply without an image: a policy block (``moderation``, never retried) when a finish reason
    says so (``content_filter``, IMAGE_SAFETY, IMAGE_PROHIBITED_CONTENT, ...), else ``no_image``."""
    reason = reply.native_finish_reason or reply.finish_reason
    blocked = reply.finish_reason == "content_filter" or (
        reason is not None and any(word in reason.upper() for word in BLOCK_WORDS))
    message = "the model returned no image"
    if reason and reason.lower() not in ("stop", "end_turn"):
        message += f" (finish reason {reason})"
    extra = {"text_response": reply.text, "generation_id": reply.generation_id, "cost_usd": reply.cost_usd,
             "finish_reason": reply.finish_reason, "native_finish_reason": reply.native_finish_reason}
    if blocked:
        return provider_error("moderation", message, retryable=False, extra=extra,
                              details="the provider's safety filter blocked the image; rephrase the prompt "
                                      "(retrying will not help)")
    return provider_error("no_image", message, details="check that the model outputs images, or try another model",
                          retryable=True, extra=extra)
