"""review.py: score an image against its prompt, by a vision model (--auto) or by the calling agent."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import flags as cli
from ..cli import runner
from ..prompt import choices

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
    parser = runner.new_parser("review.py", DESCRIPTION)
    parser.add_argument("--image", required=True, metavar="PATH", help="the image to review")
    parser.add_argument("--original-prompt", help="the prompt the image was made from (default: from its sidecar)")
    parser.add_argument("--compare", metavar="IMG2", help="a second candidate for the same prompt; names the better")
    parser.add_argument("--auto", action="store_true", help="have a vision model score the image (needs a key)")
    parser.add_argument("--provider", choices=choices.REVIEW_PROVIDERS,
                        help="anthropic (ANTHROPIC_API_KEY) or openrouter; default anthropic when its key is set")
    parser.add_argument("--review-model",
                        help="vision model (default "
                             + ", ".join(f"{v} on {k}" for k, v in choices.DEFAULT_REVIEW_MODELS.items()) + ")")
    parser.add_argument("--no-review-file", dest="review_file", action="store_false",
                        help="do not write <image>.review.json beside the image")
    cli.add_spending_args(parser)
    cli.add_network_args(parser)
    return parser


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    from ..cli import requests
    from ..pipeline import review
    
    context.fields["image"] = args.image
    request = requests.review_request(args)
    return review.run(request, requests.paid_run(args, "review.py", request), context.fields)


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
