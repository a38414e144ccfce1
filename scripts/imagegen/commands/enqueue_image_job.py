"""enqueue_image_job.py: validate and queue one job (or a JSONL batch) without calling any API."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import contract
from ..errors import ImageGenError, UsageError
from ..queue import submit as enqueue
from ..queue.layout import QueueDirs

DESCRIPTION = """Queue image jobs for a background worker; prints one JSON document at once.

examples:
  enqueue_image_job.py --prompt "A retro 80s crab poster" --out ./generated/crab-01.png --request-id discord-123
  enqueue_image_job.py --jobs-file batch.jsonl --request-id nightly-2026-11-21
"""


def build_parser() -> argparse.ArgumentParser:
    parser = enqueue.base_parser("enqueue_image_job.py", DESCRIPTION)
    for action in parser._actions:
        if action.dest == "prompt":
            action.required = False  # a --jobs-file carries its own prompts
    group = parser.add_argument_group("queue")
    enqueue.add_queue_dir_arg(group)
    group.add_argument("--request-id", help="groups jobs for status and idempotency (default: a new id)")
    group.add_argument("--variant-index", type=int, metavar="N",
                       help="variant number within the request (default: next free, or the job with the same --out)")
    group.add_argument("--jobs-file", type=Path, metavar="FILE.jsonl",
                       help="one job per line, flags as keys, e.g. {\"prompt\": \"...\", \"out\": \"a.png\"}")
    return parser


def handle(args: argparse.Namespace, context: contract.RunContext) -> dict[str, Any]:
    dirs = QueueDirs.at(args.queue_dir)
    request_id = enqueue.request_id_from(args)
    base = Path.cwd()
    if args.jobs_file:
        batch = _parse_batch(args)
    elif args.prompt:
        batch = [(args, enqueue.validate(args))]
    else:
        raise UsageError("give --prompt or --jobs-file")
    jobs = [enqueue.make_job(job_args, kind="generate", request_id=request_id, base=base, plan=plan)
            for job_args, plan in batch]
    queued = [enqueue.enqueue(dirs, job, args.variant_index if len(jobs) == 1 else None) for job in jobs]
    return {
        "status": "queued",
        "request_id": request_id,
        "queue_dir": str(dirs.root),
        "job_ids": [q["job_id"] for q in queued],
        "jobs": queued,
        "cost_estimate_usd": enqueue.total_estimate(queued),
        "status_command": enqueue.status_command(dirs, request_id),
    }


def _parse_batch(args: argparse.Namespace) -> list[tuple[argparse.Namespace, Any]]:
    """Every line parsed and validated before any is queued: one bad line queues nothing."""
    parser = build_parser()
    batch = []
    for number, argv in enqueue.jobs_file_argv(args.jobs_file):
        try:
            job_args = parser.parse_args(argv)
            if not job_args.prompt:
                raise UsageError("missing prompt")
            plan = enqueue.validate(job_args)
        except ImageGenError as error:
            error.message = f"{args.jobs_file}:{number}: {error.message}"
            raise
        batch.append((job_args, plan))
    return batch


def main(argv: list[str] | None = None) -> int:
    return contract.run_cli(build_parser(), handle, argv)
