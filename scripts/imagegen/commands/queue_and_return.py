"""queue_and_return.py: enqueue, hand the drain to a detached worker, and acknowledge at once."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import command_options, runner
from ..queue import spawn
from ..queue.layout import QueueDirs

DESCRIPTION = """Queue images and return a "queued" acknowledgement immediately; a detached worker drains the
queue in the background. Read the outcome later with queue_status.py --request-id ID.

example:
  queue_and_return.py --prompt "A minimalist snow crab logo" --count 4 --request-id discord-123 \\
      --out-dir ./generated --prefix crab-logo --queue-dir ./generated/imagegen-queue
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("queue_and_return.py", DESCRIPTION, command_options.queue_and_return())


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    from . import enqueue_variants

    queued = enqueue_variants.enqueue(args)
    if args.dry_run:
        return {**queued, "worker": {"state": "not_spawned", "reason": "dry run"}}
    worker = spawn.hand_off(QueueDirs.at(args.queue_dir), slots=args.max_background_workers,
                            orphan_timeout=args.orphan_timeout_sec, max_attempts=args.max_attempts,
                            allow_roots=args.allow_root, dry_run=args.dry_run_worker)
    return {"status": "queued", **queued, "worker": worker}


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
