"""The model registry: aliases, OpenRouter ids, capabilities, prices and cost estimates.

The built-in table below is the fallback. After ``models.py --refresh`` a fresh catalogue cache
(see :mod:`imagegen.models.catalogue`) overrides prices and capabilities of known ids and adds new image
models by full id; :func:`resolve` and :func:`all_models` apply it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from ..errors import UsageError
from . import chains
from .pricing import MEGAPIXEL, RATIO_PIXELS_1K, SIZE_SCALE, Pricing

STANDARD_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
EXTRA_TALL_WIDE = ("1:4", "4:1", "1:8", "8:1")
STANDARD_SIZES = ("1K", "2K", "4K")

class ModelSpec(NamedTuple):
    alias: str
    id: str
    family: str  # "flux" | "gpt" | "gemini" | "other"
    output_modalities: tuple[str, ...]
    image_input: bool
    max_refs: int
    system_message: bool
    prompt_format: str  # "flux_json" | "natural" | "structured"
    ratios: tuple[str, ...]
    sizes: tuple[str, ...]
    pricing: Pricing
    best_for: str
    text_rendering: bool = False
    upsampling: bool = False
    known: bool = True
    provider: str = "openrouter"  # who is called: openrouter, or google / openai directly
    requested: str | None = None  # the alias or default chain the id was resolved from (None: named)
    successors: tuple[str, ...] = ()  # the chain's later candidates, tried once if the id is gone
    notes: tuple[str, ...] = ()  # what resolving said: a shut-down id moved on, an expiry coming

    @property
    def model_alias(self) -> str | None:
        """The alias a run reports beside the id it used (``model_alias``): None for a named id."""
        return self.requested

    @property
    def slug(self) -> str:
        base = self.alias if self.known else self.id.split("/")[-1]
        return "".join(c if c.isalnum() else "-" for c in base.lower()).strip("-")


MODELS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "flux.2-pro", "black-forest-labs/flux.2-pro", "flux", ("image",), True, 8, False, "flux_json",
        STANDARD_RATIOS, STANDARD_SIZES, Pricing("per_mp", first_mp=0.03, further_mp=0.015),
        "default high-quality generation without text", upsampling=True,
    ),
    ModelSpec(
        "flux.2-klein", "black-forest-labs/flux.2-klein-4b", "flux", ("image",), False, 0, False, "flux_json",
        STANDARD_RATIOS, STANDARD_SIZES, Pricing("per_mp", first_mp=0.014, further_mp=0.001),
        "fast, cheap drafts and bulk generation", upsampling=True,
    ),
    ModelSpec(
        "gpt-5-image", "openai/gpt-5-image", "gpt", ("image", "text"), True, 8, True, "natural",
        STANDARD_RATIOS, STANDARD_SIZES,
        Pricing("image_tokens", per_million_tokens=40.0, tokens_per_image=1056, guess=True),
        "text in images, complex edits", text_rendering=True,
    ),
    ModelSpec(
        "gpt-5-image-mini", "openai/gpt-5-image-mini", "gpt", ("image", "text"), True, 8, True, "natural",
        STANDARD_RATIOS, STANDARD_SIZES,
        Pricing("image_tokens", per_million_tokens=8.0, tokens_per_image=1056, guess=True),
        "cheaper text rendering and edits", text_rendering=True,
    ),
    ModelSpec(
        "nanobanana-pro", "google/gemini-3-pro-image", "gemini", ("image", "text"), True, 14, True,
        "structured", STANDARD_RATIOS, STANDARD_SIZES,
        Pricing("per_image", per_image={"1K": 0.134, "2K": 0.134, "4K": 0.24}, per_million_tokens=120.0),
        "balanced quality, editing and reasoning", text_rendering=True,
    ),
    ModelSpec(
        "nanobanana", "google/gemini-2.5-flash-image", "gemini", ("image", "text"), True, 3, True, "structured",
        STANDARD_RATIOS, STANDARD_SIZES,
        Pricing("per_image", per_image={"1K": 0.039, "2K": 0.039, "4K": 0.039}, per_million_tokens=30.0),
        "lowest-cost generation and quick edits",
    ),
    ModelSpec(
        "nanobanana-2", "google/gemini-3.1-flash-image", "gemini", ("image", "text"), True, 14, True,
        "structured", STANDARD_RATIOS + EXTRA_TALL_WIDE, ("0.5K",) + STANDARD_SIZES,
        Pricing("per_image", per_image={"0.5K": 0.045, "1K": 0.067, "2K": 0.101, "4K": 0.151},
                per_million_tokens=60.0, guess=True),
        "fast everyday generation, extreme aspect ratios", text_rendering=True,
    ),
    ModelSpec(
        "nanobanana-2-lite", "google/gemini-3.1-flash-lite-image", "gemini", ("image", "text"), True, 14, True,
        "structured", STANDARD_RATIOS + EXTRA_TALL_WIDE, ("1K",),
        Pricing("per_image", per_image={"1K": 0.034}, per_million_tokens=30.0, guess=True),
        "cheapest, fastest Gemini images (1K only)", text_rendering=True,
    ),
)

# Models whose maker has retired them somewhere: a run on one says so, and names what to use.
RETIRED_NOTES = {
    "google/gemini-2.5-flash-image": "Google discontinued gemini-2.5-flash-image on its own API on 2026-10-02; "
                                     "if OpenRouter stops routing it (models.py --refresh tells), use "
                                     "nanobanana-2-lite (gemini-3.1-flash-lite-image, its successor)",
}
# Built-in prices (of PRICES_AS_OF) for full OpenRouter ids the table above has no entry for: Google's
# GA image models, priced as the previews they replaced, and Nano Banana 2 Lite (1K only), whose
# price is quoted second-hand from Google's pricing page. Live prices replace them after a refresh.
ID_PRICES = {
    "google/gemini-3.1-flash-image": Pricing("per_image", per_image={"0.5K": 0.045, "1K": 0.067, "2K": 0.101,
                                                                     "4K": 0.151}, per_million_tokens=60.0, guess=True),
    "google/gemini-3-pro-image": Pricing("per_image", per_image={"1K": 0.134, "2K": 0.134, "4K": 0.24},
                                         per_million_tokens=120.0),
    "google/gemini-3.1-flash-lite-image": Pricing("per_image", per_image={"1K": 0.034}, per_million_tokens=30.0,
                                                  guess=True),
}
BY_ALIAS = {spec.alias: spec for spec in MODELS}
# Every id an alias's chain names on OpenRouter, as that alias's spec with that id.
BY_ID = {**{model_id: spec._replace(id=model_id) for spec in MODELS
            for model_id in chains.chain(spec.alias, "openrouter")}, **{spec.id: spec for spec in MODELS}}
DEFAULT_MODEL = "flux.2-pro"
PRICES_AS_OF = "2026-12-01"  # when the built-in prices below were last checked
IMAGE_ONLY_PREFIXES = ("black-forest-labs/", "bytedance-seed/", "recraft", "sourceful/")


DIRECT_ROUTES = ("google", "openai")  # called without OpenRouter; their models come from models.direct


def serves(provider: str | None, name: str) -> bool:
    """Whether ``provider`` can serve ``name``: OpenRouter (and no provider named) takes any name,
    Google and OpenAI only their own models."""
    if provider not in DIRECT_ROUTES:
        return True
    from .direct_specs import served_by

    return served_by(name, provider)


def default_for(provider: str | None) -> str:
    """The model a run on ``provider`` uses when nothing names one."""
    if provider not in DIRECT_ROUTES:
        return DEFAULT_MODEL
    from .direct_specs import default_model

    return default_model(provider)


def aliases() -> list[str]:
    return list(BY_ALIAS)


def provider_named_by(name: str) -> str | None:
    """The provider a bare model id belongs to (gemini-... is Google's, gpt-image-... OpenAI's), else None."""
    from .direct import GEMINI_PREFIX, OPENAI_PREFIXES

    lowered = name.strip().lower()
    if lowered.startswith(GEMINI_PREFIX):
        return "google"
    if lowered.startswith(OPENAI_PREFIXES):
        return "openai"
    return None


def resolve(name: str, provider: str | None = None) -> ModelSpec:
    """Find a model by alias or full id for ``provider`` (None: the one a bare id names, else OpenRouter);
    unknown full ids get safe assumptions.

    For OpenRouter a fresh live catalogue (``models.py --refresh``) supplies prices and capabilities;
    Google's and OpenAI's models come from ``models.direct``.
    """
    provider = provider or provider_named_by(name) or "openrouter"
    if provider in DIRECT_ROUTES:
        from .direct_specs import direct_spec

        return direct_spec(name.strip(), provider)
    name = name.strip()
    aliased = BY_ALIAS.get(name) or BY_ALIAS.get(name.lower())
    if aliased is not None:
        choice = chains.choose(chains.chain(aliased.alias, "openrouter") or (aliased.id,), "openrouter",
                               aliased.alias)
        return with_expiry(_live(aliased._replace(id=choice.id, requested=aliased.alias,
                                                  successors=choice.rest, notes=choice.notes)))
    spec = BY_ID.get(name)
    if spec is not None:
        return with_expiry(_live(spec))
    if "/" in name and all(part.strip() for part in name.split("/", 1)):
        return with_expiry(_live(_assumed(name)))
    raise UsageError(
        f"unknown model {name!r}",
        details=did_you_mean(name) + "use an alias (" + ", ".join(aliases()) + ") or a full OpenRouter id such "
                "as vendor/model (models.py lists them)",
        kind="unknown_model",
    )


def did_you_mean(name: str) -> str:
    """``"did you mean nanobanana? "`` for a near miss of an alias (as a mistyped flag gets), else ``""``."""
    import difflib

    close = difflib.get_close_matches(name.lower(), aliases(), n=1, cutoff=0.75)
    return f"did you mean {close[0]}? " if close else ""


def successor(spec: ModelSpec) -> ModelSpec:
    """``spec`` with the next candidate of its chain as the model (the chosen one is gone)."""
    moved = spec._replace(id=spec.successors[0], successors=spec.successors[1:], notes=())
    return _live(moved) if spec.provider == "openrouter" else moved


def with_expiry(spec: ModelSpec) -> ModelSpec:
    """``spec`` with a note when its route's catalogue says it expires within 30 days (or has)."""
    from . import listings

    expires = listings.expiration(spec.id, spec.provider)
    if expires is None:
        return spec
    from .alternatives import fallback_models

    successor = spec.successors[0] if spec.successors else next(iter(fallback_models(
        spec.provider, image_input=spec.image_input, exclude=(spec.id,))), None)
    warning = chains.expiry_warning(spec.id, expires, successor)
    return spec._replace(notes=spec.notes + (warning,)) if warning else spec


