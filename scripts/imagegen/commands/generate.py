"""generate.py: text (plus optional baseline and reference images) to image through OpenRouter."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import flags as cli
from .. import contract

DESCRIPTION = """Generate images through OpenRouter and print one JSON document on stdout.

examples:
  generate.py --prompt "A red fox in snow" --output-dir ./data/
  generate.py --prompt "A new scene" --preset default --style-ref golden.png
  generate.py --prompt 'Poster with text "HELLO"' --model gpt-5-image --dry-run
  generate.py --prompt "A sticker of a fox" --api images --background transparent --output-format png
  generate.py --prompt "Make the sky stormy" --baseline-image ./shot.png --confirm-external-upload \\
      --baseline-source-kind current_attachment --must-keep "the lighthouse"
  generate.py --prompt "A lighthouse" --max-cost 0.05 --request-id chat-1234
"""


def add_arguments(parser: argparse.ArgumentParser, fallback_model: str | None = None) -> None:
    """Every generate flag; generate_image.py shares them with another default model."""
    parser.add_argument("--prompt", required=True, help="what to draw")
    cli.add_model_args(parser, fallback_model=fallback_model)
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
    cli.add_output_args(parser)
    cli.add_spending_args(parser)
    cli.add_network_args(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = contract.new_parser("generate.py", DESCRIPTION)
    add_arguments(parser)
    return parser


def handle(args: argparse.Namespace, context: contract.RunContext) -> dict[str, Any]:
    from .. import config
    from ..prompt import enhance
    from ..pipeline import generate as generation, images_api
    from ..spending import guard as spending  # not for --help: keep start-up fast
    from ..errors import ImageGenError

    context.fields["model"] = args.model
    options = images_api.options_from_args(args)
    try:
        plan = generation.plan_from_args(args)
    except ImageGenError as error:
        generation.notify_hints(error.extra.get("clarify_hints") or [], args)
        raise
    context.fields["model"] = plan.spec.id
    if options is not None:
        images_api.apply(plan, options, args.prompt_upsampling)
    generation.notify_hints([hint.to_dict() for hint in plan.clarify_hints], args)
    generation.notify_warnings(plan, args.quiet)
    writer = generation.writer_from_args(args, plan.spec)
    chat_url = config.base_url("openrouter") + "/chat/completions"
    spend = spending.Spend.from_args(args, "generate.py")
    if spend.request_id:
        plan.extra_result["request_id"] = spend.request_id
    if args.dry_run:
        enhance_request = enhance.dry_run_request(plan, args.enhance_model, chat_url) if args.enhance else None
        result = images_api.execute(plan, options, writer, args, spend)
        return {**result, "enhance_request": enhance_request} if enhance_request else result
    if args.enhance:
        writer.check_before_request()  # refuse a taken output name before paying for the enhancer too
        client = generation.client_from_args(args, "openrouter")
        enhance.enhance_plan(plan, client, spend=spend, model=args.enhance_model, url=chat_url, quiet=args.quiet)
    return images_api.execute(plan, options, writer, args, spend)


def main(argv: list[str] | None = None) -> int:
    return contract.run_cli(build_parser(), handle, argv)
