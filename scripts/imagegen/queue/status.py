"""What a queue or one request looks like now, read-only: counts, per-job states, attachments, cost;
one request's jobs with the images they made (the gallery); the queue's health (preflight).

The queue package owns the layout and its rules; this module only reads through it: counts per
state (``store.counts``), the worker slots a live worker holds (``leases.busy_slots``), orphaned
jobs (``leases.find_orphans`` without tidying) and one request's jobs (``store.jobs_of_request``).
Nothing here writes, moves or locks a job for longer than a non-blocking probe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..contract import shorten
from ..costs import plausible_cost
from ..errors import ImageGenError, UsageError
from ..jsonshape import dict_at, list_at
from . import leases, store
from .job import DONE, FAILED, PENDING, SUBMITTED, output_dir_of, prompt_of
from .layout import STATES, QueueDirs, check_request_id
from .states import state_of


def queue_summary(dirs: QueueDirs, slots: int) -> dict[str, Any]:
    return {
        "queue_dir": str(dirs.root),
        "counts": store.counts(dirs),
        "busy_slots": leases.busy_slots(dirs, slots),
        "slots": slots,
    }


def request_summary(dirs: QueueDirs, request_id: str) -> dict[str, Any]:
    jobs = []
    attachments: list[str] = []
    failures = []
    blank_paths: list[str] = []
    cost = 0.0
    states: dict[str, int] = {}
    batches: dict[str, dict[str, Any]] = {}
    capped: Any = None  # the request's --max-cost, as its jobs carry it
    for job_id, folder, job in store.jobs_of_request(dirs, request_id):
        state = state_of(folder, job)
        states[state] = states.get(state, 0) + 1
        entry: dict[str, Any] = {"job_id": job_id, "state": state}
        if job:
            capped = job.get("request_max_cost_usd", capped)
            entry["target"] = job.get("output") or output_dir_of(job)
            entry["attempts"] = job.get("attempts", 0)
            entry.update(outcome(job, state))
            if job.get("deferred_reason") and state == PENDING:
                entry["deferred_reason"] = job["deferred_reason"]
                entry["deferred_until"] = job.get("deferred_until")
            result = job.get("result") or {}
            if state == DONE:
                paths = result.get("all_paths") or [result.get("path")]
                entry["paths"] = [p for p in paths if p]
                attachments += entry["paths"]
                extras = result.get("extra_paths")  # images the provider sent beyond those asked for (charged)
                if isinstance(extras, list) and extras:
                    entry["extra_paths"] = [p for p in extras if isinstance(p, str) and p]
                    attachments += entry["extra_paths"]
                cost += float(result.get("cost_usd") or 0)
                if isinstance(result.get("rounds"), list):  # a --review job: its rounds, and the image chosen
                    from ..pipeline.loop_record import rounds_summary

                    entry.update(rounds_summary(result))
                blank = result.get("blank_paths")  # each has a "looks blank" line in the job's warnings
                if isinstance(blank, list):
                    blank_paths += [p for p in blank if isinstance(p, str)]
            if folder == FAILED:
                entry.update(error=job.get("error"), error_kind=job.get("error_kind"))
                failures.append({"job_id": job_id, "error_kind": job.get("error_kind"), "error": job.get("error")})
            charged = plausible_cost(job.get("charged_usd"))  # what its failed attempts were charged
            if charged:
                entry["charged_usd"] = charged
                cost += charged
            if job.get("charge_unknown"):
                entry["charge_unknown"] = True
            if state == SUBMITTED and isinstance(job.get("batch"), dict):
                entry["batch"] = _batch_of(dirs, job["batch"], batches)
        jobs.append(entry)
    finished = sum(states.get(name, 0) for name in (DONE, FAILED, "cancelled", "budget"))
    budget: dict[str, Any] | None = None
    if capped is not None:
        budget = _budget(dirs, request_id, capped, states.get("budget", 0))
    return {
        "queue_dir": str(dirs.root),
        "request_id": request_id,
        "total": len(jobs),
        "states": states,
        "done": bool(jobs) and finished == len(jobs),
        "attachments": attachments,
        "failures": failures,
        "cost_usd": round(cost, 6),
        **({"batches": list(batches.values())} if batches else {}),
        **({"blank_paths": blank_paths} if blank_paths else {}),
        **({"budget": budget} if budget else {}),
        "jobs": jobs,
    }


MAX_WARNINGS_SHOWN = 20


def outcome(job: dict[str, Any], state: str) -> dict[str, Any]:
    """What a job made, as an agent reports it: the model, the cost (the estimate until it is done),
    the warnings and the image's size, from the result its run recorded (read as hostile input)."""
    recorded = job.get("result")
    result: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
    model = result.get("model") if state == DONE else job.get("model")
    shown: dict[str, Any] = {"model": model if isinstance(model, str) else None}
    if state != DONE:
        shown["cost_estimate_usd"] = plausible_cost(job.get("cost_estimate_usd"))
        basis = job.get("cost_estimate_basis")
        shown["cost_estimate_basis"] = shorten(basis, 300) if isinstance(basis, str) else None
        checked = plausible_cost(job.get("estimate_usd")) if job.get("limit") else None
        if checked is not None:  # stopped by a spending limit: the estimate the worker checked, at the price it knew
            shown["cost_estimate_usd"] = checked
            shown["cost_estimate_basis"] = ("the estimate the worker checked when a spending limit stopped the job "
                                            "(recent charges of this model and size, where they disagree with the "
                                            "table)")
        return shown
    listed = result.get("warnings")
    warnings: list[Any] = listed if isinstance(listed, list) else []
    shown["cost_usd"] = plausible_cost(result.get("cost_usd"))
    shown["warnings"] = [shorten(w, 300) for w in warnings if isinstance(w, str)][:MAX_WARNINGS_SHOWN]
    shown["image"] = {"width": _count(result.get("width")), "height": _count(result.get("height")),
                      "format": result.get("format") if isinstance(result.get("format"), str) else None,
                      "bytes": _file_size(result.get("path"))}
    shown["sidecar"] = result.get("sidecar") if isinstance(result.get("sidecar"), str) else None
    return shown


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _file_size(path: Any) -> int | None:
    """The saved image's size on disk now (None when it is gone or the path is not one)."""
    import os
    import stat

    if not isinstance(path, str) or not path or "\x00" in path:
        return None
    try:
        info = os.lstat(path)
    except (OSError, ValueError):
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _budget(dirs: QueueDirs, request_id: str, cap: Any, stopped: int) -> dict[str, Any]:
    """The request's --max-cost as its jobs have used it: what was charged (failed calls and calls
    whose charge is unknown included, at their estimates), what calls out hold, how many jobs it stopped."""
    from ..spending.request_budget import RequestBudget

    snapshot = RequestBudget(dirs.request_account(request_id), request_id).snapshot()
    return {**(snapshot or {"max_cost_usd": cap, "spent_usd": 0.0, "held_usd": 0.0}), "stopped_jobs": stopped}


