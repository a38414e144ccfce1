"""queue_and_return.py: enqueue, hand the drain to a detached worker, and acknowledge at once."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import contract
from ..queue import submit as enqueue, spawn, variants
from ..queue.layout import QueueDirs

DESCRIPTION = """Queue images and return a "queued" acknowledgement immediately; a detached worker drains the
queue in the background. Read the outcome later with queue_status.py --request-id ID.

example:
  queue_and_return.py --prompt "A minimalist snow crab logo" --count 4 --request-id discord-123 \\
      --out-dir ./generated --prefix crab-logo --queue-dir ./generated/imagegen-queue
"""


def build_parser() -> argparse.ArgumentParser:
    parser = enqueue.base_parser("queue_and_return.py", DESCRIPTION)
    variants.add_variant_args(parser, default_count=1)
    enqueue.add_worker_args(parser)
    parser.add_argument("--dry-run-worker", action="store_true",
                        help="queue the jobs but start no worker (worker state: not_spawned)")
    return parser


def handle(args: argparse.Namespace, context: contract.RunContext) -> dict[str, Any]:
    request_id = enqueue.request_id_from(args)
    queued = variants.enqueue_batch(args, request_id=request_id, base=Path.cwd())
    worker = spawn.hand_off(QueueDirs.at(args.queue_dir), slots=max(1, args.max_background_workers),
                            orphan_timeout=args.orphan_timeout_sec, max_attempts=max(1, args.max_attempts),
                            dry_run=args.dry_run_worker)
    return {"status": "queued", **queued, "worker": worker}


def main(argv: list[str] | None = None) -> int:
    return contract.run_cli(build_parser(), handle, argv)
