"""generate_image.py: generate.py under the flag names and default model some agent skills expect.

The same flags and code as generate.py (``--out`` is ``--output-file``, ``--image-size
low|medium|high`` is ``--size 1K|2K|4K``); only the default model differs.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import command_options, runner
from . import generate

DEFAULT_MODEL = command_options.GENERATE_IMAGE_MODEL  # an alias: resolved at run time against OpenRouter's catalogue

DESCRIPTION = f"""Generate an image through OpenRouter and print one JSON document on stdout.
Same flags as generate.py; the default model is {DEFAULT_MODEL} (google/gemini-3.1-flash-image, or the
next id of its chain that OpenRouter's catalogue lists).

examples:
  generate_image.py --prompt "A cinematic portrait of a cyberpunk crab" --image-size low \\
      --out ./generated/cyber-crab.png
  generate_image.py --prompt "Same logo, darker background" --baseline-image ./generated/logo.png \\
      --confirm-external-upload --baseline-source-kind reply_attachment --must-keep "logo mark"
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("generate_image.py", DESCRIPTION, command_options.generate_image())


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    return generate.handle(args, context, script="generate_image.py")


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
