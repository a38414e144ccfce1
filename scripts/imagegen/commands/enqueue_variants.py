"""enqueue_variants.py: queue N variants of one prompt with consistent names and a manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import command_options, queue_flags, runner
from ..queue import submit, variants
from ..queue.layout import request_id_or_new

DESCRIPTION = """Queue variants <prefix>-NN.png of one prompt and write <prefix>-manifest.json; one JSON document.

example:
  enqueue_variants.py --prompt "A minimalist snow crab logo" --count 4 --out-dir ./generated --prefix crab-logo \\
      --request-id discord-123
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("enqueue_variants.py", DESCRIPTION, command_options.enqueue_variants())


def enqueue(args: argparse.Namespace) -> dict[str, Any]:
    """Queue the variants the flags describe (what queue_and_return.py queues too)."""
    from ..cli import from_flags

    return variants.enqueue_batch(from_flags.generate_request(args), queue_flags.variant_batch(vars(args)),
                                  request_id=request_id_or_new(args.request_id), base=Path.cwd(),
                                  show_hints=bool(args.clarify_hints),
                                  settings=submit.job_settings(args.timeout, args.retries, args.via,
                                                               args.request_max_cost),
                                  dry_run=args.dry_run, quiet=args.quiet)


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    queued = enqueue(args)
    return queued if args.dry_run else {"status": "queued", **queued}


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
