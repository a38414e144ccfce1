"""enqueue_variants.py: queue N variants of one prompt with consistent names and a manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import contract
from ..queue import submit as enqueue, variants

DESCRIPTION = """Queue variants <prefix>-NN.png of one prompt and write <prefix>-manifest.json; one JSON document.

example:
  enqueue_variants.py --prompt "A minimalist snow crab logo" --count 4 --out-dir ./generated --prefix crab-logo \\
      --request-id discord-123
"""


def build_parser() -> argparse.ArgumentParser:
    parser = enqueue.base_parser("enqueue_variants.py", DESCRIPTION)
    variants.add_variant_args(parser)
    return parser


def handle(args: argparse.Namespace, context: contract.RunContext) -> dict[str, Any]:
    request_id = enqueue.request_id_from(args)
    return {"status": "queued", **variants.enqueue_batch(args, request_id=request_id, base=Path.cwd())}


def main(argv: list[str] | None = None) -> int:
    return contract.run_cli(build_parser(), handle, argv)
