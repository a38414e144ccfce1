"""Argparse builders for the flags several scripts share, with parse-time validation."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from .. import validate
from ..models import registry
from ..prompt import choices
from ..prompt.choices import APIS, BACKGROUNDS, MODERATIONS, OUTPUT_FORMATS, QUALITIES


def arg_type(check: Callable[[Any], Any], name: str | None = None) -> Callable[[str], Any]:
    """An argparse type from a shared check (``validate``): the same rule for a flag and a stored request."""
    def parse(text: str) -> Any:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    parse.__name__ = name or check.__name__
    parse.check = check  # type: ignore[attr-defined]  # what the flag accepts, for tool schemas (mcp)
    return parse


positive_float = arg_type(validate.positive_float)
non_negative_float = arg_type(validate.non_negative_float)
non_negative_int = arg_type(validate.non_negative_int)
label = arg_type(validate.label)
count = arg_type(validate.count)
ratio = arg_type(validate.ratio)
size = arg_type(validate.size)
image_size = arg_type(validate.image_size)
megabytes = arg_type(validate.megabytes)
workers = arg_type(validate.workers)
variant_count = arg_type(validate.variant_count)
variant_index = arg_type(validate.variant_index)
attempts = arg_type(validate.attempts)
retries = arg_type(validate.retries)
setting = arg_type(validate.setting)


def add_network_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network")
    group.add_argument("--timeout", type=positive_float, default=180.0,
                       help="seconds to wait for the provider (connect and read; default 180)")
    group.add_argument("--retries", type=retries, default=2,
                       help=f"retries on 408/429/5xx and connection errors, with back-off "
                            f"(0-{validate.MAX_RETRIES}, default 2)")
    group.add_argument("--dry-run", action="store_true",
                       help="print the exact request, target paths and cost estimate; send nothing, no key needed")
    group.add_argument("--quiet", action="store_true", help="no progress or notes on stderr")


def add_output_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--output-dir", default="data",
                       help="folder for auto-named images YYYYmmdd-HHMMSS-<model>.<ext> (default ./data/)")
    group.add_argument("--output-file", "--out", dest="output_file",
                       help="exact output path (never overwritten without --overwrite)")
    group.add_argument("--overwrite", action="store_true", help="allow --output-file to replace an existing file")
    group.add_argument("--no-sidecar", dest="sidecar", action="store_false",
                       help="do not write the <image>.json metadata sidecar")


def add_style_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("style")
    group.add_argument("--preset", help="style preset: a name in presets/ or a path to a preset JSON file")
    group.add_argument("--preset-set", action="append", default=[], type=setting, metavar="FIELD=VALUE",
                       help="change one field of --preset for this run, checked as the file's would be "
                            "(repeatable): palette=#2F4858,#F6AE2D, mood=..., lighting=..., composition=..., "
                            "rendering=..., anti_patterns=a,b, style.camera.angle=..., defaults.size=4K")
    group.add_argument("--save-preset", metavar="NAME",
                       help="save --preset with its --preset-set changes as your preset NAME (in "
                            "$IMAGEGEN_PRESETS_DIR), before the run; --dry-run saves without generating")
    group.add_argument("--style-ref", action="append", default=[], metavar="PATH",
                       help="style reference image (repeatable, up to the model's limit, 8 for most)")
    group.add_argument("--system-prompt", help="system message for models that take one (GPT-5 Image, Gemini)")


def add_model_args(parser: argparse.ArgumentParser, default_model: str | None = None, *,
                   fallback_model: str | None = None, fallback_ratio: str = "1:1", provider: bool = False) -> None:
    """--model, --aspect-ratio, --size/--image-size, --seed. ``default_model`` overrides presets;
    ``fallback_model`` only replaces the built-in default (a preset still wins over it)."""
    group = parser.add_argument_group("model")
    default_text = default_model or f"the preset's, else {fallback_model or registry.DEFAULT_MODEL}"
    group.add_argument("--model", default=default_model,
                       help=f"model alias ({', '.join(registry.aliases())}), full OpenRouter id, or a Google "
                            f"(gemini-...) or OpenAI (gpt-image-...) model id (default {default_text})")
    if provider:
        group.add_argument("--provider", choices=choices.PROVIDERS,
                           help="who makes the image: openrouter (default; OPENROUTER_API_KEY), google (the Gemini "
                                "API; GEMINI_API_KEY) or openai (the Images API; OPENAI_API_KEY). A gemini-... or "
                                "gpt-image-... --model names its provider")
    if fallback_model:
        parser.set_defaults(fallback_model=fallback_model)
    group.add_argument("--aspect-ratio", type=ratio,
                       help=f"aspect ratio, e.g. 1:1, 16:9, 9:16 (default preset, else {fallback_ratio})")
    sizes = group.add_mutually_exclusive_group()
    sizes.add_argument("--size", type=size, help="1K, 2K or 4K (0.5K on nanobanana-2) (default preset or 2K)")
    sizes.add_argument("--image-size", dest="size", type=image_size, metavar="{low,medium,high}",
                       help="another way to say --size: low=1K, medium=2K, high=4K")
    group.add_argument("--seed", type=int, help="random seed (honoured by some models)")




def add_images_api_args(parser: argparse.ArgumentParser, *, also_openai: bool = False) -> None:
    """--api and the options only OpenRouter's Images API (and, in edit.py, OpenAI edits) understand."""
    group = parser.add_argument_group("Images API")
    where = "--api images" + (" or --mode openai" if also_openai else "") + " only"
    group.add_argument("--api", choices=APIS, default="chat",
                       help="OpenRouter endpoint: chat (chat completions, default) or images (the Images API)")
    names = ("--quality", "--openai-quality") if also_openai else ("--quality",)
    group.add_argument(*names, dest="quality", choices=QUALITIES, help=f"rendering quality ({where})")
    group.add_argument("--output-format", choices=OUTPUT_FORMATS,
                       help=f"image format to ask the provider for; svg from vector models ({where})")
    group.add_argument("--background", choices=BACKGROUNDS,
                       help=f"transparent needs png or webp output ({where})")
    group.add_argument("--output-compression", type=arg_type(validate.compression), metavar="0-100",
                       help=f"compression of jpeg or webp output, 0-100 (needs --output-format jpeg or webp; {where})")
    if not also_openai:
        group.add_argument("--moderation", choices=MODERATIONS,
                           help="OpenAI's content-moderation level: low (less restrictive) or auto (OpenAI's "
                                "default) (--provider openai only)")


