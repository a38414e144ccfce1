"""queue_status.py: counts per state, or one request's jobs, attachments, failures and cost."""

from __future__ import annotations

import argparse
from typing import Any

from ..cli import command_options, runner
from ..queue import status
from ..queue.layout import QueueDirs

DESCRIPTION = """Show a queue's state; prints one JSON document.

examples:
  queue_status.py --queue-dir ./generated/imagegen-queue
  queue_status.py --request-id discord-123 --wait --timeout 600
  queue_status.py --cancel nightly-2026-12-01
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("queue_status.py", DESCRIPTION, command_options.queue_status())


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    return status.report(QueueDirs.at(args.queue_dir), request_id=args.request_id, wait=args.wait,
                         timeout=args.timeout, cancel=args.cancel, slots=args.max_background_workers,
                         quiet=args.quiet)


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv)
