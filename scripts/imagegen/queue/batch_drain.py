"""The batch side of a drain: jobs queued ``--via batch`` go to the provider's own batch engine
(Gemini Batch Mode, OpenAI's Batch API) at half the price, and come back on a later drain.

One drain at a time does this (``batch_records.exclusive``), in three steps:

1. **Recover** a record left ``submitting`` by a killed drain: ask the provider for a batch of that
   name; adopt it if there is one, else put its jobs back in pending/. Nothing is sent twice.
2. **Poll** each submitted batch; once it is over, **collect** it: every result saved exactly as a
   synchronous run saves it (names, sidecar, ledger line at the batch price settling the budget
   the job held), every failed request filed with the provider's reason or put back when retrying
   can help (an expired batch, a request the provider did not get to).
3. **Submit** the pending batch jobs, grouped by provider, model and request: each job is planned
   and checked as a synchronous run would be, holds its batch estimate of the daily budget (and of
   its request's ``--max-cost``: ``spending.request_budget``), and moves to submitted/ before the
   provider is asked; the record gets the batch id after.
Each job's charge goes to its request's account in the step after its ledger line (``batch_holds``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .. import progress
from ..costs import plausible_cost
from ..errors import BudgetError, ImageGenError, ProviderError
from ..fsutil import now_iso
from ..providers.batch import CANCELLED, EXPIRED, SUCCEEDED, BatchStatus
from ..providers.batch import FAILED as BATCH_FAILED
from ..record import Record
from ..spending import guard, ledger
from . import batch_holds, batch_plan, batch_records, leases, states, store
from .execute import SCRIPT, already_done, job_failure, path_failure
from .job import PENDING, RUNNING, SUBMITTED, CorruptJob, record_result
from .states import JobState

if TYPE_CHECKING:
    from ..http.client import HttpClient
    from .layout import QueueDirs
    from .roots import Roots

BATCH_HOLD_SEC = 49 * 3600  # a submitted job's hold on the budget outlives Gemini's 48-hour expiry
RETRY_AFTER_SEC = 300.0  # a batch the provider could not take is tried again after this
# The ledger line of a job its batch ended without answering, by the batch's end.
UNANSWERED_OUTCOMES = {EXPIRED: "batch_expired", CANCELLED: "batch_cancelled", BATCH_FAILED: "batch_failed",
                       SUCCEEDED: "batch_unanswered"}


class BatchOptions(Record):
    timeout: float = 120.0
    retries: int = 2
    max_attempts: int = 3
    request_id: str | None = None
    quiet: bool = False


def engine(provider: str) -> Any:
    """The batch engine module of ``provider`` (each offers create, get, find, cancel, results, refined)."""
    from ..pipeline.routes import route

    return route(provider).batch_engine()


class _Member(Record):
    job: dict[str, Any]
    plan: Any
    body: dict[str, Any]
    reservation: str | None
    request_hold: str | None = None  # its hold on the request's --max-cost


class BatchPhase:
    def __init__(self, dirs: QueueDirs, worker: leases.Worker | None, roots: Roots | None,
                 options: BatchOptions) -> None:
        self.dirs, self.worker, self.roots, self.options = dirs, worker, roots, options
        self.summary: dict[str, Any] = {"submitted": [], "collected": [], "in_flight": [], "recovered": [],
                                        "errors": []}
        self.jobs: list[dict[str, Any]] = []  # one entry per job filed, as the drain reports them
        self._booked: dict[str, dict[str, Any]] = {}  # job id -> its line in the ledger, of the batch collected now
        self._client: HttpClient | None = None
        self.missing_key: tuple[ImageGenError, list[str]] | None = None  # no key for a provider, and who waits

    # -- the phase ---------------------------------------------------------------------------
    def run(self, *, poll: bool = True) -> dict[str, Any]:
        """Recover, poll and collect (unless ``poll`` is False: this drain did so already), then submit."""
        with batch_records.exclusive(self.dirs) as mine:
            if not mine:
                return {"skipped": "another worker is submitting or collecting batches now"}
            for path, record in batch_records.all_records(self.dirs) if poll else ():
                if record is None:
                    self.summary["errors"].append(f"{path.name} in batches/ is not a batch record; left alone")
                elif self.options.request_id in (None, record.get("request_id")):
                    self._guarded(self._advance, record)
            self._submit_pending()
        return {key: value for key, value in self.summary.items() if value}

    def _guarded(self, step: Any, *args: Any) -> None:
        """One batch's step; a provider that fails now is asked again on the next drain."""
        try:
            step(*args)
        except ImageGenError as error:
            self._report(error)

    def _report(self, error: ImageGenError) -> None:
        self.summary["errors"].append(f"{error.kind}: {error.message}")
        progress.note(f"batch: {error.message} (tried again on the next drain)", self.options.quiet)

    def client(self) -> HttpClient:
        if self._client is None:
            from ..pipeline.paid_call import PaidRun
            from ..requests import RunOptions
            from ..spending.guard import Spend

            options = RunOptions(timeout=self.options.timeout, retries=self.options.retries, quiet=True)
            self._client = PaidRun(Spend(SCRIPT), options).client()
        return self._client

    def _advance(self, record: dict[str, Any]) -> None:
        batch = engine(record["provider"])
        if record["state"] == batch_records.SUBMITTING:
            found = batch.refined(lambda: batch.find(self.client(), record["name"]))
            if found is None:
                self._withdraw(record, "its submission never reached the provider")
                return
            self._adopt(record, found)
            self.summary["recovered"].append({"record": record["name"], "batch_id": found.id})
        if record.get("cancel_requested") and not record.get("cancel_sent"):
            self.cancel(record)
        status, response = batch.refined(lambda: batch.get(self.client(), record["batch_id"],
                                                           spool_dir=self.dirs.batches))
        if not status.finished:
            record.update(progress=status.progress(), polled_at=now_iso())
            batch_records.write(self.dirs, record)
            self.summary["in_flight"].append({"record": record["name"], "batch_id": status.id, **status.progress()})
            return
        keys = [entry["job_id"] for entry in record["jobs"]]
        try:
            lines = batch.refined(lambda: batch.results(self.client(), status, response, keys, record["model"], None,
                                                        self.dirs.batches))
        except ImageGenError as error:
            if error.retryable:
                raise  # tried again on the next drain
            self._unreadable(record, status, error)  # asking again gets the same answer: file it now
            return
        self._collect(record, status, {line.key: line for line in lines if line.key})

    # -- submitting --------------------------------------------------------------------------
    def _submit_pending(self) -> None:
        groups: dict[tuple[str, str, str], list[_Member]] = {}
        for name in store.pending_names(self.dirs, self.options.request_id):
            member = self._claim(name)
            if member is not None:
                key = (member.plan.provider, member.plan.spec.id, member.job["request_id"])
                groups.setdefault(key, []).append(member)
        for (provider, model, request_id), members in groups.items():
            try:
                from .. import config

                config.api_key(provider)  # no key: nothing moves, the jobs wait for one
            except ImageGenError as error:
                self.missing_key = (error, [member.job["job_id"] for member in members])
                for member in members:
                    self._release({"reservation": member.reservation, "request_hold": member.request_hold},
                                  request_id)
                    self._requeue(member.job, RUNNING, f"{error.kind}: {error.message}", count_attempt=False,
                                  wait=RETRY_AFTER_SEC)
                self._report(error)
                continue
            self._submit(provider, model, request_id, members)

    def _claim(self, name: str) -> _Member | None:
        try:
            pending = store.read_job(self.dirs.job_path(PENDING, name))
        except (CorruptJob, FileNotFoundError):
            return None  # the synchronous side files a corrupt job
        if pending.get("via") != "batch" or float(pending.get("not_before") or 0) > time.time():
            return None
        assert self.worker is not None
        try:
            job = leases.claim(self.dirs, name, self.worker)
        except CorruptJob:
            return None
        if job is None:
            return None
        try:
            return self._plan(job)
        except BudgetError as error:
            self._budget_refused(job, error)
        except (ImageGenError, OSError) as error:
            self.fail(job, job_failure(error), RUNNING)
        return None

    def _plan(self, job: dict[str, Any]) -> _Member:
        """The job planned and checked as its synchronous run would be, holding its batch estimate."""
        prepared, request = batch_plan.planned(job, self.roots)
        plan = prepared.plan
        if plan.provider not in batch_records.PROVIDERS or plan.count != 1:
            from .job import corrupt

            raise corrupt(f"job {job['job_id']} is marked for a batch but asks for {plan.count} image(s) on "
                          f"{plan.provider}: only one image on Google or OpenAI can go in a batch")
        batch_plan.writer_for(request, plan).check_before_request(plan.count)
        guard.check(plan.estimate_usd, request.max_cost, model=plan.spec.alias, count=plan.count, daily=False)
        hold = batch_holds.hold(self.dirs, job, plan, BATCH_HOLD_SEC)
        try:
            reservation = guard.reserve(plan.estimate_usd, seconds=BATCH_HOLD_SEC, what=f"job {job['job_id']}",
                                        detached=True)
            return _Member(job, plan, batch_plan.request_body(prepared), reservation, hold)
        except BaseException:
            self._close_hold(job["request_id"], hold, 0.0)
            raise

    def _submit(self, provider: str, model: str, request_id: str, members: list[_Member]) -> None:
        entries = [{"job_id": m.job["job_id"], "estimate_usd": m.plan.estimate_usd, "reservation": m.reservation,
                    **({"request_hold": m.request_hold} if m.request_hold else {})} for m in members]
        record = batch_records.new_record(provider, model, request_id, entries)
        batch_records.write(self.dirs, record)  # before any job moves: a kill from here on is recovered by name
        for member in members:
            job = member.job
            job["batch"] = {"record": record["name"], "provider": provider, "model": model}
            states.submitted(self.dirs, job)
        batch = engine(provider)
        items = [(m.job["job_id"], m.body) for m in members]
        try:
            status = batch.refined(lambda: batch.create(self.client(), model, record["name"], items))
        except ProviderError as error:
            if error.charge_unknown or error.kind in ("timeout", "network") and error.status is None:
                # It may have arrived: the record stays "submitting", and the next drain asks the provider.
                self.summary["errors"].append(f"submitting {record['name']}: {error.message}; the next drain "
                                              "checks whether the provider has it")
                return
            from ..models.alternatives import with_fallbacks

            with_fallbacks(error, provider, model)  # a model that is gone: the jobs name live ones
            self._withdraw(record, f"the provider refused the batch: {error.message}", error)
            return
        self._adopt(record, status)
        self.summary["submitted"].append({"record": record["name"], "batch_id": status.id, "provider": provider,
                                          "model": model, "jobs": len(members)})
        progress.note(f"batch: {len(members)} job(s) of {request_id} submitted to {provider} as {status.id}",
                      self.options.quiet)

    def _adopt(self, record: dict[str, Any], status: BatchStatus) -> None:
        """The provider has the batch: keep its id, and put the submission in the ledger (every call
        that reached a provider is there; the budget stays held until the batch is collected)."""
        record.update(state=batch_records.SUBMITTED, batch_id=status.id, submitted_at=now_iso(),
                      progress=status.progress())
        batch_records.write(self.dirs, record)
        for entry in record["jobs"]:
            line = ledger.new_entry(script=SCRIPT, model=record["model"], request_id=record["request_id"],
                                    estimate=entry.get("estimate_usd"), outcome="batch_submitted",
                                    job_id=entry["job_id"])
            line["batch_id"] = status.id
            self._warn(ledger.write(line))
            self._update_job(entry["job_id"], batch_id=status.id, submitted_at=record["submitted_at"])

    def _withdraw(self, record: dict[str, Any], reason: str, error: ImageGenError | None = None) -> None:
        """The provider does not have the batch: its jobs go back to pending (or to failed/ when the
        provider refused them for good, or they were cancelled), their holds released."""
        cancelled = bool(record.get("cancel_requested"))
        for entry in record["jobs"]:
            self._release(entry, record["request_id"])
            for state in (SUBMITTED, RUNNING):
                job = _read(self.dirs, state, entry["job_id"])
                if job is None:
                    continue
                if cancelled:
                    self.fail(job, cancelled_error(), state)
                elif error is not None and not error.retryable:
                    self.fail(job, error, state)
                else:
                    self._requeue(job, state, reason, count_attempt=False, wait=RETRY_AFTER_SEC if error else 0.0)
                break
        batch_records.remove(self.dirs, record["name"])

    # -- collecting --------------------------------------------------------------------------
    def _collect(self, record: dict[str, Any], status: BatchStatus, lines: dict[str, Any]) -> None:
        counts = {"saved": 0, "failed": 0, "requeued": 0}
        self._booked = batch_holds.booked_before(self.dirs, record, status.id)
        for entry in record["jobs"]:
            job = _read(self.dirs, SUBMITTED, entry["job_id"])
            if job is None:
                continue  # filed already (a collection cut off half-way)
            line = lines.get(entry["job_id"])
            try:
                if line is not None and line.reply is not None:
                    outcome = self._save(job, entry, line.reply, status)
                elif line is not None and line.error is not None and line.error.kind != "expired":
                    outcome = self._answered_with_error(job, entry, record, line.error, status)
                elif line is not None:  # the provider says it did not get to the request in time
                    outcome = self._unanswered(job, entry, record, status._replace(state=EXPIRED))
                else:
                    outcome = self._unanswered(job, entry, record, status)
            except ImageGenError as error:
                # The provider made (and may have billed) the result: counted at its estimate unless charged
                self._close_hold(record["request_id"], entry.get("request_hold"),
                                 plausible_cost(entry.get("estimate_usd")) or 0.0)
                self.fail(job, error, SUBMITTED)
                outcome = "failed"
            counts[outcome] += 1
        batch_records.remove(self.dirs, record["name"])
        self.summary["collected"].append({"record": record["name"], "batch_id": status.id,
                                          "batch_state": status.state, **counts})
        progress.note(f"batch: {status.id} is {status.provider_state}: {counts['saved']} saved, "
                      f"{counts['failed']} failed, {counts['requeued']} queued again", self.options.quiet)

    def _book(self, job: dict[str, Any], entry: dict[str, Any], line: dict[str, Any], status: BatchStatus, *,
              key: str | None = None) -> None:
        for warning in batch_holds.book(self.dirs, self._booked, job, entry, line, status.id, key=key):
            self._warn(warning)

    def _save(self, job: dict[str, Any], entry: dict[str, Any], reply: Any, status: BatchStatus) -> str:
        from ..pipeline.save import save_replies

        prepared, request = batch_plan.planned(job, self.roots)
        plan = prepared.plan
        writer = batch_plan.writer_for(request, plan)
        earlier = already_done(job, writer)
        if earlier is not None:  # killed between saving and filing: saved and on the ledger already
            booked = self._booked.get(job["job_id"])
            charged = ledger.charged(booked) if booked else plausible_cost(earlier.get("cost_usd"))
            self._close_hold(job["request_id"], entry.get("request_hold"),
                             charged if charged is not None else plausible_cost(entry.get("estimate_usd")) or 0.0)
            return self._file_saved(job, {**earlier, "batch_id": status.id})
        if reply.cost_usd is None:  # Google reports no price: the table's, at the batch rate
            reply.usage = {**reply.usage, "cost": plan.estimate_each_usd, "cost_source": "price table"}
        line = ledger.new_entry(script=SCRIPT, model=plan.spec.id, request_id=job["request_id"],
                                estimate=entry.get("estimate_usd"), cost=reply.cost_usd, outcome="success",
                                generation_id=reply.generation_id, images=len(reply.images), job_id=job["job_id"],
                                model_alias=plan.spec.model_alias)
        self._book(job, entry, line, status, key=batch_holds.price_key(plan))  # paid: on the ledger before saving
        try:
            result = save_replies(plan, [reply], self.client(), writer, 0, keep_response=True)
        except OSError as error:
            raise path_failure(error) from None
        result["batch_id"] = status.id
        job["provider_response"] = result.pop("provider_response", None)
        return self._file_saved(job, result)

    def _file_saved(self, job: dict[str, Any], result: dict[str, Any]) -> str:
        record_result(job, result)
        job["finished_at"] = now_iso()
        states.finish(self.dirs, job, JobState.DONE, JobState.SUBMITTED)
        self.jobs.append({"job_id": job["job_id"], "status": "done", "path": result.get("path"),
                          "cost_usd": result.get("cost_usd")})
        return "saved"

    def _answered_with_error(self, job: dict[str, Any], entry: dict[str, Any], record: dict[str, Any],
                             error: ProviderError, status: BatchStatus) -> str:
        line = ledger.new_entry(script=SCRIPT, model=job["batch"]["model"], request_id=job["request_id"],
                                estimate=entry.get("estimate_usd"), outcome="error", error_kind=error.kind,
                                job_id=job["job_id"])
        self._book(job, entry, line, status)
        if record.get("cancel_requested"):
            self.fail(job, cancelled_error(status), SUBMITTED)
            return "failed"
        if error.retryable and int(job.get("attempts", 0)) + 1 < self.options.max_attempts:
            self._requeue(job, SUBMITTED, f"{error.kind}: {error.message}")
            return "requeued"
        self.fail(job, error, SUBMITTED)
        return "failed"

    def _unanswered(self, job: dict[str, Any], entry: dict[str, Any], record: dict[str, Any],
                    status: BatchStatus) -> str:
        """No result for the job: the batch expired, was cancelled or failed before reaching it."""
        line = ledger.new_entry(script=SCRIPT, model=record["model"], request_id=job["request_id"],
                                estimate=entry.get("estimate_usd"), outcome=UNANSWERED_OUTCOMES[status.state],
                                job_id=job["job_id"])
        self._book(job, entry, line, status)
        if status.state == CANCELLED or record.get("cancel_requested"):
            self.fail(job, cancelled_error(status), SUBMITTED)
            return "failed"
        if status.state == BATCH_FAILED:
            reason = status.error or "no reason given"
            self.fail(job, ImageGenError(f"the provider's batch {status.id} failed: {reason}",
                                          kind="batch_failed", retryable=False,
                                          details="fix what the provider names, then queue the job again"), SUBMITTED)
            return "failed"
        why = ("the batch expired before the provider reached this request" if status.state == EXPIRED
               else "the provider's results did not include this request")
        if int(job.get("attempts", 0)) + 1 >= self.options.max_attempts:
            self.fail(job, ImageGenError(why, kind="batch_expired", retryable=False,
                                          details="queue the job again, or without --via batch"), SUBMITTED)
            return "failed"
        self._requeue(job, SUBMITTED, why)
        return "requeued"

    def _unreadable(self, record: dict[str, Any], status: BatchStatus, error: ImageGenError) -> None:
        """The batch finished but its results cannot be read, for good (an output file id that is not one):
        its jobs are failed, each on the ledger as charge_unknown (the provider may have billed them)."""
        failure = ImageGenError(f"the provider's batch {status.id} finished but its results cannot be read: "
                                f"{error.message}", kind="batch_failed", retryable=False,
                                details="check the batch in the provider's dashboard; queue the jobs again if needed")
        failed = 0
        self._booked = batch_holds.booked_before(self.dirs, record, status.id)
        for entry in record["jobs"]:
            job = _read(self.dirs, SUBMITTED, entry["job_id"])
            if job is None:
                continue
            line = ledger.new_entry(script=SCRIPT, model=record["model"], request_id=job["request_id"],
                                    estimate=entry.get("estimate_usd"), outcome="charge_unknown",
                                    error_kind="batch_failed", job_id=job["job_id"])
            self._book(job, entry, line, status)
            self.fail(job, cancelled_error(status) if record.get("cancel_requested") else failure, SUBMITTED)
            failed += 1
        batch_records.remove(self.dirs, record["name"])
        self.summary["collected"].append({"record": record["name"], "batch_id": status.id, "batch_state": BATCH_FAILED,
                                          "saved": 0, "failed": failed, "requeued": 0})
        progress.note(f"batch: {failure.message}; {failed} job(s) failed", self.options.quiet)

    # -- cancelling --------------------------------------------------------------------------
    def cancel(self, record: dict[str, Any]) -> dict[str, Any]:
        """Ask the provider to stop the batch; its jobs are filed when the batch is collected."""
        record["cancel_requested"] = True
        if record["state"] == batch_records.SUBMITTED:
            batch = engine(record["provider"])
            batch.refined(lambda: batch.cancel(self.client(), record["batch_id"]))
            record["cancel_sent"] = now_iso()
        batch_records.write(self.dirs, record)
        return {"record": record["name"], "batch_id": record.get("batch_id"),
                "cancel": "sent" if record.get("cancel_sent") else "on the next drain"}

    # -- job files ---------------------------------------------------------------------------
    def _requeue(self, job: dict[str, Any], state: str, reason: str, *, count_attempt: bool = True,
                 wait: float = 0.0) -> None:
        if count_attempt:
            job["attempts"] = int(job.get("attempts", 0)) + 1
        job.setdefault("history", []).append({"at": now_iso(), "error_kind": "batch", "error": reason})
        states.back_to_pending(self.dirs, job, JobState(state), reason=reason,
                               until=time.time() + wait if wait else None)
        self.jobs.append({"job_id": job["job_id"], "status": "requeued", "reason": reason})

    def fail(self, job: dict[str, Any], error: ImageGenError, state: str) -> None:
        ended = states.end(self.dirs, job, error, JobState(state))
        self.jobs.append({"job_id": job["job_id"], "status": ended.value, "error_kind": error.kind})

    def _budget_refused(self, job: dict[str, Any], error: BudgetError) -> None:
        """As the synchronous side does (the same transition): the daily budget defers the job to its
        reset, a --max-cost ends it in ``budget``."""
        state = states.refused_by_budget(self.dirs, job, error, JobState.RUNNING)
        if state is JobState.PENDING:
            self.jobs.append({"job_id": job["job_id"], "status": "deferred", "error_kind": error.kind,
                              "deferred_until": job["deferred_until"]})
        else:
            self.jobs.append({"job_id": job["job_id"], "status": state.value, "error_kind": error.kind})

    def _update_job(self, job_id: str, **fields: Any) -> None:
        job = _read(self.dirs, SUBMITTED, job_id)
        if job is not None and isinstance(job.get("batch"), dict):
            job["batch"].update(fields)
            store.rewrite(self.dirs, SUBMITTED, job)

    def _release(self, entry: dict[str, Any], request_id: str) -> None:
        """The job was never sent: its holds go, nothing charged."""
        if entry.get("reservation"):
            ledger.release(entry["reservation"])
        self._close_hold(request_id, entry.get("request_hold"), 0.0)

    def _close_hold(self, request_id: str, hold: Any, charged: float, *, key: str | None = None) -> None:
        self._warn(batch_holds.close(self.dirs, request_id, hold, charged, key=key))

    def _warn(self, warning: str | None) -> None:
        if warning:
            self.summary["errors"].append(warning)


def _read(dirs: QueueDirs, state: str, job_id: str) -> dict[str, Any] | None:
    try:
        return store.read_job(dirs.job_path(state, job_id))
    except (CorruptJob, FileNotFoundError):
        return None


def cancelled_error(status: BatchStatus | None = None) -> ImageGenError:
    at = f" (the provider's batch {status.id} is {status.provider_state})" if status else ""
    return ImageGenError("cancelled with queue_status.py --cancel" + at, kind="cancelled", retryable=False,
                         details="queue the job again to make it")
