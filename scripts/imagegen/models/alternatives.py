"""Live alternatives to a model that cannot be used: the ``fallback_models`` of an error document,
attached by :func:`with_fallbacks` wherever an error whose fix is another model is raised.

Best first: the registry's models in :data:`PREFERENCE` order (each alias resolved on the route),
then any other model the route's fresh catalogue lists with the same capabilities. With a
catalogue, only what it lists; without one (or when it lists none that fit), the registry's own.
The list is never empty for a route this tool can call.
"""

from __future__ import annotations

from typing import Any

from . import chains

# Which aliases to offer first: a good everyday model, then the stronger and the cheaper ones.
PREFERENCE = ("nanobanana-2", "flux.2-pro", "gpt-5-image", "nanobanana-pro", "nanobanana-2-lite",
              "gpt-5-image-mini", "flux.2-klein", "nanobanana")
OPENAI_PREFERENCE = ("gpt-image-2", "gpt-image-2.6-flare", "gpt-image-2.6-sunburst", "gpt-image-2.5-flare",
                     "gpt-image-2.5-sunburst")
EDITORS = ("gpt-image-2.5-flare", "gpt-image-2.5-sunburst", "gpt-image-2.6-flare", "gpt-image-2.6-sunburst",
           "gpt-image-2")
LIMIT = 6
# The kinds whose fix is another model: their documents always name some (``fallback_models``).
FALLBACK_KINDS = frozenset({"model_unavailable", "no_endpoint", "unsupported"})


def fallback_models(route: str, *, image_input: bool = False, role: str = "generate",
                    exclude: tuple[str, ...] = (), aspect_ratio: str | None = None,
                    size: str | None = None) -> list[str]:
    """Up to :data:`LIMIT` models ``route`` can use instead, best first (``image_input``: they must
    take input images, as an edit needs; ``aspect_ratio``, ``size``: they must make it, as far as
    the registry knows; ``role`` review or enhance: vision and text models)."""
    from . import listings

    if role in ("review", "enhance"):
        # then OpenRouter's (its ids name their maker, so they say which route takes them)
        sort, built_in = "text", list(dict.fromkeys(chains.default_chain(role, route)
                                                    + chains.default_chain(role, "openrouter")))
    elif route == "openai" and role == "edit":
        sort, built_in = "image", list(EDITORS)
    elif route == "openai":
        sort, built_in = "image", _openai_ids(image_input, aspect_ratio, size)
        if not built_in:  # no OpenAI model can: the models of the other routes that can
            return fallback_models("openrouter", image_input=image_input, exclude=exclude,
                                   aspect_ratio=aspect_ratio, size=size)
    else:
        sort, built_in = "image", _registry_ids(route, image_input, aspect_ratio, size)
    listed = listings.listed(route, sort)
    found = [m for m in built_in if listed is None or m in listed]
    if listed is not None and route == "openrouter" and sort == "image":
        found += sorted(m for m in listed if m not in found and _fits(m, image_input))
    found = [m for m in dict.fromkeys(found) if m not in exclude]
    return (found or [m for m in built_in if m not in exclude] or built_in)[:LIMIT]


def _registry_ids(route: str, image_input: bool, aspect_ratio: str | None, size: str | None) -> list[str]:
    """The first live candidate of each preferred alias on ``route`` that can do what is asked."""
    from .live import on_route
    from .table import BY_ALIAS

    ids = []
    for alias in PREFERENCE:
        if not chains.chain(alias, route):
            continue
        spec = on_route(BY_ALIAS[alias], route)
        if not _can(spec, image_input, aspect_ratio, size):
            continue
        ids.append(spec.id)
    return ids


def _openai_ids(image_input: bool, aspect_ratio: str | None, size: str | None) -> list[str]:
    """OpenAI's preferred models that can do what is asked, as ``models.direct_resolve`` describes them."""
    from .direct_resolve import direct_spec

    specs = [direct_spec(model, "openai") for model in OPENAI_PREFERENCE]
    return [spec.id for spec in specs if _can(spec, image_input, aspect_ratio, size)]


def _can(spec: Any, image_input: bool, aspect_ratio: str | None, size: str | None) -> bool:
    return not ((image_input and not spec.image_input) or (aspect_ratio and aspect_ratio not in spec.ratios)
                or (size and size not in spec.sizes))


def _fits(model_id: str, image_input: bool) -> bool:
    """Whether a catalogue-only OpenRouter model makes images (and takes them, when asked)."""
    from . import catalogue

    fresh = catalogue.fresh()
    entry = fresh.models.get(model_id) if fresh is not None else None
    if entry is None or "image" not in entry.get("output_modalities", []):
        return False
    return not image_input or "image" in entry.get("input_modalities", [])


def with_fallbacks(error: Any, route_name: str | None, model: str, *, role: str = "generate",
                   image_input: bool = False, exclude: tuple[str, ...] = ()) -> Any:
    """``error`` with ``fallback_models`` when its kind asks for them and it has none: live models of
    the route with the same capabilities, best first, ``model`` and ``exclude`` left out."""
    if getattr(error, "kind", None) in FALLBACK_KINDS and not error.extra.get("fallback_models"):
        error.extra["fallback_models"] = fallback_models(route_name or "openrouter", image_input=image_input,
                                                         role=role, exclude=(model, *exclude))
    return error
