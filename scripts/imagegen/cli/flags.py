"""The options several commands share, declared once (``cli.options``): generation, style, output,
spending and network. A command's declaration (``cli.command_options``) composes these sets."""

from __future__ import annotations

from .. import validate
from ..models import registry, table
from ..prompt import choices
from ..prompt.choices import APIS, BACKGROUNDS, MODERATIONS, OUTPUT_FORMATS, QUALITIES
from .options import Option, Options

NETWORK = "network"
OUTPUT = "output"

TIMEOUT = Option(("--timeout",), "timeout", "seconds to wait for the provider (connect and read; default 180)",
                 validate.positive_float, 180.0, group=NETWORK)
RETRIES = Option(("--retries",), "retries", f"retries on 408/429/5xx and connection errors, with back-off "
                                            f"(0-{validate.MAX_RETRIES}, default 2)", validate.retries, 2,
                 group=NETWORK)
DRY_RUN = Option(("--dry-run",), "dry_run",
                 "print the exact request, target paths and cost estimate; send nothing, no key needed",
                 action="true", group=NETWORK)
QUIET = Option(("--quiet",), "quiet", "no progress or notes on stderr", action="true", tool=False)
NETWORK_OPTIONS: Options = (TIMEOUT, RETRIES, DRY_RUN, QUIET.but(group=NETWORK))

OUTPUT_PATHS: Options = (
    Option(("--output-dir",), "output_dir",
           "folder for auto-named images YYYYmmdd-HHMMSS-<model>.<ext> (default ./data/)", default="data",
           group=OUTPUT),
    Option(("--output-file", "--out"), "output_file", "exact output path (never overwritten without --overwrite)",
           group=OUTPUT),
)
OVERWRITE = Option(("--overwrite",), "overwrite", "allow --output-file to replace an existing file", action="true",
                   group=OUTPUT)
SIDECAR = Option(("--no-sidecar",), "sidecar", "do not write the <image>.json metadata sidecar", action="false",
                 group=OUTPUT)
OUTPUT_OPTIONS: Options = (*OUTPUT_PATHS, OVERWRITE, SIDECAR)

STYLE_OPTIONS: Options = tuple(option.but(group="style") for option in (
    Option(("--preset",), "preset", "style preset: a name in presets/ or a path to a preset JSON file"),
    Option(("--preset-set",), "preset_set",
           "change one field of --preset for this run, checked as the file's would be (repeatable): "
           "palette=#2F4858,#F6AE2D, mood=..., lighting=..., composition=..., rendering=..., anti_patterns=a,b, "
           "style.camera.angle=..., defaults.size=4K", validate.setting, [], "list", metavar="FIELD=VALUE"),
    Option(("--save-preset",), "save_preset",
           "save --preset with its --preset-set changes as your preset NAME (in $IMAGEGEN_PRESETS_DIR), before "
           "the run; --dry-run saves without generating", metavar="NAME", tool=False),  # a person's choice
    Option(("--style-ref",), "style_refs", "style reference image (repeatable, up to the model's limit, 8 for most)",
           default=[], action="list", metavar="PATH"),
    Option(("--system-prompt",), "system_prompt", "system message for models that take one (GPT-5 Image, Gemini)"),
))


def model_options(default_model: str | None = None, *, fallback_model: str | None = None,
                  fallback_ratio: str = "1:1", provider: bool = False) -> Options:
    """--model, --provider, --aspect-ratio, --size/--image-size, --seed. ``default_model`` overrides
    presets; ``fallback_model`` only replaces the built-in default (a preset still wins over it)."""
    default_text = default_model or f"the preset's, else {fallback_model or table.DEFAULT_MODEL}"
    found = [Option(("--model",), "model",
                    f"model alias ({', '.join(registry.aliases())}), full OpenRouter id, or a Google (gemini-...) "
                    f"or OpenAI (gpt-image-...) model id (default {default_text})", default=default_model)]
    if provider:
        found.append(Option(("--provider",), "provider",
                            "who makes the image: openrouter (default; OPENROUTER_API_KEY), google (the Gemini API; "
                            "GEMINI_API_KEY) or openai (the Images API; OPENAI_API_KEY). A gemini-... or "
                            "gpt-image-... --model names its provider", choices=choices.PROVIDERS))
    if fallback_model:
        found.append(Option((), "fallback_model", default=fallback_model, action="const"))
    found += [
        Option(("--aspect-ratio",), "aspect_ratio",
               f"aspect ratio, e.g. 1:1, 16:9, 9:16 (default preset, else {fallback_ratio})", validate.ratio),
        Option(("--size",), "size", "1K, 2K or 4K (0.5K on nanobanana-2) (default preset or 2K)", validate.size,
               exclusive="size"),
        Option(("--image-size",), "size", "another way to say --size: low=1K, medium=2K, high=4K", validate.image_size,
               metavar="{low,medium,high}", exclusive="size", tool=False),  # --size speaks for both
        Option(("--seed",), "seed", "random seed (honoured by some models)", validate.integer),
    ]
    return tuple(option.but(group="model") for option in found)


