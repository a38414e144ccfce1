"""generate.py: text (plus optional reference images) to image through OpenRouter."""

from __future__ import annotations

import argparse
from typing import Any

from .. import cli, config, contract, generation, spending

DESCRIPTION = """Generate images through OpenRouter and print one JSON document on stdout.

examples:
  generate.py --prompt "A red fox in snow" --output-dir ./data/
  generate.py --prompt "A new scene" --preset default --style-ref golden.png
  generate.py --prompt 'Poster with text "HELLO"' --model gpt-5-image --dry-run
  generate.py --prompt "A lighthouse" --max-cost 0.05 --request-id chat-1234
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
                        help="how many images (1-10; one call each, at most 4 at once)")
    cli.add_output_args(parser)
    cli.add_spending_args(parser)
    cli.add_network_args(parser)
    return parser


def handle(args: argparse.Namespace, context: contract.RunContext) -> dict[str, Any]:
    context.fields["model"] = args.model
    plan = generation.plan_from_args(args)
    context.fields["model"] = plan.spec.id
    generation.notify_warnings(plan, args.quiet)
    writer = generation.writer_from_args(args, plan.spec)
    spend = spending.Spend.from_args(args, "generate.py")
    if spend.request_id:
        plan.extra_result["request_id"] = spend.request_id
    if args.dry_run:
        budget = spending.check(plan.estimate_usd, spend.max_cost, model=plan.spec.alias, count=plan.count)
        url = config.base_url("openrouter") + "/chat/completions"
        return {**generation.dry_run_result(plan, writer, url, plan.request_body()), "budget": budget}
    client = generation.client_from_args(args, "openrouter")
    return generation.run_chat(plan, client, writer, quiet=args.quiet, spend=spend)


def main(argv: list[str] | None = None) -> int:
    return contract.run_cli(build_parser(), handle, argv)
