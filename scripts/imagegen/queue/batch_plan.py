"""A batch job planned as its synchronous run would be: the same checks, roots and plan, at batch
prices, and the body one request of the batch sends."""

from __future__ import annotations

from typing import Any

from ..errors import ImageGenError
from .job import read_request
from .roots import Roots


def planned(job: dict[str, Any], roots: Roots | None) -> tuple[Any, Any]:
    """The job prepared as its synchronous run would be, at batch prices; and its request."""
    from ..pipeline import generation

    if roots is None:  # only a drain plans jobs, and a drain always has its roots
        raise ImageGenError("a batch job was planned without the worker's roots", kind="internal")
    request = read_request(job)
    roots.check_request(request, job["job_id"])
    prepared = generation.prepare(request)
    plan = prepared.plan
    roots.check_plan(plan, job["job_id"])
    plan.batch = True
    plan.extra_result.update({"job_id": job["job_id"], "request_id": job["request_id"], "via": "batch"})
    if job.get("variation"):
        plan.extra_result["variation"] = job["variation"]
    return prepared, request


def request_body(prepared: Any) -> dict[str, Any]:
    """The body one request of the batch sends: what the synchronous call would send."""
    from ..pipeline import generation

    return generation.image_calls(prepared.plan, prepared.options)[0].body or {}


def writer_for(request: Any, plan: Any) -> Any:
    """The writer that saves this job's image, as the synchronous run would make it."""
    from ..pipeline import generation

    return generation.writer_for(request, plan.spec.slug)
