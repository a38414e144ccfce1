"""review.py: score an image against its prompt, by a vision model (--auto) or by the calling agent."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import command_options, runner

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
    return runner.new_parser("review.py", DESCRIPTION, command_options.review())


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    from ..cli import from_flags
    from ..pipeline import review

    context.fields["image"] = args.image
    request = from_flags.review_request(args)
    return review.run(request, from_flags.paid_run(args, "review.py", request), context.fields)


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
