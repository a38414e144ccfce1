"""generate.py: text (plus optional reference images) to image through OpenRouter."""

from __future__ import annotations

import argparse
from typing import Any

from .. import cli, contract, generation, images_api

DESCRIPTION = """Generate images through OpenRouter and print one JSON document on stdout.

examples:
  generate.py --prompt "A red fox in snow" --output-dir ./data/
  generate.py --prompt "A new scene" --preset default --style-ref golden.png
  generate.py --prompt 'Poster with text "HELLO"' --model gpt-5-image --dry-run
  generate.py --prompt "A sticker of a fox" --api images --background transparent --output-format png
"""


def build_parser() -> argparse.ArgumentParser:
    parser = contract.new_parser("generate.py", DESCRIPTION)
    parser.add_argument("--prompt", required=True, help="what to draw")
    cli.add_model_args(parser)
    cli.add_style_args(parser)
    parser.add_argument("--input-image", metavar="PATH", help="an image the model should work from")
    parser.add_argument("--prompt-upsampling", action=argparse.BooleanOptionalAction, default=None,
                        help="FLUX prompt upsampling (default on for FLUX; ignored by other models)")
    parser.add_argument("--n", "--count", dest="n", type=cli.count, default=1,
                        help="how many images (1-10; chat: one call each, at most 4 at once; --api images: one call)")
    cli.add_images_api_args(parser)
    cli.add_output_args(parser)
    cli.add_network_args(parser)
    return parser


def handle(args: argparse.Namespace, context: contract.RunContext) -> dict[str, Any]:
    context.fields["model"] = args.model
    options = images_api.options_from_args(args)
    plan = generation.plan_from_args(args)
    context.fields["model"] = plan.spec.id
    if options is not None:
        images_api.apply(plan, options, args.prompt_upsampling)
    generation.notify_warnings(plan, args.quiet)
    writer = generation.writer_from_args(args, plan.spec)
    return images_api.execute(plan, options, writer, args)


def main(argv: list[str] | None = None) -> int:
    return contract.run_cli(build_parser(), handle, argv)
