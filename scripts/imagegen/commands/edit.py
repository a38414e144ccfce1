"""edit.py: change an existing image, by instruction through OpenRouter or by mask through OpenAI."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import command_options, runner

DESCRIPTION = """Edit an image and print one JSON document on stdout.

modes:
  openrouter  describe the change in words; the model redraws the image (default without a mask)
  openai      repaint only the masked area with OpenAI gpt-image models (default with a mask)

examples:
  edit.py --input-image photo.png --prompt "Change the background to a sunset beach"
  edit.py --mode openrouter --input-image photo.png --prompt "Make it night" --model nanobanana-pro
  edit.py --mode openai --input-image room.png --mask mask.png --prompt "A small bonsai tree"
  edit.py --input-image room.png --mask-rect 60%,40%,30%,40% --prompt "A window with a sea view"
  edit.py --input-image room.png --mask-rect 0,0,100%,40% --mask-invert --prompt "Snowy mountains"
  edit.py --input-image photo.png --prompt "Make it night" --max-cost 0.10 --request-id chat-1234
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("edit.py", DESCRIPTION, command_options.edit())


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    from ..cli import from_flags  # not for --help: keep start-up fast
    from ..pipeline import edit

    request = from_flags.edit_request(args)
    return edit.run_request(request, from_flags.paid_run(args, "edit.py", request), context.fields)


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