def _batch_of(dirs: QueueDirs, batch: dict[str, Any], seen: dict[str, dict[str, Any]]) -> str | None:
    """The name of a submitted job's batch, its progress (as the last drain saw it) kept in ``seen``."""
    from . import batch_records

    name = batch.get("record")
    if not isinstance(name, str):
        return None
    if name not in seen:
        record = batch_records.find(dirs, name) or {}
        progress = dict_at(record, "progress")
        seen[name] = {"record": name, "provider": record.get("provider") or batch.get("provider"),
                      "model": record.get("model") or batch.get("model"), "batch_id": record.get("batch_id"),
                      "state": record.get("state", "unknown"), "submitted_at": record.get("submitted_at"),
                      "polled_at": record.get("polled_at"), **progress,
                      **({"cancel_requested": True} if record.get("cancel_requested") else {})}
    return name


def wait_for(dirs: QueueDirs, request_id: str, timeout: float, poll: float = 0.5,
             stop: Callable[[float], bool] | None = None,
             tell: Callable[[dict[str, Any], float], None] | None = None, every: float = 15.0) -> dict[str, Any]:
    """The request's summary once it is done, or after ``timeout`` seconds (``timed_out``). ``stop(seconds)``
    sleeps between looks and may end the wait early by returning True (``an interrupted error``);
    ``tell(summary, seconds)`` hears how it stands every ``every`` seconds."""
    started = time.monotonic()
    deadline, next_tell = started + timeout, started + every
    while True:
        summary = request_summary(dirs, request_id)
        if summary["done"] or time.monotonic() >= deadline:
            summary["timed_out"] = not summary["done"]
            return summary
        if tell is not None and time.monotonic() >= next_tell:
            tell(summary, time.monotonic() - started)
            next_tell += every
        pause = max(0.0, min(poll, deadline - time.monotonic()))
        if stop is None:
            time.sleep(pause)
        elif stop(pause):
            raise ImageGenError(f"stopped waiting for request {request_id}: cancelled", kind="interrupted",
                                retryable=True, details="the jobs go on in the queue; ask queue_status again later")


