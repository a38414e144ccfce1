"""The drain: one process, N threads, claiming jobs until the queue stays empty.

Safe to start from anywhere at any time (queue_and_return, a person, cron every minute): a worker
first takes one of the flock slots, or leaves at once when all are busy.

Spending limits: a job the daily budget refuses goes back to pending/ with ``deferred_reason`` and
``not_before`` = the budget's reset (local midnight), and runs earlier only if the budget is raised;
a job its own --max-cost-per-job or its request's --max-cost stops can never run and ends in the
``budget`` state. Neither costs an attempt, and a worker with nothing else to run leaves instead of
waiting. Every state change is :mod:`queue.states`'.

A job whose provider's key is not set waits in pending/ too (``deferred_limit: missing_key``), as
batch jobs do, and runs as soon as a worker finds the key; the drain reports it (``missing_key``)
so the run can fail loudly enough for cron to mail the fix.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from typing import Any

from .. import config, progress
from ..config import retry_base_seconds
from ..contract import shorten as shortened
from ..costs import plausible_cost
from ..errors import BudgetError, ImageGenError
from ..fsutil import Sweeper, now_iso
from ..http.rate_gate import RateGate
from ..spending import guard, ledger
from . import execute, leases, states, store
from .calls_out import CallsOut
from .drain_settings import DrainOptions, DrainStats
from .job import PENDING, CorruptJob, record_result
from .roots import Roots
from .states import JobState

RESCAN_INTERVAL = 0.5
RECOVERY_INTERVAL = 15.0
MAX_RATE_LIMIT_DEFERRALS = 50
KEY_RETRY_SEC = 300.0  # a job without its provider's key: sooner if a worker finds the key set
WAIT_FOR_DEFERRED_SEC = 120.0  # stay for jobs deferred this briefly (429 back-off); leave for longer ones
REFUSED_KINDS = ("corrupt_job", "outside_roots")  # failed without being run: counted as "corrupt"


class Drainer:
    def __init__(self, options: DrainOptions) -> None:
        self.options = options
        self.dirs = options.queue_dir
        self.roots = options.roots or Roots.for_worker(self.dirs.root)
        self.gate = RateGate()
        self.stats = DrainStats()
        self.lock = threading.Lock()
        self.candidates: deque[str] = deque()
        self.last_scan = 0.0
        self.last_recovery = 0.0
        self.in_flight: dict[str, float] = {}
        self.calls_out = CallsOut(self.dirs, self.lock)  # each job's paid calls out now, in its lease
        self.claimed = 0
        self.idle_since: float | None = None
        self.next_wakeup = float("inf")  # earliest not_before among deferred pending jobs
        self.stop = threading.Event()
        self.worker: leases.Worker | None = None
        self.slot: Any = None  # the worker slot held while draining
        self.session = os.getsid(0)
        self.budget_room: float | None = None  # today's budget left, read once per scan
        self.reported = 0  # progress lines printed: the n of [n/N]
        self.last_line = time.monotonic()  # when the last progress line was printed
        self.sweeper = Sweeper()
        self.batch_waiting = False  # a pending job for a provider's batch engine was seen
        self.batches: dict[str, Any] = {}

    # -- claiming ---------------------------------------------------------------------------
    def _next_job(self) -> dict[str, Any] | None:
        """Claim the next runnable job, or None when there is nothing to do right now."""
        with self.lock:
            if self.options.max_jobs is not None and self.claimed >= self.options.max_jobs:
                return None
            now = time.monotonic()
            if now - self.last_recovery > RECOVERY_INTERVAL:
                self.last_recovery = now
                self.stats.recovered += leases.recover(self.dirs, self.options.orphan_timeout,
                                                       self.options.max_attempts)
            if not self.candidates and now - self.last_scan > RESCAN_INTERVAL:
                self.last_scan = now
                self.next_wakeup = float("inf")
                self.budget_room = None
                self.candidates.extend(store.pending_names(self.dirs, self.options.request_id))
            while self.candidates:
                name = self.candidates.popleft()
                if not self._runnable(name):
                    continue
                assert self.worker is not None
                try:
                    job = leases.claim(self.dirs, name, self.worker)
                except CorruptJob:
                    self._count_failed(name, "corrupt_job")
                    continue
                if job is not None:
                    self.claimed += 1
                    self.in_flight[name] = time.time()
                    return job
            return None

    def _runnable(self, name: str) -> bool:
        try:
            job = store.read_job(self.dirs.job_path(PENDING, name))
        except FileNotFoundError:
            return False
        except CorruptJob:
            return True  # claim it so it is moved to failed/ with the reason
        if job.get("via") == "batch":
            self.batch_waiting = True  # the batch phase submits it, not a thread
            return False
        not_before = float(job.get("not_before") or 0)
        if not_before <= time.time():
            return True
        if job.get("deferred_limit") == "daily_budget" and self._budget_reopened(job.get("deferred_estimate_usd")):
            return True
        provider = job.get("deferred_provider")
        if (job.get("deferred_limit") == "missing_key" and isinstance(provider, str) and provider in config.KEY_VARS
                and config.key_variable(provider)):
            return True  # the key it waited for is set now
        self.next_wakeup = min(self.next_wakeup, not_before)
        return False

    def _budget_reopened(self, estimate: Any) -> bool:
        """Whether a job the daily budget deferred fits today after all (someone raised the budget).
        What calls in flight have reserved counts as spent, as it does when the job runs."""
        if self.budget_room is None:
            try:
                budget = config.daily_budget_usd()
                if budget is None:
                    self.budget_room = float("inf")
                else:
                    spent, held = ledger.committed_today()
                    self.budget_room = budget - spent - held
            except ImageGenError:
                self.budget_room = float("-inf")  # the run would fail the same way: leave it for its reset
        if self.budget_room == float("inf"):
            return True
        estimate = float(estimate) if isinstance(estimate, (int, float)) else None
        return not guard.daily_refuses(0.0, estimate, self.budget_room)

    # -- running ----------------------------------------------------------------------------
    def _thread_main(self) -> None:
        while not self.stop.is_set():
            try:
                job = self._next_job()
                if job is None:
                    if self._should_exit():
                        return
                    time.sleep(0.1)
                    continue
                self._run(job)
            except Exception as error:  # noqa: BLE001 - the drain must end, never hang or print a traceback
                self._stop_drain(error)
                return

    def _stop_drain(self, error: Exception) -> None:
        """The queue itself failed: it cannot be written (a full or read-only disk), or its files hold
        something unforeseen. Stop the whole drain rather than pay for results that cannot be recorded;
        the job in hand stays in running/ under this worker's lease for the next worker to recover.
        """
        if isinstance(error, OSError):
            message = f"the queue could not be written ({error.strerror or error}); stopping, the next worker resumes"
        elif isinstance(error, ImageGenError):
            message = f"{error.message}; stopping"
        else:
            message = f"internal error in the queue ({type(error).__name__}: {error}); stopping"
        with self.lock:
            self.stats.errors.append(message)
        self.stop.set()
        progress.note(message, self.options.quiet)

    def _should_exit(self) -> bool:
        with self.lock:
            if self.options.max_jobs is not None and self.claimed >= self.options.max_jobs and not self.in_flight:
                return True
            if self.in_flight or self.candidates or self.next_wakeup - time.time() < WAIT_FOR_DEFERRED_SEC:
                self.idle_since = None
                return False
            now = time.monotonic()
            if self.idle_since is None:
                self.idle_since = now
            return now - self.idle_since >= self.options.idle_exit

    def _run(self, job: dict[str, Any]) -> None:
        name = job["job_id"]
        started = time.time()
        try:  # whatever happens, the job leaves in_flight, or the other threads would wait for it forever
            job["attempts"] = int(job.get("attempts", 0))
            job["started_at"] = now_iso()
            states.clear_deferral(job)
            try:
                result = execute.execute(job, gate=self.gate, timeout=job.get("timeout") or self.options.job_timeout,
                                        retries=job.get("retries", self.options.retries), roots=self.roots,
                                        sweeper=self.sweeper, account=self._account(job),
                                        on_call=lambda call: self._calling(name, call))
            except Exception as raised:  # a bug too: it must not kill the other threads' jobs
                error = execute.job_failure(raised)
                self._charged(job, error)
                if isinstance(error, BudgetError):
                    self._refused(job, error)
                elif error.kind == "missing_key":
                    self._wait_for_key(job, error)
                else:
                    self._failed_attempt(job, error)
            else:
                self._done(job, result, started)
        finally:
            with self.lock:
                self.in_flight.pop(name, None)

    def _charged(self, job: dict[str, Any], error: ImageGenError) -> None:
        """Count what a failed attempt was charged (the ledger has it): in the job's ``charged_usd``,
        which queue_status adds up, and in this drain's cost."""
        charged = plausible_cost(error.extra.pop("charged_usd", None))
        if charged:
            job["charged_usd"] = round((plausible_cost(job.get("charged_usd")) or 0.0) + charged, 6)
            with self.lock:
                self.stats.cost_usd += charged

    def _account(self, job: dict[str, Any]) -> Any:
        """The file of the job's request budget, when the job carries its request's --max-cost."""
        if job.get("request_max_cost_usd") is None:
            return None
        return self.dirs.request_account(job["request_id"])

    def _record_common(self, job: dict[str, Any]) -> None:
        enqueued = job.get("enqueued_by") or {}
        job["handoff_mode"] = self.options.handoff_mode
        job["same_turn_drain_detected"] = enqueued.get("sid") == self.session
        job["worker"] = {"id": self.worker.id if self.worker else None, "pid": os.getpid(), "session": self.session}
        job["finished_at"] = now_iso()

    def _done(self, job: dict[str, Any], result: dict[str, Any], started: float) -> None:
        job["provider_response"] = result.pop("provider_response", None)
        record_result(job, result)
        job["run_ms"] = int((time.time() - started) * 1000)
        self._record_common(job)
        self._leave(job)
        states.finish(self.dirs, job, JobState.DONE)
        with self.lock:
            self.stats.done += 1
            self.stats.cost_usd += float(result.get("cost_usd") or 0)
            self.stats.jobs.append({"job_id": job["job_id"], "status": "done", "path": result.get("path")})
        self._progress("ok", job, result.get("path"), job["run_ms"], result.get("cost_usd"))

    def _failed_attempt(self, job: dict[str, Any], error: ImageGenError) -> None:
        job["attempts"] += 1
        states.note(job, error)
        if error.kind == "rate_limited":
            job["attempts"] -= 1  # the provider's load, not the job's fault
            job["rate_limited_count"] = int(job.get("rate_limited_count", 0)) + 1
            if job["rate_limited_count"] <= MAX_RATE_LIMIT_DEFERRALS:
                wait = float(getattr(error, "retry_after", None) or 5.0)
                self.gate.defer(wait)
                self._defer(job, error, time.time() + wait)
                return
        if execute.is_retryable(error) and job["attempts"] < self.options.max_attempts:
            self._defer(job, error, time.time() + min(60.0, retry_base_seconds() * 2.0 ** job["attempts"]))
            return
        self._fail(job, error)

    def _refused(self, job: dict[str, Any], error: BudgetError) -> None:
        """A spending limit refused the job before anything was sent: wait for the day's budget, or
        end in ``budget`` when its --max-cost can never be met (retrying would not help)."""
        if error.extra.get("limit") != "daily_budget":
            self._record_common(job)
        self._leave(job)
        state = states.refused_by_budget(self.dirs, job, error)
        with self.lock:
            if state is JobState.PENDING:
                self.stats.deferred += 1
                self.stats.jobs.append({"job_id": job["job_id"], "status": "deferred", "error_kind": error.kind,
                                        "deferred_until": job["deferred_until"]})
            else:
                self._count_failed(job["job_id"], error.kind, state.value)
        if state is JobState.PENDING:
            self._progress("deferred", job, job["deferred_reason"], None, None)
        else:
            self._progress(state.value, job, f"{error.kind}: {error.message}", None, None)

    def _wait_for_key(self, job: dict[str, Any], error: ImageGenError) -> None:
        """No key for the job's provider: nothing was sent; back to pending/ for a worker that has one."""
        job["deferred_limit"] = "missing_key"
        job["deferred_provider"] = error.extra.get("provider")
        self._defer(job, error, time.time() + KEY_RETRY_SEC)
        self.key_missing(error, [job["job_id"]])
        with self.lock:
            self.stats.jobs.append({"job_id": job["job_id"], "status": "deferred", "error_kind": error.kind})

    def key_missing(self, error: ImageGenError, job_ids: list[str]) -> None:
        with self.lock:
            self.stats.missing_key = error
            self.stats.waiting_for_key.update(job_ids)

    def _fail(self, job: dict[str, Any], error: ImageGenError) -> None:
        self._record_common(job)
        self._leave(job)
        state = states.end(self.dirs, job, error)
        with self.lock:
            self._count_failed(job["job_id"], error.kind, state.value)
        self._progress(state.value, job, f"{error.kind}: {error.message}", None, None)

    def _count_failed(self, name: str, kind: str, status: str = "failed") -> None:
        """Count a job filed in failed/ (the caller holds the lock)."""
        self.stats.failed += 1
        self.stats.corrupt += kind in REFUSED_KINDS
        self.stats.jobs.append({"job_id": name, "status": status, "error_kind": kind})

    def _defer(self, job: dict[str, Any], error: ImageGenError, until: float) -> None:
        """Back to pending, to run again from ``until`` (epoch seconds) on (leases released last)."""
        self._leave(job)
        states.back_to_pending(self.dirs, job, JobState.RUNNING, reason=f"{error.kind}: {error.message}", until=until)
        with self.lock:
            self.stats.deferred += 1
        self._progress("deferred", job, job["deferred_reason"], None, None)

    def _progress(self, status: str, job: dict[str, Any], what: Any, ms: int | None, cost: Any) -> None:
        """One ``[n/N] status file ...`` line: n counts this worker's outcomes, N the jobs it has claimed
        (each ends in one such line) and those still in view. Counted and printed under the lock, so
        lines come out numbered in order."""
        if self.options.quiet:
            return
        with self.lock:
            self.reported += 1
            total = self.claimed + len(self.candidates)
            parts = [f"[{self.reported}/{total}]", status, _file_name(job, what if status == "ok" else None)]
            if status != "ok":
                parts.append(f"(job {job['job_id']})" + (f" {shortened(str(what), 300)}" if what else ""))
            if ms is not None:
                parts.append(f"{ms / 1000:.1f} s")
            if cost is not None:
                parts.append(f"${float(cost):.3f}")
            progress.line(" ".join(parts))
            self.last_line = time.monotonic()

    def _still_running(self) -> None:
        """Every progress interval without a line: what is in flight, so a long call never looks hung."""
        with self.lock:
            if not self.in_flight or time.monotonic() - self.last_line < progress.interval() * 0.9:
                return
            longest = time.time() - min(self.in_flight.values())
            count = len(self.in_flight)
            progress.line(f"[{self.reported}/{self.claimed + len(self.candidates)}] running: {count} job"
                          f"{'' if count == 1 else 's'} in flight, the longest for {longest:.0f} s")
            self.last_line = time.monotonic()

    # -- heartbeats and the whole drain -----------------------------------------------------
    def _leave(self, job: dict[str, Any]) -> None:
        """Stop refreshing a job's lease before the lease is dropped: a refresh after the drop
        would bring the lease back and block the job for as long as this worker lives."""
        with self.lock:
            self.in_flight.pop(job["job_id"], None)

    def _heartbeat(self, interval: float) -> None:
        while not self.stop.wait(interval):
            assert self.worker is not None
            with self.lock:  # _leave waits for a refresh in progress, so none outlives its job
                for name, started in self.in_flight.items():
                    leases.refresh(self.dirs, name, self.worker, started, self.calls_out.of(name))

    def _calling(self, name: str, call: dict[str, Any] | None) -> None:
        assert self.worker is not None
        self.calls_out.told(self.worker, self.in_flight, name, call)

    def run(self) -> dict[str, Any]:
        self.dirs.ensure()
        slot = leases.acquire_slot(self.dirs, self.options.slots)
        if slot is None:
            return {"status": "no_free_slot", "slots": self.options.slots,
                    "detail": "all worker slots are busy; the running workers will drain the queue"}
        self.slot = slot
        self.worker = leases.Worker(self.dirs)
        started = time.monotonic()
        beat = threading.Thread(target=self._heartbeat, args=(min(30.0, max(0.5, self.options.orphan_timeout / 4)),),
                                daemon=True)
        beat.start()
        ticker = None if self.options.quiet else progress.Every(progress.interval(), self._still_running)
        try:
            self._batch_phase()
            self._drain()
        except KeyboardInterrupt as stop:  # Ctrl-C, SIGTERM, SIGHUP: what may be billed is recorded first
            if self.calls_out.abandon(self.worker, self.in_flight):
                stop.charge_unknown = True  # type: ignore[attr-defined]  # for the error document
            raise
        finally:
            self.stop.set()
            if ticker is not None:
                ticker.stop()
            if self.slot is not None:
                self.slot.release()
            self.worker.close()
        return {
            "status": "drained", "done": self.stats.done, "failed": self.stats.failed,
            "deferred": self.stats.deferred, "corrupt": self.stats.corrupt, "cost_usd": round(self.stats.cost_usd, 6),
            "recovered": self.stats.recovered, "jobs": self.stats.jobs,
            "elapsed_ms": int((time.monotonic() - started) * 1000),
            "remaining": store.counts(self.dirs),
            "handoff_mode": self.options.handoff_mode,
            **({"batches": self.batches} if self.batches else {}),
            **({"errors": self.stats.errors} if self.stats.errors else {}),
            **self._missing_key(),
        }

    def _missing_key(self) -> dict[str, Any]:
        """The drain's ``missing_key`` report: what is not set, how to set it, which jobs wait for it."""
        error = self.stats.missing_key
        if error is None:
            return {}
        return {"missing_key": {"error": error.message, "details": error.details,
                                "provider": error.extra.get("provider"),
                                "jobs_waiting": sorted(self.stats.waiting_for_key)}}

    def _drain(self) -> None:
        """Threads until the queue stays empty, looking once more after giving the slot up."""
        while True:
            self._drain_with_threads()
            if self.batch_waiting and not self.stop.is_set():
                self.batch_waiting = False
                self._batch_phase(poll=False)  # batch jobs queued while the threads ran
            self.slot.release()
            self.slot = None
            if self.stop.is_set():
                break
            # Jobs enqueued while we were leaving would find no free slot to start a worker:
            # look once more after giving the slot up.
            if self._at_max_jobs() or not self._runnable_soon():
                break
            self.slot = leases.acquire_slot(self.dirs, self.options.slots)
            if self.slot is None:
                break
            self.idle_since = None

    def _batch_phase(self, poll: bool = True) -> None:
        """Submit, poll and collect the jobs queued for providers' batch engines (see batch_drain)."""
        from .batch_drain import BatchOptions, BatchPhase

        assert self.worker is not None
        options = BatchOptions(timeout=self.options.job_timeout, retries=self.options.retries,
                               max_attempts=self.options.max_attempts, request_id=self.options.request_id,
                               quiet=self.options.quiet)
        phase = BatchPhase(self.dirs, self.worker, self.roots, options)
        try:
            summary = phase.run(poll=poll)
        except OSError as error:
            summary = {"errors": [f"the queue's batches could not be written ({error.strerror or error})"]}
        if phase.missing_key is not None:
            self.key_missing(phase.missing_key[0], phase.missing_key[1])
        with self.lock:
            for key, value in summary.items():
                if isinstance(value, list):
                    self.batches.setdefault(key, []).extend(value)
                else:
                    self.batches[key] = value
            for entry in phase.jobs:
                self.stats.jobs.append(entry)
                self.stats.done += entry["status"] == "done"
                self.stats.cost_usd += float(entry.get("cost_usd") or 0)
                self.stats.failed += entry["status"] in ("failed", "cancelled", "budget")
                self.stats.deferred += entry["status"] in ("deferred", "requeued")

    def _runnable_soon(self) -> bool:
        self.next_wakeup = float("inf")
        self.budget_room = None
        names = store.pending_names(self.dirs, self.options.request_id)
        return any(self._runnable(n) for n in names) or self.next_wakeup - time.time() < WAIT_FOR_DEFERRED_SEC

    def _at_max_jobs(self) -> bool:
        return self.options.max_jobs is not None and self.claimed >= self.options.max_jobs

    def _drain_with_threads(self) -> None:
        threads = [threading.Thread(target=self._thread_main, daemon=True)
                   for _ in range(max(1, self.options.concurrency))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _file_name(job: dict[str, Any], saved: Any) -> str:
    """The file a job made (or will make): the saved path, its --out, else its folder."""
    named = saved or job.get("output")
    if named:
        return os.path.basename(str(named))
    folder = job.get("request", {}).get("output_dir") if isinstance(job.get("request"), dict) else None
    return f"{os.path.basename(str(folder).rstrip('/'))}/(auto-named)" if folder else job["job_id"]


def drain(options: DrainOptions) -> dict[str, Any]:
    return Drainer(options).run()