def _live(spec: ModelSpec) -> ModelSpec:
    """``spec`` with the live catalogue's prices laid over it (its module loads only when a cache exists)."""
    from .. import config

    if not config.catalogue_path().exists():
        return spec
    from . import catalogue

    return catalogue.apply(spec)


def all_models() -> list[ModelSpec]:
    """The registry's aliases resolved against the live catalogue, then image models only it knows."""
    from . import catalogue

    known = [resolve(spec.alias) for spec in MODELS]  # each alias as a run would resolve it now
    return known + [catalogue.apply(_assumed(model_id)) for model_id in catalogue.extra_ids(BY_ID)]


def _assumed(model_id: str) -> ModelSpec:
    image_only = model_id.lower().startswith(IMAGE_ONLY_PREFIXES)
    flux = "flux" in model_id.lower()
    return ModelSpec(
        alias=model_id, id=model_id, family="flux" if flux else "other",
        output_modalities=("image",) if image_only else ("image", "text"),
        image_input=True, max_refs=8, system_message=not image_only,
        prompt_format="flux_json" if flux else "natural",
        ratios=STANDARD_RATIOS + EXTRA_TALL_WIDE, sizes=("0.5K",) + STANDARD_SIZES,
        pricing=ID_PRICES.get(model_id, Pricing("unknown", guess=True)), best_for="(not in the registry)",
        upsampling=flux, known=False,
    )


def with_pricing(spec: ModelSpec, pricing: Pricing) -> ModelSpec:
    return spec._replace(pricing=pricing)


def pixels(aspect_ratio: str, size: str) -> tuple[int, int]:
    """Approximate output pixels for a ratio and size (what an estimate bills on)."""
    width, height = RATIO_PIXELS_1K.get(aspect_ratio, (1024, 1024))
    scale = SIZE_SCALE.get(size, 1.0)
    return int(width * scale), int(height * scale)


class Estimate(NamedTuple):
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
    OpenAI's pricing is counted for the very frame the plan asks for (``direct_specs.openai_pricing``)."""
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
        from .direct import BATCH_DISCOUNT

        each *= BATCH_DISCOUNT
        basis += f", at the batch rate ({BATCH_DISCOUNT:.0%} of the standard price)"
    if pricing.source == "live":
        basis += " (live price)"
    elif pricing.source == "direct":
        from .direct import NAMES, PRICES_AS_OF as DIRECT_AS_OF

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
