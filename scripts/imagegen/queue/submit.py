"""Enqueueing: validate exactly as generate.py would (so a job that would be refused is refused
now, with generate.py's exit code and JSON), then store the job's request with absolute paths."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import localjson
from ..errors import BudgetError
from ..requests import GenerateRequest
from . import store
from .job import KIND, PENDING, STATUS_OF, output_dir_of
from .layout import QueueDirs, check_request_id, request_of

VARIATION_DELTAS = (
    ("pose", "vary the subject's pose and gesture"),
    ("background", "vary the background details and secondary objects"),
    ("lighting", "vary the lighting direction and time of day"),
    ("framing", "vary the camera framing and angle"),
    ("palette", "vary the secondary colours"),
    ("texture", "vary surface textures and fine detail"),
)


def validate(request: GenerateRequest, *, show_hints: bool = False, via: str | None = None) -> Any:
    """Plan the request once, offline: raises exactly what generate.py would raise (exit 2 for bad
    input, 3 under strict clarify, 4 for edit intent without a baseline, 5 when the job's estimate
    exceeds its max_cost). The daily budget is not checked here: a job it refuses waits in the
    queue for the budget to reset. ``via`` "batch": the job must suit a provider's batch engine,
    and is priced at its rate."""
    from ..pipeline import generation
    from ..spending import guard

    plan = generation.prepare(request, show_hints=show_hints).plan
    if via == "batch":
        batch_request = for_batch(request, plan.spec)
        if batch_request is not request:  # the model's own provider, not OpenRouter: plan it there
            plan = generation.prepare(batch_request).plan
        plan.batch = True
    estimate = plan.estimate_usd
    if request.review_loop():  # --max-cost is the loop's: its first round, images and reviews, must fit
        from ..pipeline.loop_rounds import loop_estimate

        estimate = loop_estimate(request, plan)[0]
    guard.check(estimate, request.max_cost, model=plan.spec.alias, count=plan.count, daily=False)
    return plan


def job_estimate(request: GenerateRequest, plan: Any) -> float | None:
    """What a job should cost: its images, or for a --review job every round it may run (at most its --max-cost)."""
    if not request.review_loop():
        return plan.estimate_usd
    from ..pipeline.loop_rounds import loop_estimate

    most = loop_estimate(request, plan)[1]
    return min(most, request.max_cost) if most is not None and request.max_cost is not None else most


def job_basis(request: GenerateRequest, plan: Any) -> str:
    """Where :func:`job_estimate` comes from: the plan's own basis (the table, or recent charges where they
    disagree, as generate.py says), or the whole loop's for a --review job."""
    if not request.review_loop():
        return str(plan.estimate.basis)
    from ..pipeline.loop_rounds import loop_basis

    return loop_basis(request, plan)


def for_batch(request: GenerateRequest, spec: Any) -> GenerateRequest:
    """The request as the batch engines take it: on the provider that makes its model (OpenRouter's
    batch API takes no image output), one image, no prompt enhancement (a separate call first).
    ``spec`` is the model the request resolved to as given."""
    from ..errors import UsageError

    if request.enhance:
        raise UsageError("--enhance cannot go --via batch (enhancing is a call of its own, before the image)",
                         details="drop --enhance, or queue without --via batch")
    if request.review_loop():
        raise UsageError("--review and --best-of cannot go --via batch (each round waits for the last one's review)",
                         details="queue without --via batch: the worker runs the loop")
    if request.n != 1:
        raise UsageError("a batch job makes one image", details="use enqueue_variants.py --count N, one job each")
    from ..pipeline.routes import ROUTES

    if ROUTES[spec.provider].has_batch:
        return request  # already planned on its provider (make_job records which)
    if request.provider is not None:  # a route without a batch engine of its own, asked for by name
        raise UsageError("--via batch runs on Google's or OpenAI's own batch engine, not OpenRouter's",
                         details="use --provider google or --provider openai (OpenRouter's batch API takes no "
                                 "image output)")
    from ..models.direct_resolve import served_by

    makers = [name for name, route in ROUTES.items() if route.has_batch and served_by(spec.id, name)]
    if not makers:
        raise UsageError(f"{spec.id} has no batch engine: --via batch needs a Google (Gemini) or OpenAI "
                         "(gpt-image) model", details="add --model nanobanana-2 (or gpt-image-2), or queue "
                                                       "without --via batch")
    return request.replace(provider=makers[0])


def variation_delta(index: int, locks: dict[str, bool]) -> tuple[str, str]:
    """A recorded, explicit difference for variant ``index`` that respects the locked rails."""
    allowed = [d for d in VARIATION_DELTAS
               if not (locks.get("palette") and d[0] == "palette")
               and not (locks.get("composition") and d[0] in ("framing", "pose"))]
    return allowed[index % len(allowed)]


