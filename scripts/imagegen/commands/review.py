"""review.py: score an image against its prompt, by a vision model (--auto) or by the calling agent."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import flags as cli
from .. import contract
from ..pipeline import generate as generation, review as reviewing, vision
from ..spending import guard as spending
from ..errors import UsageError

DESCRIPTION = """Review an image against the prompt that made it; prints one JSON document on stdout.

Without --auto nothing is sent: the rubric, the exact prompts and the image path are printed so the
calling agent can look at the image and judge it itself. With --auto a vision model scores it:
verdict accept (score >= 7), refine (4-6) or reject (< 4).

examples:
  review.py --image out.png --original-prompt "A red fox in snow"
  review.py --image out.png --original-prompt "A red fox in snow" --auto
  review.py --image a.png --compare b.png --auto --provider openrouter
  review.py --image out.png --auto --max-cost 0.05 --request-id chat-1234
"""


def build_parser() -> argparse.ArgumentParser:
    parser = contract.new_parser("review.py", DESCRIPTION)
    parser.add_argument("--image", required=True, metavar="PATH", help="the image to review")
    parser.add_argument("--original-prompt", help="the prompt the image was made from (default: from its sidecar)")
    parser.add_argument("--compare", metavar="IMG2", help="a second candidate for the same prompt; names the better")
    parser.add_argument("--auto", action="store_true", help="have a vision model score the image (needs a key)")
    parser.add_argument("--provider", choices=vision.PROVIDERS,
                        help="anthropic (ANTHROPIC_API_KEY) or openrouter; default anthropic when its key is set")
    parser.add_argument("--review-model",
                        help="vision model (default "
                             + ", ".join(f"{v} on {k}" for k, v in vision.DEFAULT_MODELS.items()) + ")")
    parser.add_argument("--no-review-file", dest="review_file", action="store_false",
                        help="do not write <image>.review.json beside the image")
    cli.add_spending_args(parser)
    cli.add_network_args(parser)
    return parser


def handle(args: argparse.Namespace, context: contract.RunContext) -> dict[str, Any]:
    context.fields["image"] = args.image
    targets = [reviewing.load_image(args.image)]
    if args.compare:
        targets.append(reviewing.load_image(args.compare, flag="--compare"))
        if targets[0].path == targets[1].path:
            raise UsageError("--compare names the same file as --image", details="give a second, different image")
    prompt, source = reviewing.resolve_prompt(args.original_prompt, targets)
    if not args.auto:
        return reviewing.manual(targets, prompt, source)
    provider = vision.choose_provider(args.provider, need_key=not args.dry_run)
    model = args.review_model or vision.DEFAULT_MODELS[provider]
    context.fields.update(provider=provider, model=model)
    for target in targets:
        vision.check_limits(provider, target)
    spend = spending.Spend.from_args(args, "review.py")
    if args.dry_run:
        return reviewing.dry_run(targets, prompt, provider, model, spend)
    client = generation.client_from_args(args, provider)
    return reviewing.auto(targets, prompt, source, provider, model, client, spend=spend,
                          write_files=args.review_file)


def main(argv: list[str] | None = None) -> int:
    return contract.run_cli(build_parser(), handle, argv)
