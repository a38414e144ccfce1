"""queue_and_return.py: enqueue, hand the drain to a detached worker, and acknowledge at once."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..cli import command_options, queue_flags, runner
from ..queue import spawn, submit, variants
from ..queue.layout import QueueDirs, request_id_or_new

DESCRIPTION = """Queue images and return a "queued" acknowledgement immediately; a detached worker drains the
queue in the background. Read the outcome later with queue_status.py --request-id ID.

example:
  queue_and_return.py --prompt "A minimalist snow crab logo" --count 4 --request-id discord-123 \\
      --out-dir ./generated --prefix crab-logo --queue-dir ./generated/imagegen-queue
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("queue_and_return.py", DESCRIPTION, command_options.queue_and_return())


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    from ..cli import from_flags

    queued = variants.enqueue_batch(from_flags.generate_request(args), queue_flags.variant_batch(vars(args)),
                                    request_id=request_id_or_new(args.request_id), base=Path.cwd(),
                                    show_hints=bool(args.clarify_hints),
                                    settings=submit.job_settings(args.timeout, args.retries, args.via,
                                                                 args.request_max_cost),
                                    dry_run=args.dry_run, quiet=args.quiet)
    if args.dry_run:
        return {**queued, "worker": {"state": "not_spawned", "reason": "dry run"}}
    worker = spawn.hand_off(QueueDirs.at(args.queue_dir), slots=args.max_background_workers,
                            orphan_timeout=args.orphan_timeout_sec, max_attempts=args.max_attempts,
                            allow_roots=args.allow_root, dry_run=args.dry_run_worker)
    return {"status": "queued", **queued, "worker": worker}


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
