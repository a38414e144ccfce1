"""Model names resolved for a direct provider: ``nanobanana-2``, ``google/gemini-3-pro-image``
or ``gemini-3-pro-image`` on Google; ``gpt-image-2`` or ``openai/gpt-image-2`` on OpenAI.

An alias resolves through its chain on the provider; a model the provider has shut down moves to
its successor with a warning; an id the table does not know is sent as it is, priced unknown
(models are retired and added every few months: nothing here may depend on one being alive).
"""

from __future__ import annotations

from . import chains, direct_table
from .pricing import Pricing
from .table import BY_ALIAS, EXTRA_TALL_WIDE, STANDARD_RATIOS, STANDARD_SIZES, ModelSpec

PREFIXES = {"google": "google/", "openai": "openai/"}


def default_model(provider: str) -> str:
    """The provider's default: an alias for Google (resolved at run time), a model id for OpenAI."""
    return {"google": direct_table.GEMINI_DEFAULT, "openai": direct_table.OPENAI_DEFAULT}[provider]


def native_id(name: str, provider: str) -> str:
    """``name`` as the provider's own model id (an alias or an OpenRouter id translated)."""
    spec = BY_ALIAS.get(name) or BY_ALIAS.get(name.lower())
    if spec is not None:
        name = spec.id
    prefix = PREFIXES[provider]
    return name[len(prefix):] if name.lower().startswith(prefix) else name


def served_by(name: str, provider: str) -> bool:
    """Whether ``name`` can name a model of ``provider`` at all (a flux alias cannot be Google's)."""
    model = native_id(name, provider).lower()
    if "/" in model:
        return False
    return model.startswith(direct_table.GEMINI_PREFIX if provider == "google" else direct_table.OPENAI_PREFIXES)


def direct_spec(name: str, provider: str) -> ModelSpec:
    """The spec of ``name`` on ``provider`` (google or openai), a name :func:`served_by` the provider.

    An alias resolves through its chain on the provider (``models.chains``); an id the provider has
    shut down is moved to its successor, with a note: it is never sent."""
    aliased = BY_ALIAS.get(name) or BY_ALIAS.get(name.lower())
    candidates = chains.chain(aliased.alias, provider) if aliased is not None else ()
    if aliased is not None and candidates:
        choice = chains.choose(candidates, provider, aliased.alias)
        return _spec(choice.id, provider)._replace(requested=aliased.alias, successors=choice.rest,
                                                   notes=choice.notes)
    model = native_id(name, provider)
    moved = chains.moved(model, provider)
    if moved is not None:
        return _spec(moved[0], provider)._replace(notes=(moved[1],))  # named, then moved: no alias
    return _spec(model, provider)


def _spec(model: str, provider: str) -> ModelSpec:
    return _gemini(model) if provider == "google" else _openai(model)


def listed_models(provider: str) -> list[str]:
    """The models of ``provider`` a user can name (Google's with their aliases)."""
    if provider == "google":
        return [f"{entry.alias} ({model})" for model, entry in direct_table.GEMINI_MODELS.items()
                if not chains.moved(model, provider)]
    return list(direct_table.OPENAI_MODELS)


def _gemini(model: str) -> ModelSpec:
    entry = direct_table.gemini_model(model)
    if entry is None:  # a model newer than the table: send it, price unknown
        return ModelSpec(model, model, "gemini", ("image", "text"), True, 14, True, "structured",
                         STANDARD_RATIOS + EXTRA_TALL_WIDE, ("0.5K",) + STANDARD_SIZES, Pricing("unknown", guess=True),
                         "(not in the built-in table)", text_rendering=True, known=False, provider="google")
    ratios = STANDARD_RATIOS + (EXTRA_TALL_WIDE if entry.extreme_ratios else ())
    return ModelSpec(entry.alias, model, "gemini", ("image", "text"), True, entry.max_refs, True, "structured",
                     ratios, entry.sizes, Pricing("per_image", per_image=dict(entry.per_image), guess=True,
                                                  source="direct"),
                     entry.best_for, text_rendering=True, provider="google")


def _openai(model: str) -> ModelSpec:
    """gpt-image-2 makes any frame (1K, 2K and 4K tiers); older gpt-image models make three frames at 1K.
    Quality and frame set the price (see :func:`openai_pricing`)."""
    sizes = STANDARD_SIZES if direct_table.flexible(model) else ("1K",)
    return ModelSpec(model, model, "gpt", ("image",), False, 0, False, "natural", STANDARD_RATIOS, sizes,
                     openai_pricing(model, None), "text in images, transparent backgrounds", text_rendering=True,
                     known=direct_table.openai_model(model) is not None, provider="openai")


def openai_pricing(model: str, quality: str | None, frame: str = "1024x1024") -> Pricing:
    """Token pricing of one image of ``frame`` at ``quality``."""
    info = direct_table.openai_model(model)
    tokens = direct_table.output_tokens(quality, frame, model)
    if info is None or tokens is None:
        return Pricing("unknown", guess=True, source="direct")
    return Pricing("image_tokens", per_million_tokens=info.image_out, tokens_per_image=tokens, guess=True,
                   source="direct", note=info.price_source)
