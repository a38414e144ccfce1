"""Each route's free model list, fetched and cached for ``models.listings``: OpenRouter's image
catalogue (``openrouter_account``), Google's ``GET /v1beta/models`` and OpenAI's ``GET /v1/models``.

Google lists ``{"models": [{"name": "models/<id>", "supportedGenerationMethods": [...]}],
"nextPageToken"}`` (ai.google.dev API reference, models.list; python-genai ``ListModelsResponse``);
OpenAI lists ``{"object": "list", "data": [{"id", "object": "model", "owned_by"}]}``
(openai-python ``types/model.py``). Only ids are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import config
from ..errors import provider_error

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..http.client import HttpClient

MAX_PAGES = 10


def refresh_all(*, timeout: float, retries: int, quiet: bool = False,
                cancelled: Callable[[], bool] | None = None) -> dict[str, Any]:
    """``models.py --refresh``: OpenRouter's image catalogue (with its key when one is set), and the
    model lists of Google and OpenAI for the routes whose key is set (a failure there is a note: the
    OpenRouter catalogue is refreshed either way). ``cancelled`` (an MCP call's) breaks it off."""
    from ..errors import ImageGenError
    from ..http.client import HttpClient

    secrets = [config.api_key(route) for route in ("openrouter", "google", "openai") if config.key_variable(route)]
    client = HttpClient(timeout=timeout, retries=retries, secrets=secrets, verbose=not quiet, cancelled=cancelled)
    result = refresh("openrouter", client, with_key=config.key_variable("openrouter") is not None)
    lists: dict[str, Any] = {}
    for route in ("google", "openai"):
        if not config.key_variable(route):
            continue
        try:
            lists[route] = refresh(route, client, with_key=True)
        except ImageGenError as error:
            if error.kind == "interrupted":
                raise
            lists[route] = {"refreshed": False, "error": f"{error.kind}: {error.message}"}
    result["model_lists"] = lists
    return result


def refresh(route: str, client: HttpClient, *, with_key: bool) -> dict[str, Any]:
    """Fetch and cache ``route``'s model list; what was learnt, for ``models.py --refresh``."""
    if route == "openrouter":
        from .openrouter_account import refresh_catalogue

        return refresh_catalogue(client, with_key=with_key)
    from ..models import listings

    ids = google_models(client) if route == "google" else openai_models(client)
    try:
        listings.save(route, ids)
    except OSError as error:
        from ..errors import OutputError

        raise OutputError(f"could not write the model list {listings.path(route)}: {error.strerror or error}",
                          details="fix the permissions of the cache directory or set XDG_CACHE_HOME") from None
    return {"refreshed": True, "models": len(ids)}


def google_models(client: HttpClient) -> list[str]:
    """The ids of the Gemini API models that take generateContent (every page, at most :data:`MAX_PAGES`)."""
    from . import gemini

    ids: list[str] = []
    token = ""
    for _ in range(MAX_PAGES):
        url = gemini.base_url() + "/models?pageSize=1000" + (f"&pageToken={quote(token, safe='')}" if token else "")
        document = client.get(url, gemini.headers()).json()
        models = document.get("models") if isinstance(document, dict) else None
        if not isinstance(models, list):
            raise provider_error("provider_error", "GET /v1beta/models did not return a model list",
                                 details='expected {"models": [...]}')
        for item in models:
            name = item.get("name") if isinstance(item, dict) else None
            methods = item.get("supportedGenerationMethods") if isinstance(item, dict) else None
            if isinstance(name, str) and (not isinstance(methods, list) or "generateContent" in methods):
                ids.append(name.removeprefix("models/"))
        token = document.get("nextPageToken") if isinstance(document.get("nextPageToken"), str) else ""
        if not token:
            break
    return ids


def openai_models(client: HttpClient) -> list[str]:
    """Every model id the OpenAI key can use."""
    document = client.get(config.base_url("openai") + "/models",
                          {"Authorization": f"Bearer {config.api_key('openai')}"}).json()
    data = document.get("data") if isinstance(document, dict) else None
    if not isinstance(data, list):
        raise provider_error("provider_error", "GET /v1/models did not return a model list",
                             details='expected {"data": [...]}')
    return [item["id"] for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]
