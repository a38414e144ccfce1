"""What every OpenRouter endpoint shares: the base URL and the headers (the key, our app name)."""

from __future__ import annotations

from .. import config
from ..errors import ProviderError


def base_url() -> str:
    return config.base_url("openrouter")


def headers() -> dict[str, str]:
    """The key and OpenRouter's app attribution: ``HTTP-Referer`` (the app's page) and its title."""
    key = config.api_key("openrouter")
    return {"Authorization": f"Bearer {key}", "HTTP-Referer": config.app_url(), "X-OpenRouter-Title": "image-gen",
            "X-Title": "image-gen"}


def refine(error: ProviderError) -> ProviderError:
    """A failed status re-read from OpenRouter's error body (error_type, availability, raw reason)."""
    from . import errors

    return errors.refine(error, errors.openrouter)
