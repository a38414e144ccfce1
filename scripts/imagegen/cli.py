"""Argparse builders for the flags several scripts share, with parse-time validation."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import registry


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0: {text}")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def label(text: str) -> str:
    """A caller's id (request, job, message): printable, no slashes, at most 200 characters."""
    value = text.strip()
    if not value or len(value) > 200 or "/" in value or any(not c.isprintable() for c in value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a usable id: 1-200 printable characters without '/' (e.g. discord-1234)")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def count(text: str) -> int:
    value = non_negative_int(text)
    if not 1 <= value <= 10:
        raise argparse.ArgumentTypeError(f"must be from 1 to 10: {text}")
    return value


def ratio(text: str) -> str:
    if text not in registry.RATIO_PIXELS_1K:
        raise argparse.ArgumentTypeError(f"unknown aspect ratio {text!r}; choose from {', '.join(registry.RATIO_PIXELS_1K)}")
    return text


def size(text: str) -> str:
    upper = text.upper()
    if upper not in registry.SIZE_SCALE:
        raise argparse.ArgumentTypeError(f"unknown size {text!r}; choose from {', '.join(registry.SIZE_SCALE)}")
    return upper


def add_network_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("network")
    group.add_argument("--timeout", type=positive_float, default=180.0,
                       help="seconds to wait for the provider (connect and read; default 180)")
    group.add_argument("--retries", type=non_negative_int, default=2,
                       help="retries on 408/429/5xx and connection errors, with back-off (default 2)")
    group.add_argument("--dry-run", action="store_true",
                       help="print the exact request, target paths and cost estimate; send nothing, no key needed")
    group.add_argument("--quiet", action="store_true", help="no progress or notes on stderr")


def add_output_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--output-dir", type=Path, default=Path("./data"),
                       help="folder for auto-named images YYYYmmdd-HHMMSS-<model>.<ext> (default ./data/)")
    group.add_argument("--output-file", type=Path, help="exact output path (never overwritten without --overwrite)")
    group.add_argument("--overwrite", action="store_true", help="allow --output-file to replace an existing file")
    group.add_argument("--no-sidecar", dest="sidecar", action="store_false",
                       help="do not write the <image>.json metadata sidecar")


def add_style_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("style")
    group.add_argument("--preset", help="style preset: a name in presets/ or a path to a preset JSON file")
    group.add_argument("--style-ref", action="append", default=[], metavar="PATH",
                       help="style reference image (repeatable, up to the model's limit, 8 for most)")
    group.add_argument("--system-prompt", help="system message for models that take one (GPT-5 Image, Gemini)")


def add_model_args(parser: argparse.ArgumentParser, default_model: str | None = None) -> None:
    group = parser.add_argument_group("model")
    default_text = default_model or f"the preset's, else {registry.DEFAULT_MODEL}"
    group.add_argument("--model", default=default_model,
                       help=f"model alias ({', '.join(registry.aliases())}) or full OpenRouter id (default {default_text})")
    group.add_argument("--aspect-ratio", type=ratio, help="aspect ratio, e.g. 1:1, 16:9, 9:16 (default preset or 1:1)")
    group.add_argument("--size", type=size, help="1K, 2K or 4K (0.5K on nanobanana-2) (default preset or 2K)")
    group.add_argument("--seed", type=int, help="random seed (honoured by some models)")


def add_spending_args(parser: argparse.ArgumentParser, *, request_id: bool = True) -> None:
    """``--max-cost`` (and ``--request-id``) for every script that makes paid calls."""
    group = parser.add_argument_group("spending")
    group.add_argument("--max-cost", type=non_negative_float, metavar="USD",
                       help="refuse the run (exit 5, error_kind budget, nothing sent) when its estimated cost "
                            "exceeds USD; $IMAGEGEN_DAILY_BUDGET_USD caps each local day the same way")
    if request_id:
        group.add_argument("--request-id", type=label, metavar="ID",
                           help="your id for this request, kept in the sidecar and the spending ledger "
                                "(spend.py totals by it)")
