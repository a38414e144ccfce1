"""queue_status.py: counts per state, or one request's jobs, attachments, failures and cost."""

from __future__ import annotations

import argparse
from typing import Any

from .. import validate
from ..cli import flags as cli
from ..cli import runner
from ..errors import UsageError
from ..cli import queue_flags
from ..queue import status, view
from ..queue.layout import QueueDirs, check_request_id

DESCRIPTION = """Show a queue's state; prints one JSON document.

examples:
  queue_status.py --queue-dir ./generated/imagegen-queue
  queue_status.py --request-id discord-123 --wait --timeout 600
  queue_status.py --cancel nightly-2026-12-01
"""


def build_parser() -> argparse.ArgumentParser:
    parser = runner.new_parser("queue_status.py", DESCRIPTION)
    queue_flags.add_queue_dir_arg(parser)
    parser.add_argument("--request-id", help="report this request's jobs: state, attachments, failures, cost, done")
    parser.add_argument("--wait", action="store_true", help="with --request-id: block until every job has finished")
    parser.add_argument("--timeout", type=cli.positive_float, default=600.0,
                        help="seconds --wait may block (default 600)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress line on stderr while --wait blocks (one every 15 s otherwise)")
    parser.add_argument("--cancel", metavar="REQUEST",
                        help="stop this request: cancel its batches at the provider and its pending jobs "
                             "(a call in flight finishes)")
    parser.add_argument("--max-background-workers", type=cli.workers, default=2, metavar="N",
                        help=f"slot count to report on (1-{validate.MAX_WORKERS}, default 2)")
    return parser


def handle(args: argparse.Namespace, context: runner.RunContext, stop: Any = None) -> dict[str, Any]:
    """``stop(seconds)``: how --wait sleeps between looks; True ends the wait (an MCP cancellation)."""
    dirs = QueueDirs.at(args.queue_dir)
    if not dirs.exists():
        raise UsageError(f"no queue at {dirs.root}", details="enqueue a job first, or pass the right --queue-dir",
                         kind="queue_dir")
    if args.cancel:
        from ..queue.batch_drain import BatchOptions, cancel_request

        check_request_id(args.cancel)
        view.require_request(dirs, args.cancel)
        return cancelled(cancel_request(dirs, args.cancel, BatchOptions()), status.request_summary(dirs, args.cancel))
    if args.request_id:
        check_request_id(args.request_id)
        view.require_request(dirs, args.request_id, grace=view.UNKNOWN_REQUEST_GRACE_SEC if args.wait else 0.0)
        if args.wait:
            from .. import progress

            tell = None if args.quiet else lambda summary, seconds: progress.note(status.waiting_line(summary, seconds))
            return status.wait_for(dirs, args.request_id, args.timeout, stop=stop, tell=tell,
                                   every=progress.interval())
        return status.request_summary(dirs, args.request_id)
    if args.wait:
        raise UsageError("--wait needs --request-id")
    return status.queue_summary(dirs, args.max_background_workers)


def cancelled(outcome: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """The --cancel document: ``cancelled`` only when a batch or a job was stopped, else says why not."""
    if outcome["batches"] or outcome["jobs_cancelled"]:
        return {**outcome, "status": "cancelled", "summary": summary}
    why = "every job has finished" if summary["done"] else "its jobs are running or already finished"
    return {**outcome, "status": "nothing_to_cancel", "summary": summary,
            "note": f"nothing was cancelled: request {outcome['request_id']} has no pending job and no batch "
                    f"in flight ({why})"}


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
