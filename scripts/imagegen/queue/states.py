"""Job states and every change between them: the one place the worker, the batch drain and
cancelling move a job from state to state.

A state is a :class:`JobState`; its folder is where the job file lives (``results/`` for done;
``failed/`` for the three ends that made nothing: failed, cancelled, and stopped by a spending
limit, ``budget``). Each transition writes the job's fields (why, until when, its ``history``)
and moves the file in one step, whoever calls it, so the two drains cannot drift apart.
"""

from __future__ import annotations

import time
from enum import Enum
from typing import TYPE_CHECKING, Any

from ..contract import provider_words
from ..errors import BudgetError, ImageGenError
from ..fsutil import iso, now_iso, unlink_quietly
from . import store

if TYPE_CHECKING:
    from .layout import QueueDirs

BUDGET_RETRY_SEC = 600.0  # when a daily-budget refusal does not say when the budget resets
DEFERRAL_KEYS = ("not_before", "deferred_until", "deferred_reason", "deferred_limit", "deferred_estimate_usd",
                 "deferred_provider")


class JobState(str, Enum):
    """Where a job stands; ``folder`` is the queue folder its file is in, ``value`` its ``status``."""

    PENDING = "pending"
    RUNNING = "running"
    SUBMITTED = "submitted"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BUDGET = "budget"

    @property
    def folder(self) -> str:
        if self is JobState.DONE:
            return "results"
        if self in ENDED_UNMADE:
            return "failed"
        return self.value

    @property
    def finished(self) -> bool:
        return self is JobState.DONE or self in ENDED_UNMADE


ENDED_UNMADE = frozenset({JobState.FAILED, JobState.CANCELLED, JobState.BUDGET})


def state_of(folder: str | None, job: dict[str, Any] | None) -> str:
    """The state to show for a job found in ``folder``: ``failed/`` holds three ends, told apart by
    the job's ``status``; ``missing`` when the file is gone."""
    if folder is None:
        return "missing"
    if folder == "failed" and isinstance(job, dict) and job.get("status") in (JobState.CANCELLED, JobState.BUDGET):
        return str(job["status"])
    return folder


def end_state(error: ImageGenError) -> JobState:
    """The end a job that cannot go on is filed under, by what stopped it."""
    if error.kind == "cancelled":
        return JobState.CANCELLED
    if isinstance(error, BudgetError) or error.kind == "budget":
        return JobState.BUDGET
    return JobState.FAILED


def note(job: dict[str, Any], error: ImageGenError, **extra: Any) -> dict[str, Any]:
    """Add a ``history`` entry for a failed attempt or a refusal; the entry, for the caller to add to."""
    entry = {"at": now_iso(), "error_kind": error.kind, "error": error.message, **extra}
    if getattr(error, "charge_unknown", False):
        entry["charge_unknown"] = True
        job["charge_unknown"] = True
    job.setdefault("history", []).append(entry)
    return entry


def finish(dirs: QueueDirs, job: dict[str, Any], state: JobState, source: JobState = JobState.RUNNING) -> None:
    """File a job in its end folder (``results/`` or ``failed/``) with ``status`` = ``state``."""
    assert state.finished, state
    store.finish(dirs, job, state.folder, source=source.folder, status=state.value)


def end(dirs: QueueDirs, job: dict[str, Any], error: ImageGenError,
        source: JobState = JobState.RUNNING) -> JobState:
    """File a job that will not run again: failed, cancelled, or stopped by a spending limit."""
    job.update(error=error.message, error_kind=error.kind, details=error.details, retryable=error.retryable,
               finished_at=now_iso())
    words = provider_words(error)
    if words:
        job["provider_message"] = words
    if error.extra.get("fallback_models"):  # what to queue the job again with
        job["fallback_models"] = list(error.extra["fallback_models"])
    if isinstance(error, BudgetError):
        job.update({k: error.extra[k] for k in BUDGET_FIELDS if k in error.extra})
    state = end_state(error)
    finish(dirs, job, state, source)
    return state


BUDGET_FIELDS = ("limit", "estimate_usd", "max_cost_usd", "spent_usd", "held_usd")


def back_to_pending(dirs: QueueDirs, job: dict[str, Any], source: JobState, *, reason: str,
                    until: float | None = None) -> None:
    """Put a job back in ``pending/`` (its lease dropped last), to run from ``until`` on (epoch
    seconds; None: at once). It says why, and until when."""
    job["status"] = JobState.PENDING.value
    job.pop("batch", None)
    if until is not None:
        job["not_before"] = until
        job["deferred_until"] = iso(until)
        job["deferred_reason"] = reason
    store.rewrite(dirs, source.folder, job)
    store.move(dirs, job["job_id"], source.folder, JobState.PENDING.folder)
    unlink_quietly(dirs.lease_path(job["job_id"]))


def submitted(dirs: QueueDirs, job: dict[str, Any]) -> None:
    """A running job handed to a provider's batch engine: it waits in ``submitted/``, with no lease."""
    job["status"] = JobState.SUBMITTED.value
    store.rewrite(dirs, JobState.RUNNING.folder, job)
    store.move(dirs, job["job_id"], JobState.RUNNING.folder, JobState.SUBMITTED.folder)
    unlink_quietly(dirs.lease_path(job["job_id"]))


def clear_deferral(job: dict[str, Any]) -> None:
    """A job about to run again: the reasons it waited no longer apply."""
    for key in DEFERRAL_KEYS:
        job.pop(key, None)


def refused_by_budget(dirs: QueueDirs, job: dict[str, Any], error: BudgetError,
                      source: JobState = JobState.RUNNING) -> JobState:
    """A spending limit refused the job before anything was sent (no attempt is counted).

    The daily budget defers it to the budget's reset (``deferred_until`` and a ``history`` entry
    say so); a limit of the job's own or of its request (``--max-cost``) can never be met by
    waiting, so the job ends in ``budget``."""
    if error.extra.get("limit") != "daily_budget":
        note(job, error)
        return end(dirs, job, error, source)
    until = resets_at(error)
    note(job, error, deferred_until=iso(until))
    job["deferred_limit"] = "daily_budget"
    job["deferred_estimate_usd"] = error.extra.get("estimate_usd")
    back_to_pending(dirs, job, source, reason=f"{error.kind}: {error.message}", until=until)
    return JobState.PENDING


def resets_at(error: BudgetError) -> float:
    from ..spending.guard import resets_at as reset

    return reset(error) or time.time() + BUDGET_RETRY_SEC
