"""``queue_status.py --cancel`` on a request: its batches at the provider are asked to stop, and its
pending jobs are filed as cancelled (``queue.batch_drain`` collects what the provider already made)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..errors import ImageGenError
from . import batch_records, store
from .batch_drain import BatchOptions, BatchPhase, cancelled_error
from .job import PENDING, RUNNING

if TYPE_CHECKING:
    from .layout import QueueDirs

CANCEL_WAIT_SEC = 20.0


def cancel_request(dirs: QueueDirs, request_id: str, options: BatchOptions) -> dict[str, Any]:
    """Stop a request: its batches at the provider are cancelled (results already made are still
    collected: they are paid for), and its pending jobs are filed in failed/ as cancelled. A job
    whose call is in flight right now finishes."""
    deadline = time.monotonic() + CANCEL_WAIT_SEC
    phase = BatchPhase(dirs, None, None, options)
    while True:
        with batch_records.exclusive(dirs) as mine:
            if mine:
                cancelled = [phase.cancel(r) for _, r in batch_records.all_records(dirs)
                             if r is not None and r.get("request_id") == request_id]
                break
        if time.monotonic() >= deadline:
            raise ImageGenError("a worker is collecting batches and holds the queue's batch lock",
                                kind="busy", retryable=True, details="run queue_status.py --cancel again in a minute")
        time.sleep(0.5)
    for job_id, state, job in store.jobs_of_request(dirs, request_id):
        if state == PENDING and job is not None and store.move(dirs, job_id, PENDING, RUNNING):
            phase.fail(job, cancelled_error(), RUNNING)
    return {"request_id": request_id, "batches": cancelled,
            "jobs_cancelled": [j["job_id"] for j in phase.jobs],
            "note": "cancelled batches are collected by the next drain; what the provider had already made is saved"}
