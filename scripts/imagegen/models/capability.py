"""The next model of the same capability: where the review loop goes after two rejects.

One small function against the registry as it stands (the built-in table for OpenRouter, the
direct tables for Google and OpenAI). "The same capability" is what the request needs of a model:
text rendering when the current model has it, image input when references are sent. Models are
taken in table order after the current one, never one already tried, never one marked retired.
"""

from __future__ import annotations

from collections.abc import Collection

from .registry import MODELS, RETIRED_NOTES, ModelSpec


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
    from .direct import GEMINI_MODELS, OPENAI_MODELS

    table = list(GEMINI_MODELS if spec.provider == "google" else OPENAI_MODELS)
    own = spec.id.split("/")[-1]
    start = table.index(own) + 1 if own in table else 0
    for candidate in table[start:] + table[:start]:
        if candidate != own and candidate not in skip and f"{spec.provider}/{candidate}" not in skip:
            return candidate
    return None