def variation_instruction(number: int, total: int, delta: str) -> str:
    # Phrased as generation guidance; never as a request to change an existing picture.
    return f"Variation {number} of a set of {total}: {delta}; keep everything else as described."


def stored_request(request: GenerateRequest, base: Path) -> GenerateRequest:
    """The request as a job keeps it: every path absolute (the worker runs from anywhere), a preset
    named by its file."""
    stored = request.with_absolute_paths(base)
    if request.preset and "/" not in request.preset and not Path(request.preset).exists():
        from ..prompt.presets import find

        stored = stored.replace(preset=str(find(request.preset)))
    return stored


def make_job(request: GenerateRequest, *, request_id: str, plan: Any,
             variation: dict[str, Any] | None = None, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The job for a validated, stored request and its ``plan``: the request's JSON, and the input
    images by path and sha256 (never their bytes), so a changed file can be noticed later.
    ``settings`` are the --timeout and --retries the enqueuer gave, which the worker honours; the
    preset's name as asked is kept beside the file the request now names, for the result to report."""
    if variation:
        request = request.replace(instructions=(*request.instructions, variation["instruction"]))
    if (settings or {}).get("via") == "batch":
        request = request.replace(provider=plan.provider)
    record = plan.request_record()
    inputs = {key: record[key] for key in ("input_images", "style_refs", "baseline") if record.get(key)}
    return {
        **(settings or {}),
        "kind": KIND,
        "request_id": check_request_id(request_id),
        "request": request.to_json(),
        "output": request.output_file,
        "model": plan.spec.id,
        **({"preset_asked": plan.preset.asked} if plan.preset and plan.preset.asked != request.preset else {}),
        "variation": variation["instruction"] if variation else None,
        "variation_delta": variation,
        "cost_estimate_usd": job_estimate(request, plan),
        "cost_estimate_basis": job_basis(request, plan),
        "inputs": inputs,
        "enqueued_by": store.origin(),
        "status": STATUS_OF[PENDING],
    }


def check_request_cap(jobs: list[dict[str, Any]]) -> None:
    """Refuse (exit 5, nothing queued) a request whose jobs' estimates together pass its --max-cost:
    it could only stop part-way. Within it, the worker holds the cap on what is actually charged."""
    from ..spending.guard import EPSILON

    cap = jobs[0].get("request_max_cost_usd") if jobs else None
    if cap is None:
        return
    total = total_estimate(jobs)
    if total is None:
        raise BudgetError(f"--max-cost {cap:g} was given but the price of these {len(jobs)} job(s) is unknown",
                          details="run models.py --refresh to learn live prices, choose a model with a known price, "
                                  "or drop --max-cost; nothing was queued",
                          extra={"limit": "request_max_cost", "max_cost_usd": cap, "estimate_usd": None})
    if total > cap + EPSILON:
        raise BudgetError(f"the {len(jobs)} job(s) are estimated at ${total:.4f} together, over the request's "
                          f"--max-cost {cap:g}",
                          details="raise --max-cost, queue fewer jobs (--count), or pick a cheaper model or size; "
                                  "nothing was queued",
                          extra={"limit": "request_max_cost", "max_cost_usd": cap, "estimate_usd": total})


def refuse_taken_output(target: Path, request_id: str, overwrite: bool,
                        fix: str = "or choose another --out") -> None:
    """Refuse, before anything is queued, an output file that is already there and not this request's
    (its sidecar names another request's job, or none): the job could only fail with output_exists."""
    from ..errors import OutputExistsError

    if overwrite or not os.path.lexists(target):
        return
    try:
        owner = localjson.read_json(Path(str(target) + ".json"), follow_links=True)["request"].get("job_id")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        owner = None
    if not isinstance(owner, str) or request_of(owner) != request_id:
        raise OutputExistsError(f"output exists: {target} (pass --overwrite to replace it)",
                                details=f"{fix}; nothing was queued")


def refuse_taken_outputs(jobs: list[dict[str, Any]]) -> None:
    for job in jobs:
        if job.get("output"):
            refuse_taken_output(Path(job["output"]), job["request_id"], bool(job["request"].get("overwrite")))


def preview(job: dict[str, Any]) -> dict[str, Any]:
    """What enqueueing ``job`` would add, for --dry-run (nothing is written)."""
    return {"state": "would_queue", "target": job.get("output") or output_dir_of(job), "model": job.get("model"),
            "cost_estimate_usd": job.get("cost_estimate_usd"), "cost_estimate_basis": job.get("cost_estimate_basis"),
            "variation": job.get("variation"),
            "request": job["request"], **{k: job[k] for k in ("timeout", "retries", "via") if k in job}}


def dry_run_document(dirs: QueueDirs, request_id: str, jobs: list[dict[str, Any]],
                     plans: Sequence[Any] = ()) -> dict[str, Any]:
    """What enqueueing would do; ``plans``' warnings (each once) as the enqueued jobs would meet them."""
    previews = [preview(job) for job in jobs]
    return {
        "status": "dry_run", "dry_run": True, "request_id": request_id, "queue_dir": str(dirs.root),
        "would_queue": len(previews), "jobs": previews, "targets": [p["target"] for p in previews],
        "cost_estimate_usd": total_estimate(previews),
        "cost_estimate_basis": total_basis(previews),
        "note": "dry run: nothing was queued, no worker was started, nothing was sent",
        "warnings": plan_warnings(plans),
    }


def plan_warnings(plans: Sequence[Any]) -> list[str]:
    return list(dict.fromkeys(w for plan in plans for w in plan.warnings))


def notify_warnings(plans: list[Any], quiet: bool) -> None:
    """The plans' warnings on stderr, each once however many jobs share it."""
    from ..pipeline.generation import notify_warnings as notify

    notify(plan_warnings(plans), quiet)


def enqueue_all(dirs: QueueDirs, jobs: list[dict[str, Any]], variants: list[int | None]) -> list[dict[str, Any]]:
    """Queue the jobs of one request (each with its variant number, or None for the next free one);
    what the acknowledgement says of each."""
    dirs.ensure()
    return [_queued(saved, created) for saved, created in store.enqueue_all(dirs, jobs, variants)]


def _queued(saved: dict[str, Any], created: bool) -> dict[str, Any]:
    return {
        "job_id": saved["job_id"],
        "variant": saved.get("variant"),
        "state": saved.get("state", PENDING),
        "created": created,
        "target": saved.get("output") or output_dir_of(saved),
        "cost_estimate_usd": saved.get("cost_estimate_usd"),
        "cost_estimate_basis": saved.get("cost_estimate_basis"),
    }


def total_estimate(queued: list[dict[str, Any]]) -> float | None:
    """What the queued jobs should cost together (None when any price is unknown), for the acknowledgement."""
    estimates = [q.get("cost_estimate_usd") for q in queued]
    if any(e is None for e in estimates):
        return None
    return round(sum(e for e in estimates if e is not None), 6)


def total_basis(queued: list[dict[str, Any]]) -> str | None:
    """Where :func:`total_estimate` comes from: the jobs' one basis, or a pointer to each job's."""
    bases = list(dict.fromkeys(q.get("cost_estimate_basis") for q in queued))
    if not bases:
        return None
    if len(bases) == 1 and isinstance(bases[0], str):
        return f"the sum of {len(queued)} job(s), each at {bases[0]}"
    return "the sum of the jobs' estimates (each job's cost_estimate_basis says where its own comes from)"


def status_command(dirs: QueueDirs, request_id: str) -> str:
    from ..config import script_command

    return script_command("queue_status.py", "--queue-dir", str(dirs.root), "--request-id", request_id)




def job_settings(timeout: float | None, retries: int | None, via: str = "sync",
                 request_max_cost: float | None = None) -> dict[str, Any]:
    """The --timeout, --retries, --via batch and the request's --max-cost given at enqueue time,
    which the jobs keep."""
    settings: dict[str, Any] = {key: value for key, value in (("timeout", timeout), ("retries", retries))
                                if value is not None}
    if via == "batch":
        settings["via"] = "batch"
    if request_max_cost is not None:
        settings["request_max_cost_usd"] = request_max_cost
    return settings


def queue_requests(dirs: QueueDirs, batch: Sequence[tuple[GenerateRequest, Any]], *, request_id: str,
                   settings: dict[str, Any], variant_index: int | None = None, dry_run: bool = False,
                   quiet: bool = False, base: Path | None = None) -> dict[str, Any]:
    """Queue validated requests (each with its plan) as the jobs of one request: every job is checked
    before any is queued. The acknowledgement, or with ``dry_run`` what would be queued."""
    base = base or Path.cwd()
    jobs = [make_job(stored_request(request, base), request_id=request_id, plan=plan, settings=settings)
            for request, plan in batch]
    refuse_taken_outputs(jobs)
    check_request_cap(jobs)
    plans = [plan for _, plan in batch]
    notify_warnings(plans, quiet)
    if dry_run:
        return dry_run_document(dirs, request_id, jobs, plans)
    queued = enqueue_all(dirs, jobs, [variant_index if len(jobs) == 1 else None] * len(jobs))
    return {
        "status": "queued",
        "request_id": request_id,
        "queue_dir": str(dirs.root),
        "job_ids": [q["job_id"] for q in queued],
        "jobs": queued,
        "cost_estimate_usd": total_estimate(queued),
        "cost_estimate_basis": total_basis(queued),
        "status_command": status_command(dirs, request_id),
    }
