"""OpenAI image edits (``POST {OPENAI_BASE_URL}/images/edits``): mask inpainting with gpt-image models.

The multipart form is built by one pure function (:func:`form`) that the run and ``--dry-run``
share. ``response_format`` is never sent: gpt-image models answer it with HTTP 400 and always
return base64 anyway. OpenAI reports token counts, not a price; :func:`cost_from_usage` prices
them at list rates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from .. import config
from ..errors import ProviderError
from ..http.multipart import FilePart
from .call import Call
from .replies import parse_image_list

if TYPE_CHECKING:
    from ..http.client import Response
    from ..images.files import InputImage
    from ..images.masks import Mask
    from .replies import ProviderReply

DEFAULT_MODEL = "gpt-image-2"
PRICES_AS_OF = "2026-12-01"


class OpenAIModel(NamedTuple):
    """What one OpenAI image model takes, and its prices in USD per million tokens."""

    text_in: float
    image_in: float
    text_out: float
    image_out: float
    input_fidelity: bool  # takes input_fidelity (gpt-image-2 must not get it)
    markup: bool  # takes a markup overlay (GPT Image 2.5)
    prices_known: bool  # False: the rates are assumed from the family's, not OpenAI's list


# The models OpenAI serves (api-notes.md, checked on PRICES_AS_OF). gpt-image-1 was shut down on
# 2026-10-23; gpt-image-1-mini, gpt-image-1.5 and chatgpt-image-latest on 2026-12-01. The 2.x rates
# are gpt-image-1's list prices until OpenAI's list is read here: every estimate from them says so.
_FAMILY_RATES = (5.0, 10.0, 10.0, 40.0)
MODELS = {
    "gpt-image-2": OpenAIModel(*_FAMILY_RATES, input_fidelity=False, markup=False, prices_known=False),
    **{name: OpenAIModel(*_FAMILY_RATES, input_fidelity=True, markup=name.startswith("gpt-image-2.5"),
                         prices_known=False)
       for name in ("gpt-image-2.5-sunburst", "gpt-image-2.5-flare", "gpt-image-2.6-sunburst", "gpt-image-2.6-flare")},
}
RETIRED = {"gpt-image-1": "2026-10-23", "gpt-image-1-mini": "2026-12-01", "gpt-image-1.5": "2026-12-01",
           "chatgpt-image-latest": "2026-12-01"}
# Output tokens per image by quality and size, from OpenAI's image generation guide.
OUTPUT_TOKENS = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}


def model_info(model: str) -> OpenAIModel | None:
    """The table's entry for ``model`` (a dated snapshot such as gpt-image-2-2026-06-01 counts as its model)."""
    if model in MODELS:
        return MODELS[model]
    base = max((name for name in MODELS if model.startswith(name + "-")), key=len, default=None)
    return MODELS[base] if base else None


def available_models(client: Any) -> list[str]:
    """The image models this key can use, from ``GET /models`` (ids starting ``gpt-image``)."""
    document = client.get(config.base_url("openai") + "/models", headers()).json()
    data = document.get("data") if isinstance(document, dict) else None
    ids = [item.get("id") for item in data if isinstance(item, dict)] if isinstance(data, list) else []
    return sorted(i for i in ids if isinstance(i, str) and i.startswith(("gpt-image", "chatgpt-image")))


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
         ) -> tuple[tuple[tuple[str, str], ...], tuple[FilePart, ...]]:
    """The fields and files of an /images/edits form. Options left as None are not sent."""
    fields = [("prompt", prompt), ("model", model), ("n", str(n))]
    optional = (("size", size), ("quality", quality), ("output_format", output_format),
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

    return errors.refine(error, errors.openai)


def parse(response: Response, model: str) -> ProviderReply:
    """``{"data": [{"b64_json"}], "usage"}``, named and priced (OpenAI's replies carry neither)."""
    reply = parse_image_list(response)
    reply.provider = reply.provider or "OpenAI"
    reply.model = reply.model or model
    cost = cost_from_usage(model, reply.usage)
    if cost is not None:
        reply.usage = {**reply.usage, "cost": cost}
    return reply


def _count(details: Any, name: str) -> int | None:
    value = details.get(name) if isinstance(details, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def cost_from_usage(model: str, usage: dict[str, Any]) -> float | None:
    """The price of a reply from its token counts: text and image tokens, in and out, each at its own rate."""
    info = model_info(model)
    inputs, outputs = usage.get("input_tokens_details"), usage.get("output_tokens_details")
    text_in, image_in = _count(inputs, "text_tokens"), _count(inputs, "image_tokens")
    text_out, image_out = _count(outputs, "text_tokens"), _count(outputs, "image_tokens")
    if image_out is None and text_out is None:  # older replies give only the total, all image tokens
        image_out, text_out = _count(usage, "output_tokens"), 0
    counts = (text_in, image_in, text_out, image_out)
    if info is None or any(c is None for c in counts):
        return None
    rates = (info.text_in, info.image_in, info.text_out, info.image_out)
    return round(sum(rate * count for rate, count in zip(rates, counts)) / 1_000_000, 6)  # type: ignore[operator]


def estimate_usd(model: str, quality: str | None, size: str, count: int) -> float | None:
    """What ``count`` images of ``size`` should cost, from the output-token table (None: unknown)."""
    info = model_info(model)
    tokens = OUTPUT_TOKENS["high" if quality in (None, "auto") else quality].get(size)
    if info is None or tokens is None:
        return None
    return round(info.image_out * tokens / 1_000_000 * count, 4)
