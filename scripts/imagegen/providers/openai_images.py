"""OpenAI's Images API: generations (``POST {OPENAI_BASE_URL}/images/generations``, JSON) and
edits (``POST {OPENAI_BASE_URL}/images/edits``, multipart: mask inpainting) with gpt-image models.

The multipart form is built by one pure function (:func:`form`) that the run and ``--dry-run``
share. ``response_format`` is never sent: gpt-image models answer it with HTTP 400 and always
return base64 anyway. OpenAI reports token counts, not a price; ``models.direct_table`` prices them at
list rates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import config
from ..errors import ProviderError
from ..http.multipart import FilePart
from ..models import direct_table
from .call import Call
from .replies import parse_image_list

if TYPE_CHECKING:
    from ..http.client import Response
    from ..images.files import InputImage
    from ..images.masks import Mask
    from .replies import ProviderReply

DEFAULT_MODEL = direct_table.OPENAI_DEFAULT


def available_models(client: Any) -> list[str]:
    """The image models this key can use, from ``GET /models`` (ids starting ``gpt-image``)."""
    document = client.get(config.base_url("openai") + "/models", headers()).json()
    data = document.get("data") if isinstance(document, dict) else None
    ids = [item.get("id") for item in data if isinstance(item, dict)] if isinstance(data, list) else []
    return sorted(i for i in ids if isinstance(i, str) and i.startswith(("gpt-image", "chatgpt-image")))


def generations_url() -> str:
    return config.base_url("openai") + "/images/generations"


def generation_body(model: str, prompt: str, *, size: str, n: int = 1, quality: str | None = None,
                    output_format: str | None = None, background: str | None = None,
                    output_compression: int | None = None, moderation: str | None = None) -> dict[str, Any]:
    """The /images/generations body (gpt-image models always answer base64: no response_format)."""
    body: dict[str, Any] = {"model": model, "prompt": prompt, "n": n, "size": size}
    optional = (("quality", quality), ("output_format", output_format), ("background", background),
                ("output_compression", output_compression), ("moderation", moderation))
    body.update({name: value for name, value in optional if value is not None})
    return body


def generation_call(body: dict[str, Any]) -> Call:
    model = str(body.get("model"))
    return Call("openai", generations_url(), headers, lambda response: parse(response, model), body=body,
                refine=refine)


def edits_url() -> str:
    return config.base_url("openai") + "/images/edits"


def headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {config.api_key('openai')}"}


def upload_name(image: InputImage) -> str:
    """The file's own name, with the extension of its real format (OpenAI trusts the extension)."""
    from ..images.files import EXTENSIONS

    path = image.path
    real = EXTENSIONS[image.format]
    allowed = (".jpg", ".jpeg") if image.format == "jpeg" else (real,)
    return path.name if path.suffix.lower() in allowed else path.stem + real


def form(prompt: str, model: str, inputs: list[InputImage], mask: Mask | None, *,
         size: str | None = None, quality: str | None = None, n: int = 1, output_format: str | None = None,
         background: str | None = None, input_fidelity: str | None = None, markup: InputImage | None = None,
         output_compression: int | None = None) -> tuple[tuple[tuple[str, str], ...], tuple[FilePart, ...]]:
    """The fields and files of an /images/edits form. Options left as None are not sent."""
    fields = [("prompt", prompt), ("model", model), ("n", str(n))]
    optional = (("size", size), ("quality", quality), ("output_format", output_format),
                ("output_compression", None if output_compression is None else str(output_compression)),
                ("background", background), ("input_fidelity", input_fidelity))
    fields += [(name, value) for name, value in optional if value is not None]
    image_field = "image" if len(inputs) == 1 else "image[]"
    files = [FilePart(image_field, upload_name(i), i.mime, i.data) for i in inputs]
    if mask is not None:
        name = mask.path.name if mask.path else "mask.png"
        files.append(FilePart("mask", name, "image/png", mask.data))
    if markup is not None:
        files.append(FilePart("markup", upload_name(markup), markup.mime, markup.data))
    return tuple(fields), tuple(files)


def edit_call(fields: tuple[tuple[str, str], ...], files: tuple[FilePart, ...], model: str) -> Call:
    return Call("openai", edits_url(), headers, lambda response: parse(response, model), fields=fields, files=files,
                refine=refine)


def refine(error: ProviderError) -> ProviderError:
    """A failed status re-read from OpenAI's error body (``moderation_blocked``, ``model_not_found``, ...)."""
    from . import errors

    return errors.refine_attempt(error, errors.openai)


def parse(response: Response, model: str) -> ProviderReply:
    """``{"data": [{"b64_json"}], "usage"}``, named and priced (OpenAI's replies carry neither)."""
    reply = parse_image_list(response)
    reply.provider = reply.provider or "OpenAI"
    reply.model = reply.model or model
    cost = direct_table.openai_cost(model, reply.usage)
    if cost is not None:
        reply.usage = {**reply.usage, "cost": cost}
    return reply
