"""The model registry: a name resolved to the spec a run uses, and cost estimates.

The built-in table (``models.table``) is the fallback. After ``models.py --refresh`` a fresh catalogue
cache (see :mod:`imagegen.models.catalogue`) overrides prices and capabilities of known ids and adds new
image models by full id; :func:`resolve` and :func:`all_models` apply it (``models.live``).
"""

from __future__ import annotations

import math

from ..errors import UsageError
from ..record import Record
from . import chains
from .live import as_candidate, live, on_route
from .pricing import MEGAPIXEL, RATIO_PIXELS_1K, SIZE_SCALE, Pricing
from .table import BY_ALIAS, BY_ID, DEFAULT_MODEL, DIRECT_ROUTES, MODELS, PRICES_AS_OF, ModelSpec, assumed


def serves(provider: str | None, name: str) -> bool:
    """Whether ``provider`` can serve ``name``: OpenRouter (and no provider named) takes any name,
    Google and OpenAI only their own models."""
    if provider not in DIRECT_ROUTES:
        return True
    from .direct_resolve import served_by

    return served_by(name, provider)


def default_for(provider: str | None) -> str:
    """The model a run on ``provider`` uses when nothing names one."""
    if provider not in DIRECT_ROUTES:
        return DEFAULT_MODEL
    from .direct_resolve import default_model

    return default_model(provider)


def aliases() -> list[str]:
    return list(BY_ALIAS)


def provider_named_by(name: str) -> str | None:
    """The provider a bare model id belongs to (gemini-... is Google's, gpt-image-... OpenAI's), else None."""
    lowered = name.strip().lower()
    if lowered in BY_ALIAS:
        return None  # an alias names an OpenRouter model: the direct price tables stay unloaded
    from .direct_table import GEMINI_PREFIX, OPENAI_PREFIXES

    if lowered.startswith(GEMINI_PREFIX):
        return "google"
    if lowered.startswith(OPENAI_PREFIXES):
        return "openai"
    return None


def resolve(name: str, provider: str | None = None) -> ModelSpec:
    """Find a model by alias or full id for ``provider`` (None: the one a bare id names, else OpenRouter);
    unknown full ids get safe assumptions.

    For OpenRouter a fresh live catalogue (``models.py --refresh``) supplies prices and capabilities;
    Google's and OpenAI's models come from ``models.direct_table``.
    """
    provider = provider or provider_named_by(name) or "openrouter"
    name = name.strip()
    if provider in DIRECT_ROUTES:
        return _direct(name, provider)
    aliased = BY_ALIAS.get(name) or BY_ALIAS.get(name.lower())
    if aliased is not None:
        return with_expiry(on_route(aliased, "openrouter"))
    spec = BY_ID.get(name)
    if spec is not None:
        return with_expiry(live(spec))
    if "/" in name and all(part.strip() for part in name.split("/", 1)):
        return with_expiry(live(assumed(name)))
    from ..config import script_command

    raise UsageError(
        f"unknown model {name!r}",
        details=did_you_mean(name) + "use an alias (" + ", ".join(aliases()) + ") or a full OpenRouter id such "
                f"as vendor/model ({script_command('models.py')} lists them)",
        kind="unknown_model",
    )


def _direct(name: str, provider: str) -> ModelSpec:
    """``name`` on Google or OpenAI, called directly; UsageError (with the models it serves) when the
    provider has no such model."""
    from . import direct_table
    from .direct_resolve import direct_spec, listed_models, served_by

    if not served_by(name, provider):
        from .alternatives import fallback_models

        raise UsageError(f"{name} is not a model of {direct_table.NAMES[provider]}",
                         details=f"use one of {', '.join(listed_models(provider))}, or drop --provider {provider} "
                                 "to go through OpenRouter", kind="unknown_model",
                         extra={"fallback_models": fallback_models(provider)})
    return direct_spec(name, provider)


def did_you_mean(name: str) -> str:
    """``"did you mean nanobanana? "`` for a near miss of an alias (as a mistyped flag gets), else ``""``."""
    import difflib

    close = difflib.get_close_matches(name.lower(), aliases(), n=1, cutoff=0.75)
    return f"did you mean {close[0]}? " if close else ""


def successor(spec: ModelSpec) -> ModelSpec:
    """``spec`` with the next candidate of its chain as the model (the chosen one is gone)."""
    moved = as_candidate(spec, spec.successors[0])._replace(successors=spec.successors[1:], notes=())
    return live(moved) if spec.provider == "openrouter" else moved


