"""generate.py: text (plus optional baseline and reference images) to image through OpenRouter."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import flags as cli
from ..cli import runner

DESCRIPTION = """Generate images through OpenRouter (or Google or OpenAI directly) and print one JSON document on stdout.

examples:
  generate.py --prompt "A red fox in snow" --output-dir ./data/
  generate.py --prompt "A new scene" --preset default --style-ref golden.png
  generate.py --prompt 'Poster with text "HELLO"' --model gpt-5-image --dry-run
  generate.py --prompt "A sticker of a fox" --api images --background transparent --output-format png
  generate.py --prompt "Make the sky stormy" --baseline-image ./shot.png --confirm-external-upload \\
      --baseline-source-kind current_attachment --must-keep "the lighthouse"
  generate.py --prompt "A lighthouse" --max-cost 0.05 --request-id chat-1234
  generate.py --prompt "A red fox in snow" --provider google --model nanobanana-2
  generate.py --prompt "A logo reading ACME" --model gpt-image-2 --quality medium
  generate.py --prompt "A red fox in snow" --review --max-rounds 3 --max-cost 0.50
"""


def add_arguments(parser: argparse.ArgumentParser, fallback_model: str | None = None) -> None:
    """Every generate flag; generate_image.py shares them with another default model."""
    parser.add_argument("--prompt", required=True, help="what to draw")
    cli.add_model_args(parser, fallback_model=fallback_model, provider=True)
    cli.add_style_args(parser)
    parser.add_argument("--input-image", metavar="PATH", help="an image the model should work from")
    parser.add_argument("--prompt-upsampling", action=argparse.BooleanOptionalAction, default=None,
                        help="FLUX prompt upsampling (default on for FLUX, off for low-variation baseline edits; "
                             "ignored by other models)")
    parser.add_argument("--n", "--count", dest="n", type=cli.count, default=1,
                        help="how many images (1-10; chat: one call each, at most 4 at once; --api images: one call)")
    cli.add_baseline_args(parser)
    cli.add_clarify_args(parser)
    cli.add_enhance_args(parser)
    cli.add_images_api_args(parser)
    cli.add_review_loop_args(parser)
    cli.add_output_args(parser)
    cli.add_spending_args(parser)
    cli.add_network_args(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = runner.new_parser("generate.py", DESCRIPTION)
    add_arguments(parser)
    return parser


def handle(args: argparse.Namespace, context: runner.RunContext, script: str = "generate.py") -> dict[str, Any]:
    """Run the generation; ``script`` is the name the spending ledger records the call under."""
    from ..cli import requests  # not for --help: keep start-up fast
    from ..pipeline import generate_request

    request = requests.generate_request(args)
    return generate_request.run_request(request, requests.paid_run(args, script, request), context.fields)


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
