"""generate.py: text (plus optional baseline and reference images) to image through OpenRouter."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import command_options, runner

DESCRIPTION = """Generate images through OpenRouter (or Google or OpenAI directly) and print one JSON document \
on stdout.

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


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("generate.py", DESCRIPTION, command_options.generate())


def handle(args: argparse.Namespace, context: runner.RunContext, script: str = "generate.py") -> dict[str, Any]:
    """Run the generation; ``script`` is the name the spending ledger records the call under."""
    from ..cli import from_flags  # not for --help: keep start-up fast
    from ..pipeline import run_generation

    request = from_flags.generate_request(args)
    return run_generation.run_request(request, from_flags.paid_run(args, script, request), context.fields)


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