def waiting_line(summary: dict[str, Any], seconds: float) -> str:
    """``waiting for request r-7: 2 of 4 finished (1 failed), 2 running … 30 s``"""
    states = summary["states"]
    finished = states.get(DONE, 0) + states.get(FAILED, 0)
    failed = f" ({states[FAILED]} failed)" if states.get(FAILED) else ""
    parts = [f"{finished} of {summary['total']} finished{failed}"]
    parts += [f"{states[state]} {state}" for state in ("running", PENDING, SUBMITTED) if states.get(state)]
    return f"waiting for request {summary['request_id']}: {', '.join(parts)} … {seconds:.0f} s"


def report(dirs: QueueDirs, *, request_id: str | None = None, wait: bool = False, timeout: float = 600.0,
           cancel: str | None = None, slots: int = 2, quiet: bool = False,
           stop: Callable[[float], bool] | None = None) -> dict[str, Any]:
    """What queue_status.py reports: the queue's counts, one request's jobs (after ``wait``ing up to
    ``timeout`` seconds for them to finish), or the outcome of cancelling request ``cancel``.
    ``stop(seconds)``: how a wait sleeps between looks; True ends it (an MCP cancellation)."""
    if not dirs.exists():
        raise UsageError(f"no queue at {dirs.root}", details="enqueue a job first, or pass the right --queue-dir",
                         kind="queue_dir")
    if cancel:
        from .batch_cancel import cancel_request
        from .batch_drain import BatchOptions

        check_request_id(cancel)
        require_request(dirs, cancel)
        return cancelled(cancel_request(dirs, cancel, BatchOptions()), request_summary(dirs, cancel))
    if request_id:
        check_request_id(request_id)
        require_request(dirs, request_id, grace=UNKNOWN_REQUEST_GRACE_SEC if wait else 0.0)
        if wait:
            from .. import progress

            def tell(summary: dict[str, Any], seconds: float) -> None:
                progress.note(waiting_line(summary, seconds))

            return wait_for(dirs, request_id, timeout, stop=stop, tell=None if quiet else tell,
                            every=progress.interval())
        return request_summary(dirs, request_id)
    if wait:
        raise UsageError("--wait needs --request-id")
    return queue_summary(dirs, slots)


def cancelled(outcome: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """The --cancel document: ``cancelled`` only when a batch or a job was stopped, else says why not."""
    if outcome["batches"] or outcome["jobs_cancelled"]:
        return {**outcome, "status": "cancelled", "summary": summary}
    why = "every job has finished" if summary["done"] else "its jobs are running or already finished"
    return {**outcome, "status": "nothing_to_cancel", "summary": summary,
            "note": f"nothing was cancelled: request {outcome['request_id']} has no pending job and no batch "
                    f"in flight ({why})"}


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
