"""enqueue_image_job.py: validate and queue one job (or a JSONL batch) without calling any API."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import validate
from ..cli import flags as cli
from ..cli import runner
from ..errors import ImageGenError, UsageError
from ..cli import queue_flags
from ..queue import submit as enqueue
from ..queue.layout import QueueDirs

DESCRIPTION = """Queue image jobs for a background worker; prints one JSON document at once.

examples:
  enqueue_image_job.py --prompt "A retro 80s crab poster" --out ./generated/crab-01.png --request-id discord-123
  enqueue_image_job.py --jobs-file batch.jsonl --request-id nightly-2026-11-21
  enqueue_image_job.py --jobs-file catalogue.jsonl --model nanobanana-2 --via batch --request-id shots-1201
"""


def build_parser() -> argparse.ArgumentParser:
    parser = queue_flags.base_parser("enqueue_image_job.py", DESCRIPTION)
    for action in parser._actions:
        if action.dest == "prompt":
            action.required = False  # a --jobs-file carries its own prompts
    group = parser.add_argument_group("queue")
    queue_flags.add_queue_dir_arg(group)
    group.add_argument("--request-id", help="groups jobs for status and idempotency (default: a new id)")
    group.add_argument("--variant-index", type=cli.variant_index, metavar="N",
                       help=f"variant number within the request, 0-{validate.MAX_VARIANT_INDEX} "
                            "(default: next free, or the job with the same --out)")
    group.add_argument("--jobs-file", type=Path, metavar="FILE.jsonl",
                       help="one job per line, flags as keys (read as data, never as flags), "
                            "e.g. {\"prompt\": \"...\", \"out\": \"a.png\"}")
    return parser


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    from ..cli import requests

    dirs = QueueDirs.at(args.queue_dir)
    request_id = queue_flags.request_id_from(args)
    if args.jobs_file:
        batch = _parse_batch(args)
    elif args.prompt:
        request = requests.generate_request(args)
        batch = [(request, enqueue.validate(request, show_hints=bool(args.clarify_hints), via=args.via))]
    else:
        raise UsageError("give --prompt or --jobs-file")
    settings = queue_flags.run_settings(args)
    jobs = [enqueue.make_job(enqueue.stored_request(request, Path.cwd()), request_id=request_id, plan=plan,
                             settings=settings) for request, plan in batch]
    enqueue.refuse_taken_outputs(jobs)  # every job checked before any is queued
    enqueue.check_request_cap(jobs)
    enqueue.notify_warnings([plan for _, plan in batch], args.quiet)
    if args.dry_run:
        return enqueue.dry_run_document(dirs, request_id, jobs, [plan for _, plan in batch])
    queued = enqueue.enqueue_all(dirs, jobs, [args.variant_index if len(jobs) == 1 else None] * len(jobs))
    return {
        "status": "queued",
        "request_id": request_id,
        "queue_dir": str(dirs.root),
        "job_ids": [q["job_id"] for q in queued],
        "jobs": queued,
        "cost_estimate_usd": enqueue.total_estimate(queued),
        "status_command": enqueue.status_command(dirs, request_id),
    }


def _parse_batch(args: argparse.Namespace) -> list[tuple[Any, Any]]:
    """Every line made a request and validated before any is queued: one bad line queues nothing."""
    from ..cli import requests

    parser = build_parser()
    defaults = requests.generate_request(parser.parse_args([]))  # the flags' defaults, never a line's data
    fields = queue_flags.line_fields(parser)
    batch = []
    for number, entry in queue_flags.jobs_file_lines(args.jobs_file):
        try:
            request, show_hints = queue_flags.line_request(entry, defaults, fields)
            plan = enqueue.validate(request, show_hints=show_hints or bool(args.clarify_hints), via=args.via)
        except ImageGenError as error:
            error.message = f"{args.jobs_file}:{number}: {error.message}"
            raise
        batch.append((request, plan))
    return batch


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
