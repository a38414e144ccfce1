"""Turning a job into a run and back: the job's stored arguments are the generate/edit flags,
already validated at enqueue time, with every path made absolute."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Callable

from ..http.client import RateGate
from ..errors import ImageGenError, UsageError
from ..fsutil import sweep_abandoned
from ..images.writer import read_png_metadata

PATH_ARGS = ("output_dir", "output_file", "input_image", "preset", "baseline_image", "workspace_root", "mask")
LIST_PATH_ARGS = ("style_ref",)
SCRIPT = "run_image_queue.py"  # how queue calls are named in the spending ledger
# Flags that belong to the invocation, not to the job.
VOLATILE_ARGS = ("dry_run", "quiet", "clarify_hints", "timeout", "retries")


def _parser_for(kind: str) -> argparse.ArgumentParser:
    if kind == "generate":
        from ..commands.generate_image import build_parser
    elif kind == "edit":
        from ..commands.edit import build_parser  # type: ignore[no-redef]
    else:
        raise UsageError(f"unknown job kind {kind!r}", kind="corrupt_job")
    return build_parser()


def _absolute(value: Any, base: Path) -> Any:
    if value is None or (isinstance(value, str) and value.startswith(("http://", "https://"))):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def job_args(args: argparse.Namespace, base: Path, kind: str = "generate") -> dict[str, Any]:
    """The JSON-safe, absolute-path form of validated ``args``, as stored in a job: only the
    flags the job's own script knows (queue flags stay out)."""
    parser = _parser_for(kind)
    known = {action.dest for action in parser._actions} | set(parser._defaults)
    stored: dict[str, Any] = {}
    for key, value in vars(args).items():
        if key in VOLATILE_ARGS or key not in known or key in ("help", "version"):
            continue
        if key in PATH_ARGS:
            if key == "preset" and value and "/" not in str(value) and not Path(value).exists():
                from ..prompt.presets import find

                value = find(str(value))
            value = _absolute(value, base)
        elif key in LIST_PATH_ARGS:
            value = [_absolute(v, base) for v in value or []]
        elif isinstance(value, Path):
            value = str(value)
        stored[key] = value
    json.dumps(stored)  # fail here, not in the worker, if something is not JSON-safe
    return stored


def namespace(job: dict[str, Any]) -> argparse.Namespace:
    """Rebuild the parsed arguments of a job (defaults first, then what the job stored)."""
    parser = _parser_for(job.get("kind", "generate"))
    args = parser.parse_args(["--prompt", "placeholder"] + _required_placeholders(job))
    for key, value in job["args"].items():
        setattr(args, key, value)
    args.dry_run = False
    args.quiet = True
    return args


def _required_placeholders(job: dict[str, Any]) -> list[str]:
    if job.get("kind") == "edit":
        return ["--mode", "openrouter", "--input-image", "placeholder"]
    return []


def execute(job: dict[str, Any], *, gate: RateGate, timeout: float, retries: int,
            on_plan: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Run one job; returns the document generate.py would print, plus ``provider_response``
    (the replies with image data left out) for the results record.

    Spending is the job's: its --max-cost, the daily budget, and ledger lines that name the
    request and the job. A refusal raises BudgetError before anything is sent.
    """
    from ..prompt import enhance
    from ..pipeline import generate as generation, images_api
    from ..spending import guard as spending

    args = namespace(job)
    args.timeout, args.retries = timeout, retries
    variation = job.get("variation")
    options = images_api.options_from_args(args)
    plan = generation.plan_from_args(args, instructions=[variation] if variation else ())
    if options is not None:
        images_api.apply(plan, options, getattr(args, "prompt_upsampling", None))
    plan.extra_result.update({"job_id": job["job_id"], "request_id": job["request_id"]})
    if variation:
        plan.extra_result["variation"] = variation
    if on_plan:
        on_plan(plan)
    writer = generation.writer_from_args(args, plan.spec)
    sweep_abandoned(writer.target_dir())  # an earlier attempt may have been killed mid-write
    finished = _already_done(job, writer)
    if finished is not None:
        return finished
    spend = spending.Spend(SCRIPT, job["request_id"], getattr(args, "max_cost", None), job_id=job["job_id"])
    client = generation.client_from_args(args, "openrouter")
    client.gate = gate
    client.verbose = False
    if getattr(args, "enhance", False):
        writer.check_before_request()
        enhance.enhance_plan(plan, client, spend=spend, model=args.enhance_model, quiet=True)
    if options is not None:
        return images_api.run(plan, options, client, writer, quiet=True, spend=spend, keep_response=True)
    return generation.run_chat(plan, client, writer, quiet=True, spend=spend, keep_response=True)


def _already_done(job: dict[str, Any], writer: Any) -> dict[str, Any] | None:
    """If a previous attempt wrote the image (its sidecar, or the PNG's own metadata, names this
    job), don't pay twice."""
    target = writer.output_file
    if target is None or not target.exists():
        return None
    sidecar = Path(str(target) + ".json")
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        record = None
    if not _names_job(record, job):
        # Killed between saving the image and writing its sidecar: the PNG carries the same record.
        record = read_png_metadata(target)
        if not _names_job(record, job):
            return None
        assert record is not None
        saved = writer.adopt(target, record)
        record = {**record, "image": {"format": saved.format, "width": saved.width, "height": saved.height}}
    request = record.get("request") or {}
    image = record.get("image") or {}
    result = record.get("result") or {}
    return {
        "path": str(target), "all_paths": [str(target)], "model": request.get("model"),
        "prompt": request.get("prompt"), "format": image.get("format"), "width": image.get("width"),
        "height": image.get("height"), "generation_id": result.get("generation_id"),
        "cost_usd": result.get("cost_usd"), "sidecar": str(sidecar) if sidecar.exists() else None,
        "recovered_from_previous_attempt": True,
        "warnings": ["the image from an earlier attempt was found complete; no second call was made"],
    }


def _names_job(record: Any, job: dict[str, Any]) -> bool:
    request = record.get("request") if isinstance(record, dict) else None
    return isinstance(request, dict) and request.get("job_id") == job["job_id"]


def is_retryable(error: ImageGenError) -> bool:
    return bool(error.retryable) and error.exit_code == 1