def add_clarify_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("prompt checks")
    group.add_argument("--clarify-hints", action="store_true",
                       help="print prompt-quality hints on stderr (they are always in the JSON as clarify_hints)")
    group.add_argument("--strict-clarify", action="store_true",
                       help="fail with exit 3 instead of generating when any clarify hint fires")


def add_baseline_args(parser: argparse.ArgumentParser) -> None:
    """The baseline image, its upload rules and the rails that limit drift from it."""
    group = parser.add_argument_group("baseline image (edits and variations)")
    group.add_argument("--baseline-image", metavar="PATH|URL",
                       help="the image to edit or vary, sent as the first input image: a workspace file "
                            "(needs --confirm-external-upload) or a public https URL")
    group.add_argument("--baseline-source-kind", choices=choices.BASELINE_SOURCE_KINDS,
                       default=choices.DEFAULT_BASELINE_SOURCE_KIND,
                       help="where the baseline came from, recorded for provenance (default explicit_path_or_url)")
    group.add_argument("--confirm-external-upload", action="store_true",
                       help="the user approved sending the local baseline file to the provider")
    group.add_argument("--workspace-root", metavar="DIR",
                       help="local baseline files must be inside this folder (default the current directory)")
    group.add_argument("--max-baseline-mb", type=megabytes, default=choices.DEFAULT_MAX_BASELINE_MB, metavar="MB",
                       help=f"largest local baseline file accepted (default {choices.DEFAULT_MAX_BASELINE_MB:g})")
    group.add_argument("--allow-no-baseline-on-edit-intent", action="store_true",
                       help="generate a new image even though the prompt reads as an edit and no baseline is given")
    group.add_argument("--variation-strength", choices=choices.VARIATION_STRENGTHS,
                       help="how far the result may move from the baseline (default low with a baseline)")
    group.add_argument("--must-keep", action="append", metavar="TEXT",
                       help="something that must not change, e.g. 'logo mark' (repeatable)")
    group.add_argument("--lock-palette", action=argparse.BooleanOptionalAction, default=None,
                       help="keep the baseline's colours (default on with a baseline)")
    group.add_argument("--lock-composition", action=argparse.BooleanOptionalAction, default=None,
                       help="keep the baseline's framing and layout (default on with a baseline)")


