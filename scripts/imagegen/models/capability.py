"""The next model of the same capability: where the review loop goes after two rejects.

One small function against the registry as it stands (the built-in table for OpenRouter, the
direct tables for Google and OpenAI). "The same capability" is what the request needs of a model:
text rendering when the current model has it, image input when references are sent. Models are
taken in table order after the current one, never one already tried, never one marked retired.
"""

from __future__ import annotations

from collections.abc import Collection

from .table import MODELS, RETIRED_NOTES, ModelSpec


def next_model(spec: ModelSpec, tried: Collection[str] = (), *, needs_image_input: bool = False) -> str | None:
    """The id of the model to try after ``spec`` on its provider, or None when none is left.

    ``tried`` holds ids (or aliases) already used by this run; ``spec`` itself is always skipped.
    """
    skip = {spec.id, spec.alias, *tried}
    if spec.provider != "openrouter":
        return _next_direct(spec, skip)
    order = [m for m in MODELS if m.id not in RETIRED_NOTES]
    start = next((i + 1 for i, m in enumerate(order) if m.id == spec.id), 0)
    for candidate in order[start:] + order[:start]:
        if candidate.id in skip or candidate.alias in skip:
            continue
        if spec.text_rendering and not candidate.text_rendering:
            continue
        if needs_image_input and not candidate.image_input:
            continue
        return candidate.id
    return None


def _next_direct(spec: ModelSpec, skip: set[str]) -> str | None:
    """The next model in the provider's table that is not one already used under another id (a GA id and
    its preview share an alias) and makes images as large as ``spec`` does."""
    from .chains import SHUT_DOWN
    from .direct_table import GEMINI_MODELS, OPENAI_MODELS
    from .pricing import SIZE_SCALE

    gone = SHUT_DOWN.get(spec.provider, {})  # kept in the price table for old records, never sent
    table = [m for m in (GEMINI_MODELS if spec.provider == "google" else OPENAI_MODELS) if m not in gone]
    own = spec.id.split("/")[-1]
    start = table.index(own) + 1 if own in table else 0
    used = {GEMINI_MODELS[name].alias for name in {own, *skip} if name in GEMINI_MODELS} | {spec.alias}

    def largest(sizes: Collection[str]) -> float:
        return max((SIZE_SCALE.get(size, 0.0) for size in sizes), default=0.0)

    for candidate in table[start:] + table[:start]:
        if candidate == own or candidate in skip or f"{spec.provider}/{candidate}" in skip:
            continue
        entry = GEMINI_MODELS.get(candidate) if spec.provider == "google" else None
        if entry is not None and (entry.alias in used or largest(entry.sizes) < largest(spec.sizes)):
            continue
        return candidate
    return None
