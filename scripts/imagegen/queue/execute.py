"""Running one job: its stored request read back and checked, the generation made, nothing paid twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import localjson
from ..contract import as_error, os_failure
from ..errors import ImageGenError
from ..fsutil import Sweeper
from ..http.rate_gate import RateGate
from ..images.writer import read_png_metadata
from .job import read_request
from .roots import Roots

SCRIPT = "run_image_queue.py"  # how queue calls are named in the spending ledger


def execute(job: dict[str, Any], *, gate: RateGate, timeout: float, retries: int, roots: Roots,
            on_plan: Callable[[Any], None] | None = None, sweeper: Sweeper | None = None,
            account: Path | None = None, on_call: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """Run one job; returns the document generate.py would print, plus ``provider_response``
    (the replies with image data left out) for the results record.

    The job's request is checked as its flags would be (``corrupt_job`` if it cannot be run), its
    paths against the worker's ``roots`` (``outside_roots``), then planned with the same code
    enqueueing used. Spending is the job's: its max_cost, the daily budget, and ledger lines that
    name the request and the job. ``sweeper`` clears temp files killed attempts left in the output
    folder (a worker's sweeps each folder once a minute; by default, every time). ``account``: the
    file of the request's budget, used when the job carries its request's --max-cost
    (``request_max_cost_usd``). ``on_call`` is told of each paid call going out (a dict) and over
    (None), for the job's lease.
    """
    from ..pipeline import generation
    from ..pipeline.paid_call import PaidRun
    from ..requests import RunOptions
    from ..spending.guard import Spend

    request = read_request(job)
    roots.check_request(request, job["job_id"])
    prepared = generation.prepare(request)
    plan = prepared.plan
    roots.check_plan(plan, job["job_id"])
    if plan.preset is not None and job.get("preset_asked"):
        plan.preset.asked = job["preset_asked"]  # the enqueuer's name for the file the request names
    plan.extra_result.update({"job_id": job["job_id"], "request_id": job["request_id"]})
    variation = job.get("variation")
    if variation:
        plan.extra_result["variation"] = variation
    if on_plan:
        on_plan(plan)
    writer = generation.writer_for(request, plan.spec.slug)
    (sweeper or Sweeper(interval=0)).sweep(writer.target_dir())  # an earlier attempt may have died mid-write
    writer.sweep = False  # swept just now (or within the minute): no second listing of a big folder
    spend = Spend(SCRIPT, job["request_id"], request.max_cost, job_id=job["job_id"])
    paid = PaidRun(spend, RunOptions(timeout=timeout, retries=retries, quiet=True), gate=gate)
    paid.on_call = on_call
    cap = job.get("request_max_cost_usd")
    if cap is not None and account is not None:
        from ..pipeline.paid_call import RequestCap
        from ..spending.request_budget import RequestBudget

        paid.request_cap = RequestCap(float(cap), RequestBudget(account, job["request_id"]))
    try:
        if request.review_loop():  # its record resumes a killed attempt round by round
            from ..pipeline import review_loop

            return review_loop.run_request(request, paid, {}, job_id=job["job_id"], resumable=True,
                                           extra_result=dict(plan.extra_result))
        finished = already_done(job, writer)
        if finished is not None:
            return finished
        return generation.run(prepared, writer, paid, keep_response=True)
    except ImageGenError as error:
        if paid.spent > 0:  # a failed attempt can still have been charged (an answer that was no image)
            error.extra["charged_usd"] = round(paid.spent, 6)
        raise


def already_done(job: dict[str, Any], writer: Any) -> dict[str, Any] | None:
    """If a previous attempt wrote the image (its sidecar, or the PNG's own metadata, names this
    job), don't pay twice."""
    target = writer.output_file
    if target is None or not target.exists():
        return None
    sidecar = Path(str(target) + ".json")
    try:
        record = localjson.read_json(sidecar, follow_links=True)
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


def job_failure(error: Exception) -> ImageGenError:
    """Whatever a job's run raised, as the job's failure: the one translation (``contract.as_error``),
    an OSError with the fixes a queued job needs."""
    if isinstance(error, OSError):
        return path_failure(error)
    return as_error(error)


def path_failure(error: OSError) -> ImageGenError:
    """An OSError a job's run met, as the job's failure (never retried: the same paths fail the same way)."""
    return os_failure(error, fix_path="queue the job again with another path",
                      fix_disk="check free space and permissions, then queue the job again")


def is_retryable(error: ImageGenError) -> bool:
    return bool(error.retryable) and error.exit_code == 1