def add_enhance_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("prompt enhancement")
    group.add_argument("--enhance", action="store_true",
                       help="have a cheap text model expand the prompt into the target model's preferred shape "
                            "(the original is kept; on failure the original is used)")
    group.add_argument("--enhance-model", default=choices.DEFAULT_ENHANCE_MODEL, metavar="MODEL",
                       help=f"OpenRouter text model used by --enhance (default {choices.DEFAULT_ENHANCE_MODEL})")


review_rounds = arg_type(validate.whole_number(1, choices.MAX_REVIEW_ROUNDS, "max_rounds"), "max_rounds")
best_of = arg_type(validate.whole_number(1, choices.MAX_BEST_OF, "best_of"), "best_of")


def add_review_loop_args(parser: argparse.ArgumentParser) -> None:
    """generate --review: the generate -> review -> refine/reject loop, and --best-of N candidates."""
    group = parser.add_argument_group("review loop")
    group.add_argument("--review", action="store_true",
                       help="have a vision model review each image (the rubric of review.py --auto) and go again "
                            "until it is accepted: refine rewrites the prompt by the review's suggestion, reject "
                            "reworks it, and two rejects move to the next model of the same capability; every "
                            "round is kept, path names the chosen image, --max-cost covers the whole loop")
    group.add_argument("--max-rounds", type=review_rounds, default=choices.DEFAULT_REVIEW_ROUNDS, metavar="N",
                       help=f"--review: at most N rounds (1-{choices.MAX_REVIEW_ROUNDS}, "
                            f"default {choices.DEFAULT_REVIEW_ROUNDS})")
    group.add_argument("--best-of", type=best_of, default=1, metavar="N",
                       help=f"make N candidates (each round, with --review), have each reviewed and keep the best "
                            f"(1-{choices.MAX_BEST_OF}, default 1)")
    group.add_argument("--review-provider", choices=choices.REVIEW_PROVIDERS,
                       help="who reviews: anthropic (ANTHROPIC_API_KEY) or openrouter; default anthropic when its "
                            "key is set")
    group.add_argument("--review-model", metavar="MODEL",
                       help="the vision model that reviews (default "
                            + ", ".join(f"{v} on {k}" for k, v in choices.DEFAULT_REVIEW_MODELS.items()) + ")")


def add_spending_args(parser: argparse.ArgumentParser, *, request_id: bool = True) -> None:
    """``--max-cost`` (and ``--request-id``) for every script that makes paid calls."""
    group = parser.add_argument_group("spending")
    group.add_argument("--max-cost", type=non_negative_float, metavar="USD",
                       help="refuse the run (exit 5, error_kind budget, nothing sent) when its estimated cost "
                            "exceeds USD; $IMAGEGEN_DAILY_BUDGET_USD caps each local day the same way")
    if request_id:
        group.add_argument("--request-id", type=label, metavar="ID",
                           help="your id for this request, kept with the output (sidecar, review) and in the "
                                "spending ledger (spend.py totals by it)")
