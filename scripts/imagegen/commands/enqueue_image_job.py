"""enqueue_image_job.py: validate and queue one job (or a JSONL batch) without calling any API."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import command_options, jobs_file, runner
from ..errors import ImageGenError, UsageError
from ..queue import submit
from ..queue.layout import QueueDirs, request_id_or_new

DESCRIPTION = """Queue image jobs for a background worker; prints one JSON document at once.

examples:
  enqueue_image_job.py --prompt "A retro 80s crab poster" --out ./generated/crab-01.png --request-id discord-123
  enqueue_image_job.py --jobs-file batch.jsonl --request-id nightly-2026-11-21
  enqueue_image_job.py --jobs-file catalogue.jsonl --model nanobanana-2 --via batch --request-id shots-1201
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("enqueue_image_job.py", DESCRIPTION, command_options.enqueue_image_job())


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    from ..cli import from_flags

    request_id = request_id_or_new(args.request_id)
    if args.jobs_file:
        batch = _parse_batch(args)
    elif args.prompt:
        request = from_flags.generate_request(args)
        batch = [(request, submit.validate(request, show_hints=bool(args.clarify_hints), via=args.via))]
    else:
        raise UsageError("give --prompt or --jobs-file")
    return submit.queue_requests(QueueDirs.at(args.queue_dir), batch, request_id=request_id,
                                 settings=submit.job_settings(args.timeout, args.retries, args.via,
                                                              args.request_max_cost),
                                 variant_index=args.variant_index, dry_run=args.dry_run, quiet=args.quiet)


def _parse_batch(args: argparse.Namespace) -> list[tuple[Any, Any]]:
    """Every line made a request and validated before any is queued: one bad line queues nothing."""
    from ..cli import from_flags

    defaults = from_flags.generate_request(build_parser().parse_args([]))  # the flags' defaults, never a line's data
    keys = jobs_file.line_keys(command_options.enqueue_image_job())
    batch = []
    for number, entry in jobs_file.jobs_file_lines(args.jobs_file):
        try:
            request, show_hints = jobs_file.line_request(entry, defaults, keys)
            plan = submit.validate(request, show_hints=show_hints or bool(args.clarify_hints), via=args.via)
        except ImageGenError as error:
            error.message = f"{args.jobs_file}:{number}: {error.message}"
            raise
        batch.append((request, plan))
    return batch


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
