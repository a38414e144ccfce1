"""OpenRouter's Images API (``POST {base}/images``): one call for ``n`` images.

Options left as None are not sent. The reply is ``{"data": [{"b64_json"|"url"}], "usage"}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from . import openrouter
from .call import Call
from .replies import parse_image_list

if TYPE_CHECKING:
    from ..http.client import Response
    from ..models.table import ModelSpec
    from .replies import ProviderReply


# Our size names -> the Images API's documented resolution tiers ("512" where chat says "0.5K").
RESOLUTIONS = {"0.5K": "512", "1K": "1K", "2K": "2K", "4K": "4K"}


def url() -> str:
    return openrouter.base_url() + "/images"


def body(spec: ModelSpec, prompt: str, *, reference_urls: Sequence[str] = (), aspect_ratio: str | None = None,
         resolution: str | None = None, n: int = 1, quality: str | None = None, output_format: str | None = None,
         background: str | None = None, seed: int | None = None, output_compression: int | None = None,
         ) -> dict[str, Any]:
    request: dict[str, Any] = {"model": spec.id, "prompt": prompt}
    tier = RESOLUTIONS.get(resolution, resolution) if resolution else None
    optional = (("resolution", tier), ("aspect_ratio", aspect_ratio), ("quality", quality),
                ("output_format", output_format), ("output_compression", output_compression),
                ("background", background), ("seed", seed))
    request.update({key: value for key, value in optional if value is not None})
    request["n"] = n
    if reference_urls:
        request["input_references"] = [{"type": "image_url", "image_url": {"url": u}} for u in reference_urls]
    return request


def call(request_body: dict[str, Any]) -> Call:
    return Call("openrouter", url(), openrouter.headers, parse, body=request_body, refine=openrouter.refine)


def parse(response: Response) -> ProviderReply:
    return parse_image_list(response)
