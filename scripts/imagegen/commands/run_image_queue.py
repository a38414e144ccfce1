"""run_image_queue.py: drain the queue (worker context: a detached process, a person, or cron)."""

from __future__ import annotations

import argparse
import functools
import sys
from typing import Any

from .. import progress
from ..cli import command_options, runner
from ..cli.logfile import LogFile
from ..errors import EXIT_OK, EXIT_USAGE
from ..queue.drain_settings import DrainOptions
from ..queue.layout import QueueDirs, check_request_id
from ..queue.worker import drain

DESCRIPTION = """Drain an image queue with N threads and exit when it stays empty; prints a JSON summary.
Safe to start at any time (cron every minute): it leaves at once when all worker slots are busy.

examples:
  run_image_queue.py --queue-dir ./generated/imagegen-queue
  run_image_queue.py --queue-dir ./generated/imagegen-queue --handoff-mode cron --idle-exit-sec 0 \\
      --log-file logs/queue.log
"""


def build_parser() -> argparse.ArgumentParser:
    return runner.new_parser("run_image_queue.py", DESCRIPTION, command_options.run_image_queue())


def handle(args: argparse.Namespace, context: runner.RunContext, log: LogFile | None = None) -> dict[str, Any]:
    from ..queue.roots import Roots

    if args.log_file is not None and log is not None:
        log.open(args.log_file)

    if args.request_id:
        check_request_id(args.request_id)
    dirs = QueueDirs.at(args.queue_dir)
    options = DrainOptions(
        queue_dir=dirs, roots=Roots.for_worker(dirs.root, args.allow_root), concurrency=args.concurrency,
        slots=args.max_background_workers, orphan_timeout=args.orphan_timeout_sec, max_attempts=args.max_attempts,
        max_jobs=args.max_jobs, request_id=args.request_id, job_timeout=args.job_timeout, retries=args.retries,
        idle_exit=args.idle_exit_sec, handoff_mode=args.handoff_mode, quiet=args.quiet,
    )
    result = {"queue_dir": str(options.queue_dir.root), **drain(options)}
    waiting = result.get("missing_key")
    if waiting:  # the jobs wait in pending/; the run fails so that cron mails the fix
        result.update(error=f"{waiting['error']}: {len(waiting['jobs_waiting'])} job(s) wait in pending/ for it",
                      error_kind="missing_key", retryable=False, details=waiting["details"],
                      generation_time_ms=result.get("elapsed_ms"))
    return result


def exit_code(document: dict[str, Any]) -> int:
    return EXIT_USAGE if document.get("missing_key") else EXIT_OK


def idle(document: dict[str, Any]) -> bool:
    """A drain that found nothing to do (or no free slot) and did nothing."""
    if document.get("status") == "no_free_slot":
        return True
    busy = ("done", "failed", "deferred", "corrupt", "recovered", "errors", "missing_key")
    batches = document.get("batches") or {}
    return not any(document.get(key) for key in busy) and not any(
        value for key, value in batches.items() if key != "skipped")


def idle_line(document: dict[str, Any]) -> str:
    from ..fsutil import now_iso

    if document.get("status") == "no_free_slot":
        return f"{now_iso()} idle: all {document.get('slots')} worker slots are busy"
    counts = document.get("remaining") or {}
    shown = ", ".join(f"{counts[state]} {state}" for state in ("pending", "running", "submitted") if counts.get(state))
    return f"{now_iso()} idle: nothing to run" + (f" ({shown})" if shown else "")


def main(argv: list[str] | None = None) -> int:
    outcome: dict[str, Any] = {}

    def render(args: argparse.Namespace, document: dict[str, Any]) -> str | None:
        outcome.update(document, told=not log.active and not args.quiet and sys.stderr.isatty())
        return idle_line(document) if log.active and idle(document) else None  # a minute's log line, not a document

    parser = build_parser()
    with LogFile() as log:
        code = runner.run_cli(parser, functools.partial(handle, log=log), argv, log=log, exit_code=exit_code,
                              render=render)
    # After the log file let go of stderr: cron mails this line (unless the runner told a terminal already).
    if outcome.get("missing_key") and not outcome["told"]:
        progress.line(f"{parser.prog}: {outcome['error']}; {outcome['details']}")
    return code