def images_api_options(*, also_openai: bool = False) -> Options:
    """--api and the options only OpenRouter's Images API (and, in edit.py, OpenAI edits) understand."""
    where = "--api images" + (" or --mode openai" if also_openai else "") + " only"
    found = [
        Option(("--api",), "api", "OpenRouter endpoint: chat (chat completions, default) or images (the Images API)",
               default="chat", choices=APIS),
        Option(("--quality", "--openai-quality") if also_openai else ("--quality",), "quality",
               f"rendering quality ({where})", choices=QUALITIES),
        Option(("--output-format",), "output_format",
               f"image format to ask the provider for; svg from vector models ({where})", choices=OUTPUT_FORMATS),
        Option(("--background",), "background", f"transparent needs png or webp output ({where})",
               choices=BACKGROUNDS),
        Option(("--output-compression",), "output_compression",
               f"compression of jpeg or webp output, 0-100 (needs --output-format jpeg or webp; {where})",
               validate.compression, metavar="0-100"),
    ]
    if not also_openai:
        found.append(Option(("--moderation",), "moderation",
                            "OpenAI's content-moderation level: low (less restrictive) or auto (OpenAI's default) "
                            "(--provider openai only)", choices=MODERATIONS))
    return tuple(option.but(group="Images API") for option in found)


CLARIFY_OPTIONS: Options = tuple(option.but(group="prompt checks") for option in (
    Option(("--clarify-hints",), "clarify_hints",
           "print prompt-quality hints on stderr (they are always in the JSON as clarify_hints)", action="true",
           tool=False),
    Option(("--strict-clarify",), "strict_clarify",
           "fail with exit 3 instead of generating when any clarify hint fires", action="true"),
))

BASELINE_OPTIONS: Options = tuple(option.but(group="baseline image (edits and variations)") for option in (
    Option(("--baseline-image",), "baseline_image",
           "the image to edit or vary, sent as the first input image: a workspace file (needs "
           "--confirm-external-upload) or a public https URL", metavar="PATH|URL"),
    Option(("--baseline-source-kind",), "baseline_source_kind",
           "where the baseline came from, recorded for provenance (default explicit_path_or_url)",
           default=choices.DEFAULT_BASELINE_SOURCE_KIND, choices=choices.BASELINE_SOURCE_KINDS),
    Option(("--confirm-external-upload",), "confirm_external_upload",
           "the user approved sending the local baseline file to the provider", action="true"),
    Option(("--workspace-root",), "workspace_root",
           "local baseline files must be inside this folder (default the current directory)", metavar="DIR"),
    Option(("--max-baseline-mb",), "max_baseline_mb",
           f"largest local baseline file accepted (default {choices.DEFAULT_MAX_BASELINE_MB:g})", validate.megabytes,
           choices.DEFAULT_MAX_BASELINE_MB, metavar="MB"),
    Option(("--allow-no-baseline-on-edit-intent",), "allow_no_baseline_on_edit_intent",
           "generate a new image even though the prompt reads as an edit and no baseline is given", action="true"),
    Option(("--variation-strength",), "variation_strength",
           "how far the result may move from the baseline (default low with a baseline)",
           choices=choices.VARIATION_STRENGTHS),
    Option(("--must-keep",), "must_keep", "something that must not change, e.g. 'logo mark' (repeatable)",
           action="list", metavar="TEXT"),
    Option(("--lock-palette",), "lock_palette", "keep the baseline's colours (default on with a baseline)",
           action="toggle"),
    Option(("--lock-composition",), "lock_composition",
           "keep the baseline's framing and layout (default on with a baseline)", action="toggle"),
))

ENHANCE_OPTIONS: Options = tuple(option.but(group="prompt enhancement") for option in (
    Option(("--enhance",), "enhance", "have a cheap text model expand the prompt into the target model's preferred "
                                      "shape (the original is kept; on failure the original is used)", action="true"),
    Option(("--enhance-model",), "enhance_model",
           f"OpenRouter text model used by --enhance (default {choices.DEFAULT_ENHANCE_MODEL})",
           default=choices.DEFAULT_ENHANCE_MODEL, metavar="MODEL"),
))

REVIEW_LOOP_OPTIONS: Options = tuple(option.but(group="review loop") for option in (
    Option(("--review",), "review",
           "have a vision model review each image (the rubric of review.py --auto) and go again until it is "
           "accepted: refine rewrites the prompt by the review's suggestion, reject reworks it, and two rejects move "
           "to the next model of the same capability; every round is kept, path names the chosen image, --max-cost "
           "covers the whole loop", action="true"),
    Option(("--max-rounds",), "max_rounds",
           f"--review: at most N rounds (1-{choices.MAX_REVIEW_ROUNDS}, default {choices.DEFAULT_REVIEW_ROUNDS})",
           validate.whole_number(1, choices.MAX_REVIEW_ROUNDS, "max_rounds"), choices.DEFAULT_REVIEW_ROUNDS,
           metavar="N"),
    Option(("--best-of",), "best_of",
           f"make N candidates (each round, with --review), have each reviewed and keep the best "
           f"(1-{choices.MAX_BEST_OF}, default 1)", validate.whole_number(1, choices.MAX_BEST_OF, "best_of"), 1,
           metavar="N"),
    Option(("--review-provider",), "review_provider",
           "who reviews: anthropic (ANTHROPIC_API_KEY) or openrouter; default anthropic when its key is set",
           choices=choices.REVIEW_PROVIDERS),
    Option(("--review-model",), "review_model", "the vision model that reviews (default "
           + ", ".join(f"{v} on {k}" for k, v in choices.DEFAULT_REVIEW_MODELS.items()) + ")", metavar="MODEL"),
))

MAX_COST = Option(("--max-cost",), "max_cost",
                  "refuse the run (exit 5, error_kind budget, nothing sent) when its estimated cost exceeds USD; "
                  "$IMAGEGEN_DAILY_BUDGET_USD caps each local day the same way", validate.non_negative_float,
                  metavar="USD", group="spending")
REQUEST_ID = Option(("--request-id",), "request_id",
                    "your id for this request, kept with the output (sidecar, review) and in the spending ledger "
                    "(spend.py totals by it)", validate.label, metavar="ID", group="spending")
SPENDING_OPTIONS: Options = (MAX_COST, REQUEST_ID)
