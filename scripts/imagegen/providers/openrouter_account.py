"""OpenRouter's free GET endpoints: the image-model list (``/models``) and the key's limits (``/key``).

Neither costs money, so they do not go through the paid-call path; they are read here, like every
other reply, so that nothing outside ``providers/`` reads a provider's JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import provider_error
from . import openrouter

if TYPE_CHECKING:
    from ..http.client import HttpClient


def image_models(client: HttpClient, *, with_key: bool, output: str = "image") -> list[Any]:
    """The raw entries of ``GET /models?output_modalities=image`` (``output``: text for the text
    models the review and enhance chains use); ProviderError when it is not a list."""
    headers = openrouter.headers() if with_key else {}
    response = client.get(openrouter.base_url() + f"/models?output_modalities={output}", headers)
    document = response.json()
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        raise provider_error("provider_error", "GET /models did not return a model list",
                             details="expected {\"data\": [...]}", status=response.status)
    return data


def key_limits(client: HttpClient) -> dict[str, Any] | None:
    """The key's ``data`` object from ``GET /key`` (limit, usage, ...), or None when there is none."""
    response = client.get(openrouter.base_url() + "/key", {"Authorization": openrouter.headers()["Authorization"]})
    document = response.json()
    data = document.get("data") if isinstance(document, dict) else None
    return data if isinstance(data, dict) else None


def generation_cost(client: HttpClient, generation_id: str) -> float | None:
    """``data.total_cost`` of ``GET /generation?id=…`` (what a call cost when its reply did not say), or None."""
    from urllib.parse import quote

    response = client.get(openrouter.base_url() + "/generation?id=" + quote(generation_id, safe=""),
                          {"Authorization": openrouter.headers()["Authorization"]})
    document = response.json()
    data = document.get("data") if isinstance(document, dict) else None
    cost = data.get("total_cost") if isinstance(data, dict) else None
    if isinstance(cost, bool) or not isinstance(cost, (int, float)) or not 0 <= cost < 1000:
        return None
    return float(cost)


def image_discovery(client: HttpClient, *, with_key: bool) -> list[dict[str, Any]]:
    """``GET /images/models``: each image model's modalities and ``supported_parameters`` descriptors."""
    headers = openrouter.headers() if with_key else {}
    document = client.get(openrouter.base_url() + "/images/models", headers).json()
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        raise provider_error("provider_error", "GET /images/models did not return a model list",
                             details="expected {\"data\": [...]}")
    return [item for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]


def image_endpoints(client: HttpClient, model_id: str, *, with_key: bool) -> list[dict[str, Any]]:
    """``GET /images/models/{id}/endpoints``: per provider, its supported parameters and pricing lines."""
    from urllib.parse import quote

    headers = openrouter.headers() if with_key else {}
    document = client.get(openrouter.base_url() + f"/images/models/{quote(model_id, safe='/')}/endpoints",
                          headers).json()
    if not isinstance(document, dict):
        return []
    # The OpenAPI spec's ImageModelEndpointsResponse is {"id", "endpoints": [...]} at top level; a
    # {"data": {...}} wrapper (an older reading of it) is still understood.
    wrapped = document.get("data")
    found = document.get("endpoints", wrapped.get("endpoints") if isinstance(wrapped, dict) else None)
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


MAX_ENDPOINT_LOOKUPS = 60


def refresh_catalogue(client: HttpClient, *, with_key: bool) -> dict[str, Any]:
    """Fetch the chat-side model list, the image discovery and each model's endpoints; cache them.
    Returns what ``models.py --refresh`` reports (new models, what the discovery added)."""
    from ..errors import ImageGenError, OutputError
    from ..models import catalogue, table
    from ..models.alternatives import with_fallbacks

    before = set(table.BY_ID) | set(catalogue.extra_ids(table.BY_ID))
    try:
        entries = image_models(client, with_key=with_key)
    except ImageGenError as error:  # a 404 is no_endpoint, which names models to use like any other
        raise with_fallbacks(error, "openrouter", "") from None
    fetched = catalogue.from_entries(entries)
    capabilities = _add_capabilities(fetched, client, with_key=with_key)
    try:
        catalogue.save(fetched)
    except OSError as error:
        raise OutputError(f"could not write the model cache {fetched.path}: {error.strerror or error}",
                          details="fix the permissions of the cache directory or set XDG_CACHE_HOME") from None
    added = sorted(set(fetched.models) - before - set(table.BY_ID))
    return {"refreshed": True, "new_models": added, "capabilities": capabilities,
            "text_models": _refresh_text_models(client, with_key=with_key)}


def _refresh_text_models(client: HttpClient, *, with_key: bool) -> str:
    """Cache the ids of ``GET /models?output_modalities=text`` (OpenRouter's models API: text is also
    what the list holds without the filter), which the review and enhance chains resolve against;
    what was learnt, in words. The image catalogue is usable without it, so a failure is a note."""
    from ..errors import ImageGenError
    from ..models import listings

    try:
        entries = image_models(client, with_key=with_key, output="text")
    except ImageGenError as error:
        if error.kind == "interrupted":
            raise  # the caller cancelled: nothing is cached
        return f"not available ({error.message}); the review and enhance models are not checked"
    ids = [item["id"] for item in entries if isinstance(item, dict) and isinstance(item.get("id"), str)
           and 0 < len(item["id"]) <= 200]
    try:
        listings.save(listings.OPENROUTER_TEXT, ids)
    except OSError as error:
        return f"not cached ({error.strerror or error})"
    return f"{len(set(ids))} text models"


def _add_capabilities(fetched: Any, client: HttpClient, *, with_key: bool) -> str:
    """Add ``GET /images/models`` and each model's endpoints to ``fetched``; what was learnt, in words.
    The chat-side list alone still makes a usable catalogue, so a failure here is a note, not an error."""
    from ..errors import ImageGenError
    from ..models import catalogue

    try:
        discovered = image_discovery(client, with_key=with_key)
    except ImageGenError as error:
        if error.kind == "interrupted":
            raise  # the caller cancelled: nothing is cached
        return f"not available ({error.message}); prices come from GET /models only"
    endpoints: dict[str, list[dict[str, Any]]] = {}
    for item in discovered[:MAX_ENDPOINT_LOOKUPS]:
        try:
            endpoints[item["id"]] = image_endpoints(client, item["id"], with_key=with_key)
        except ImageGenError as error:
            if error.kind == "interrupted":
                raise
            continue  # that model keeps its chat-side prices
    catalogue.add_discovery(fetched, discovered, endpoints)
    priced = sum(1 for found in endpoints.values() if catalogue.priced_endpoint(found) is not None)
    return f"{len(discovered)} image models, {priced} with endpoint prices"
