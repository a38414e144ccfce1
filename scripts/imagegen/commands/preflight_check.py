"""preflight_check.py: check keys, directories, presets, URLs and the queue before the first run."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .. import config, preflight
from ..cli import command_options, runner

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
    return runner.new_parser("preflight_check.py", DESCRIPTION, command_options.preflight_check())


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
