"""The built-in model table: aliases, OpenRouter ids, capabilities and prices as of PRICES_AS_OF.

Data only: ``models.registry`` resolves names against it (with the live catalogue laid over it,
``models.live``), and ``models.direct_resolve`` builds Google's and OpenAI's specs from its ratios
and sizes.
"""

from __future__ import annotations

from ..record import Record
from . import chains
from .pricing import Pricing

STANDARD_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
EXTRA_TALL_WIDE = ("1:4", "4:1", "1:8", "8:1")
STANDARD_SIZES = ("1K", "2K", "4K")

class ModelSpec(Record):
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
                                     "once OpenRouter's catalogue no longer lists it (models.py --refresh), "
                                     "nanobanana moves to gemini-3.1-flash-lite-image, its successor",
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


DIRECT_ROUTES = ("google", "openai")  # called without OpenRouter; their models come from models.direct_table


def assumed(model_id: str) -> ModelSpec:
    """A full id the table does not know, with safe assumptions (FLUX ids take FLUX's prompt format)."""
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
