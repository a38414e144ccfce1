"""A read-only view of the job queue, for preflight checks and the gallery.

The queue package (``imagegen.queue``) owns the layout and its rules; this module only reads
through it: counts per state (``store.counts``), the worker slots a live worker holds
(``leases.busy_slots``), orphaned jobs (``leases.find_orphans`` without tidying) and one
request's jobs with the images they made (``store.jobs_of_request``). Nothing here writes, moves
or locks a job for longer than a non-blocking probe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from . import leases, store
from .job import prompt_of
from .layout import STATES, QueueDirs
from ..jsonshape import list_at


@dataclass
class JobView:
    """One job of a request as it stands: its state folder (None when the file is gone) and record."""

    job_id: str
    state: str | None
    data: dict[str, Any] | None  # None when the file is not a readable job
    root: Path

    @property
    def result(self) -> dict[str, Any]:
        value = (self.data or {}).get("result")
        return value if isinstance(value, dict) else {}

    @property
    def prompt(self) -> str | None:
        return prompt_of(self.data)

    @property
    def error(self) -> str | None:
        data = self.data or {}
        message, kind = data.get("error"), data.get("error_kind")
        if not message:
            return None
        return f"{kind}: {message}" if kind else str(message)

    def image_paths(self) -> list[Path]:
        """The images a finished job made (results record paths are absolute; others are taken
        from the queue folder)."""
        result = self.result
        names = list_at(result, "all_paths")
        if not names and isinstance(result.get("path"), str):
            names = [result["path"]]
        return [Path(n) if Path(n).is_absolute() else self.root / n for n in names if isinstance(n, str)]


UNKNOWN_REQUEST_GRACE_SEC = 3.0  # how long a waiter gives an enqueuer racing it to file the first job
NEARBY_IDS = 5


def require_request(dirs: QueueDirs, request_id: str, grace: float = 0.0) -> None:
    """Refuse (exit 2) a request id that names no job, after ``grace`` seconds for one to appear,
    naming the ids that do exist nearby: a mistyped id must not wait out a timeout and look done."""
    deadline = time.monotonic() + grace
    while not store.has_request(dirs, request_id):
        if time.monotonic() >= deadline:
            raise unknown_request(dirs, request_id)
        time.sleep(0.2)


def unknown_request(dirs: QueueDirs, request_id: str) -> UsageError:
    import difflib  # only on this error path

    known = store.request_ids(dirs)
    names = [name for _, name in known]
    nearby = difflib.get_close_matches(request_id, names, n=NEARBY_IDS, cutoff=0.6)
    latest = [name for _, name in sorted(known, reverse=True)[:NEARBY_IDS] if name not in nearby]
    shown = (nearby + latest)[:NEARBY_IDS]
    if not names:
        details = f"the queue at {dirs.root} holds no requests yet; check --queue-dir"
    else:
        details = "known request ids " + ("like it" if nearby else "(the latest)") + ": " + ", ".join(shown)
    return UsageError(f"no job of request {request_id!r} in {dirs.root}", details=details,
                      extra={"request_ids_nearby": shown})


def request_jobs(dirs: QueueDirs, request_id: str) -> list[JobView]:
    """Every variant of ``request_id`` in variant order."""
    return [JobView(name, state, job, dirs.root) for name, state, job in store.jobs_of_request(dirs, request_id)]


def job_states(jobs: list[JobView]) -> dict[str, int]:
    """How many of ``jobs`` are in each state folder (plus ``missing`` when any file is gone)."""
    states = {state: 0 for state in STATES}
    for job in jobs:
        key = job.state or "missing"
        states[key] = states.get(key, 0) + 1
    return states


@dataclass
class Health:
    counts: dict[str, int]
    slots: int
    busy_slots: list[int]
    stranded: list[leases.Stranded]


def health(dirs: QueueDirs, slots: int, orphan_timeout: float) -> Health:
    """Counts, busy slots and orphaned jobs, found exactly as a worker's recovery would find them."""
    return Health(counts=store.counts(dirs), slots=slots, busy_slots=leases.busy_slots(dirs, slots),
                  stranded=leases.find_orphans(dirs, orphan_timeout, tidy=False))
