"""preflight_check.py: check keys, directories, presets, URLs and the queue before the first run."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ..cli import flags as cli
from .. import config, preflight
from ..cli import runner
from ..cli import queue_flags
from ..queue.layout import DEFAULT_QUEUE_DIR

DESCRIPTION = """Check that image-gen is ready to run here, and say how to fix what is not.

Text on a terminal by default; --json prints {"status", "checks", "required_failures", "fixups"}.
Exit 0 when every required check passes, 1 when one fails, 2 on bad flags.
Nothing is changed unless --fix is given (it creates missing directories and returns stranded
queue jobs to pending/); nothing is sent unless --online is given.

examples:
  preflight_check.py
  preflight_check.py --json
  preflight_check.py --online --output-dir ./renders --fix
"""


def build_parser() -> argparse.ArgumentParser:
    parser = runner.new_parser("preflight_check.py", DESCRIPTION)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument("--online", action="store_true",
                        help="also call GET /key to confirm the OpenRouter key works and report its credit")
    parser.add_argument("--fix", action="store_true",
                        help="create the missing output and queue directories, and return stranded queue jobs "
                             "to pending/ (as a worker's recovery would)")
    parser.add_argument("--output-dir", type=Path, default=Path("./data"),
                        help="the output directory to check (default ./data, as generate.py uses)")
    parser.add_argument("--queue-dir", type=Path, default=DEFAULT_QUEUE_DIR,
                        help=f"the job queue to check (default {DEFAULT_QUEUE_DIR})")
    queue_flags.add_worker_args(parser)
    parser.add_argument("--timeout", type=cli.positive_float, default=15.0,
                        help="seconds to wait for GET /key with --online (default 15)")
    return parser


def handle(args: argparse.Namespace, context: runner.RunContext) -> dict[str, Any]:
    started = time.monotonic()
    options = preflight.Options(output_dir=args.output_dir, queue_dir=args.queue_dir, fix=args.fix,
                                online=args.online, timeout=args.timeout, orphan_timeout=args.orphan_timeout_sec,
                                max_attempts=args.max_attempts, slots=args.max_background_workers)
    return preflight.report(preflight.run_checks(options), started)


def render(args: argparse.Namespace, document: dict[str, Any]) -> str | None:
    if args.json:
        return None
    return preflight.render_text(document, config.colour_wanted(sys.stdout is not None and sys.stdout.isatty()))


def exit_code(document: dict[str, Any]) -> int:
    return 1 if document["required_failures"] else 0


def main(argv: list[str] | None = None) -> int:
    return runner.run_cli(build_parser(), handle, argv, render=render, exit_code=exit_code)
