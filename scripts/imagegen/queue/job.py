"""The job: what a job file holds, the states it moves through, and the request inside it.

States are the folders of the queue (``layout.STATES``): ``pending`` -> ``running`` -> ``results``
(finished, ``status: "done"``) or ``failed``: :data:`PENDING`, :data:`RUNNING`, :data:`DONE`,
:data:`FAILED`. A job for a provider's batch engine (``via: "batch"``) waits in ``submitted``
(:data:`SUBMITTED`) between its batch's submission and its collection. :data:`STATUS_OF` is the one
place that says which ``status`` a job file carries in each state.

A job file is input, not trust: anyone who can write to the queue folder can plant one. Its
request is read back with :meth:`GenerateRequest.from_json`, the checks the command-line flags
run, so a malformed or hostile job is refused as ``corrupt_job`` before anything is sent.

Format 2 stores ``request`` (the request's JSON). Format 1 (before requests existed) stored
``args``, a dump of the parsed flags; it is still read, by renaming the few flags whose names
differ from request fields.
"""

from __future__ import annotations

from typing import Any

from ..errors import ImageGenError
from ..requests import GenerateRequest, InvalidRequest
from .layout import STATES

FORMAT = 2
PENDING, RUNNING, SUBMITTED, DONE, FAILED = STATES  # the folders; DONE is results/
STATUS_OF = {PENDING: "pending", RUNNING: "running", SUBMITTED: "submitted", DONE: "done", FAILED: "failed"}
KIND = "generate"  # the only job kind: a generation (one variant of a request)

# Format 1 "args" keys -> request fields; keys of neither kind (flags of the invocation) are dropped.
LEGACY_RENAMES: dict[str, str] = {"style_ref": "style_refs", "input_image": "input_images"}
LEGACY_DROPPED = frozenset({"dry_run", "quiet", "clarify_hints", "timeout", "retries", "help", "version"})


class CorruptJob(Exception):
    """A job file that cannot be read as a job (truncated, not JSON, wrong shape, an unusable request)."""


CORRUPT_DETAILS = "the job file was not written by enqueue_image_job.py or was changed since; queue the job again"


def corrupt(message: str) -> ImageGenError:
    """The error a run of an unusable job ends in: never retried, and it names the fix."""
    return ImageGenError(message, kind="corrupt_job", retryable=False, details=CORRUPT_DETAILS)


def corrupt_record(job_id: str, error: Exception) -> dict[str, Any]:
    """What failed/ keeps of a file that could not be read as a job."""
    return {"job_id": job_id, "error_kind": "corrupt_job", "error": str(error), "details": CORRUPT_DETAILS,
            "retryable": False}


def request_document(job: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON in either format (format 1's flags renamed), not yet checked."""
    if isinstance(job.get("request"), dict):
        return job["request"]
    args = job.get("args")
    if not isinstance(args, dict):
        raise CorruptJob("the job holds no request")
    document: dict[str, Any] = {}
    for key, value in args.items():
        if key in LEGACY_DROPPED or value is None:  # None was argparse's "not given"
            continue
        name = LEGACY_RENAMES.get(str(key), str(key))
        if name == "input_images" and isinstance(value, str):
            value = [value]
        document[name] = value
    variation = job.get("variation")
    if isinstance(variation, str) and variation and "instructions" not in document:
        document["instructions"] = [variation]
    return document


def read_request(job: dict[str, Any]) -> GenerateRequest:
    """The job's request, checked field by field as its flags would be; ``corrupt_job`` if it is not usable."""
    kind = job.get("kind", KIND)
    if kind != KIND:
        raise corrupt(f"unknown job kind {str(kind)[:40]!r}; this worker runs generation jobs only")
    try:
        return GenerateRequest.from_json(request_document(job))
    except (CorruptJob, InvalidRequest) as error:
        raise corrupt(f"job {str(job.get('job_id'))[:80]}: {error}") from None


def prompt_of(job: dict[str, Any] | None) -> str | None:
    """The job's prompt for display, whatever its format (None when it has none)."""
    if not isinstance(job, dict):
        return None
    try:
        value = request_document(job).get("prompt")
    except CorruptJob:
        return None
    return value if isinstance(value, str) else None


def output_dir_of(job: dict[str, Any]) -> Any:
    try:
        return request_document(job).get("output_dir")
    except CorruptJob:
        return None


RESULT_FIELDS = ("edit_intent_detected", "baseline_applied", "baseline_source", "baseline_source_kind",
                 "baseline_resolution_policy", "rails_applied", "clarify_hints")


def record_result(job: dict[str, Any], result: dict[str, Any]) -> None:
    """Write a finished run's result into its job (the worker's and the batch collector's one way)."""
    job["attempts"] = int(job.get("attempts", 0)) + 1
    job.update(result=result, error=None, error_kind=None)
    job["provider"] = {k: result.get(k) for k in ("generation_id", "model", "provider", "cost_usd")}
    for key in RESULT_FIELDS:
        if key in result:
            job[key] = result[key]
