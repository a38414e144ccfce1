"""The live alternatives an error names: an error whose fix is another model carries
``fallback_models`` (best first, from ``models.alternatives``) whichever part of the pipeline raised it."""

from __future__ import annotations

from typing import Any

# The kinds whose fix is another model: their documents always name some (``fallback_models``).
FALLBACK_KINDS = frozenset({"model_unavailable", "no_endpoint", "unsupported"})


def with_fallbacks(error: Any, route_name: str | None, model: str, *, role: str = "generate",
                   image_input: bool = False, exclude: tuple[str, ...] = ()) -> Any:
    """``error`` with ``fallback_models`` when its kind asks for them and it has none: live models of
    the route with the same capabilities, best first, ``model`` and ``exclude`` left out."""
    if getattr(error, "kind", None) in FALLBACK_KINDS and not error.extra.get("fallback_models"):
        from ..models.alternatives import fallback_models

        error.extra["fallback_models"] = fallback_models(route_name or "openrouter", image_input=image_input,
                                                         role=role, exclude=(model, *exclude))
    return error