def with_expiry(spec: ModelSpec) -> ModelSpec:
    """``spec`` with a note when its route's catalogue says it expires within 30 days (or has)."""
    from . import listings

    expires = listings.expiration(spec.id, spec.provider)
    # The date window first: only a model near its end needs a successor found for it.
    if chains.expiry_warning(spec.id, expires, None) is None:
        return spec
    from .alternatives import fallback_models

    successor = spec.successors[0] if spec.successors else next(iter(fallback_models(
        spec.provider, image_input=spec.image_input, exclude=(spec.id,))), None)
    warning = chains.expiry_warning(spec.id, expires, successor)
    return spec._replace(notes=spec.notes + (warning,)) if warning else spec


def all_models() -> list[ModelSpec]:
    """The registry's aliases resolved against the live catalogue, then image models only it knows."""
    from . import catalogue

    known = [resolve(spec.alias) for spec in MODELS]  # each alias as a run would resolve it now
    return known + [catalogue.apply(assumed(model_id)) for model_id in catalogue.extra_ids(BY_ID)]


def pixels(aspect_ratio: str, size: str) -> tuple[int, int]:
    """Approximate output pixels for a ratio and size (what an estimate bills on)."""
    width, height = RATIO_PIXELS_1K.get(aspect_ratio, (1024, 1024))
    scale = SIZE_SCALE.get(size, 1.0)
    return int(width * scale), int(height * scale)


class Estimate(Record):
    """An expected price with the arithmetic behind it; ``guess`` when prices or token counts are assumed."""

    usd: float | None
    basis: str
    guess: bool


def megapixels(aspect_ratio: str, size: str) -> int:
    """Megapixels billed for one image: started megapixels count whole, as FLUX bills them."""
    width, height = pixels(aspect_ratio, size)
    return max(1, math.ceil(width * height / MEGAPIXEL - 1e-9))


def image_tokens(pricing: Pricing, aspect_ratio: str, provider: str = "openrouter") -> int:
    """Output tokens of one token-billed image: non-square frames cost about half as much again.
    OpenAI's pricing is counted for the very frame the plan asks for (``direct_resolve.openai_pricing``)."""
    if provider == "openai":
        return pricing.tokens_per_image
    return int(pricing.tokens_per_image * (1.0 if aspect_ratio == "1:1" else 1.5))


def estimate(spec: ModelSpec, aspect_ratio: str, size: str, count: int = 1, *, batch: bool = False) -> Estimate:
    """The expected price of ``count`` images of ``aspect_ratio`` at ``size``, and how it was reached
    (``batch``: at a provider batch engine's rate)."""
    pricing = spec.pricing
    width, height = pixels(aspect_ratio, size)
    guess = pricing.guess
    if pricing.kind == "per_mp":
        mp = megapixels(aspect_ratio, size)
        each = pricing.first_mp + pricing.further_mp * (mp - 1)
        basis = (f"{mp} MP ({width}x{height}): ${pricing.first_mp:g} first MP"
                 + (f" + {mp - 1} x ${pricing.further_mp:g}" if mp > 1 else ""))
    elif pricing.kind == "per_image":
        price = pricing.per_image.get(size)
        if price is None:
            price = max(pricing.per_image.values(), default=0.0)
            guess = True
        each = price
        basis = f"${price:g} per image at {size}"
    elif pricing.kind == "image_tokens":
        tokens = image_tokens(pricing, aspect_ratio, spec.provider)
        each = pricing.per_million_tokens * tokens / 1_000_000
        basis = f"about {tokens} image tokens at ${pricing.per_million_tokens:g}/M"
        guess = True  # the provider decides the token count
    elif spec.provider != "openrouter":
        return Estimate(None, f"price unknown ({spec.id} is not in the built-in table of direct prices)", True)
    else:
        return Estimate(None, "price unknown (models.py --refresh fetches live prices)", True)
    if count > 1:
        basis += f", x {count} images"
    if batch:
        from .direct_table import BATCH_DISCOUNT

        each *= BATCH_DISCOUNT
        basis += f", at the batch rate ({BATCH_DISCOUNT:.0%} of the standard price)"
    if pricing.source == "live":
        basis += " (live price)"
    elif pricing.source == "direct":
        from .direct_table import NAMES
        from .direct_table import PRICES_AS_OF as DIRECT_AS_OF

        source = f"; {pricing.note}" if pricing.note else ""
        basis += (f" (list price of {NAMES[spec.provider]}, from the built-in table of {DIRECT_AS_OF}{source}: "
                  "an estimate)")
        guess = True
    else:
        basis += f" (built-in price table of {PRICES_AS_OF}, the offline fallback: models.py --refresh for live prices)"
    return Estimate(round(each * count, 4), basis, guess)


def estimate_usd(spec: ModelSpec, aspect_ratio: str, size: str, count: int = 1, *,
                 batch: bool = False) -> float | None:
    """The expected price of ``count`` images, or None when the model's price is unknown."""
    return estimate(spec, aspect_ratio, size, count, batch=batch).usd


def format_estimate(value: float | None) -> str:
    return "unknown" if value is None else f"~${value:.3f}"
