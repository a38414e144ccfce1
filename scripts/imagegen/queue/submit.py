"""Enqueueing: validate exactly as generate.py would (so a job that would be refused is refused
now, with generate.py's exit code and JSON), then store the job with absolute paths."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import ImageGenError, UsageError
from . import execute as runner, store
from .layout import QueueDirs, check_request_id

VARIATION_DELTAS = (
    ("pose", "vary the subject's pose and gesture"),
    ("background", "vary the background details and secondary objects"),
    ("lighting", "vary the lighting direction and time of day"),
    ("framing", "vary the camera framing and angle"),
    ("palette", "vary the secondary colours"),
    ("texture", "vary surface textures and fine detail"),
)


def request_id_from(args: argparse.Namespace) -> str:
    """The given --request-id, checked, or a fresh one when none was given."""
    if args.request_id is None:
        return f"req-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}"
    return check_request_id(args.request_id)


def validate(args: argparse.Namespace, variation: str | None = None) -> Any:
    """Build the generation plan once, offline: raises exactly what generate.py would raise
    (exit 2 for bad input, 3 under --strict-clarify, 4 for edit intent without a baseline, 5 when
    the job's estimate exceeds its --max-cost). The daily budget is not checked here: a job it
    refuses waits in the queue for the budget to reset."""
    from ..pipeline import generate as generation, images_api
    from ..spending import guard as spending

    args.dry_run = True
    options = images_api.options_from_args(args)
    try:
        plan = generation.plan_from_args(args, instructions=[variation] if variation else ())
    except ImageGenError as error:
        generation.notify_hints(error.extra.get("clarify_hints") or [], args)
        raise
    if options is not None:
        images_api.apply(plan, options, getattr(args, "prompt_upsampling", None))
    generation.notify_hints([hint.to_dict() for hint in plan.clarify_hints], args)
    spending.check(plan.estimate_usd, getattr(args, "max_cost", None), model=plan.spec.alias, count=plan.count,
                   daily=False)
    return plan


def variation_delta(index: int, locks: dict[str, bool]) -> tuple[str, str]:
    """A recorded, explicit difference for variant ``index`` that respects the locked rails."""
    allowed = [d for d in VARIATION_DELTAS
               if not (locks.get("palette") and d[0] == "palette")
               and not (locks.get("composition") and d[0] in ("framing", "pose"))]
    return allowed[index % len(allowed)]


def variation_instruction(number: int, total: int, delta: str) -> str:
    # Phrased as generation guidance; never as a request to change an existing picture.
    return f"Variation {number} of a set of {total}: {delta}; keep everything else as described."


def make_job(args: argparse.Namespace, *, kind: str, request_id: str, base: Path, plan: Any,
             variation: dict[str, Any] | None = None) -> dict[str, Any]:
    """The job for validated ``args`` and their ``plan``: flags with absolute paths, and the input
    images by path and sha256 (never their bytes), so a changed file can be noticed later."""
    stored = runner.job_args(args, base, kind)
    output = stored.get("output_file")
    record = plan.request_record()
    inputs = {key: record[key] for key in ("input_images", "style_refs", "baseline") if record.get(key)}
    return {
        "kind": kind,
        "request_id": check_request_id(request_id),
        "args": stored,
        "output": output,
        "variation": variation["instruction"] if variation else None,
        "variation_delta": variation,
        "cost_estimate_usd": plan.estimate_usd,
        "inputs": inputs,
        "enqueued_by": store.origin(),
        "status": "pending",
    }


def enqueue(dirs: QueueDirs, job: dict[str, Any], variant: int | None) -> dict[str, Any]:
    dirs.ensure()
    saved, created = store.enqueue(dirs, job, variant)
    return {
        "job_id": saved["job_id"],
        "variant": saved.get("variant"),
        "state": saved.get("state", "pending"),
        "created": created,
        "target": saved.get("output") or (saved.get("args") or {}).get("output_dir"),
        "cost_estimate_usd": saved.get("cost_estimate_usd"),
    }


def total_estimate(queued: list[dict[str, Any]]) -> float | None:
    """What the queued jobs should cost together (None when any price is unknown), for the acknowledgement."""
    estimates = [q.get("cost_estimate_usd") for q in queued]
    if any(e is None for e in estimates):
        return None
    return round(sum(estimates), 6)


def jobs_file_argv(path: Path) -> list[tuple[int, list[str]]]:
    """Each JSONL line's flags as an argv list: {"prompt": "x", "lock_palette": true} -> [--prompt x --lock-palette]."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read --jobs-file {path}: {error}") from None
    result = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry = json.loads(line)
        except ValueError as error:
            raise UsageError(f"{path}:{number}: not valid JSON ({error})") from None
        if not isinstance(entry, dict):
            raise UsageError(f"{path}:{number}: each line must be a JSON object of flags")
        argv: list[str] = []
        for key, value in entry.items():
            flag = "--" + str(key).replace("_", "-")
            if value is True:
                argv.append(flag)
            elif value is False or value is None:
                continue
            elif isinstance(value, list):
                for item in value:
                    argv += [flag, str(item)]
            else:
                argv += [flag, str(value)]
        result.append((number, argv))
    return result


def status_command(dirs: QueueDirs, request_id: str) -> str:
    from ..config import script_command

    return script_command("queue_status.py", "--queue-dir", str(dirs.root), "--request-id", request_id)


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The generation flags of generate_image.py (seed 000's names and default model), ready for queue flags."""
    from ..commands.generate_image import build_parser

    parser = build_parser()
    parser.prog = prog
    parser.description = description
    parser.conflict_handler = "resolve"  # queue scripts give --count and --max-jobs their own meaning
    return parser


def add_queue_dir_arg(parser: argparse.ArgumentParser) -> None:
    from .layout import DEFAULT_QUEUE_DIR

    parser.add_argument("--queue-dir", type=Path, default=DEFAULT_QUEUE_DIR,
                        help=f"the queue directory (default {DEFAULT_QUEUE_DIR})")


def add_worker_args(parser: argparse.ArgumentParser) -> None:
    from .leases import DEFAULT_MAX_ATTEMPTS, DEFAULT_ORPHAN_TIMEOUT, DEFAULT_SLOTS

    group = parser.add_argument_group("worker")
    group.add_argument("--max-background-workers", type=int, default=DEFAULT_SLOTS, metavar="N",
                       help=f"worker slots: at most N workers drain this queue at once (default {DEFAULT_SLOTS})")
    group.add_argument("--orphan-timeout-sec", type=float, default=DEFAULT_ORPHAN_TIMEOUT, metavar="S",
                       help="recover a running job whose worker cannot be proven alive after S seconds; one "
                            f"whose worker is provably dead is recovered at once (default {DEFAULT_ORPHAN_TIMEOUT:g})")
    group.add_argument("--max-attempts", type=int, default=DEFAULT_MAX_ATTEMPTS, metavar="N",
                       help=f"attempts before a job goes to failed/ (default {DEFAULT_MAX_ATTEMPTS})")
