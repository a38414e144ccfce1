"""What a batch job costs, counted once: its ledger line when its batch is collected, and its share
of its request's ``--max-cost`` (``spending.request_budget``).

A job of a capped request holds its batch estimate from planning until its batch is collected;
then the charge its ledger line counts is spent and the hold closed, in the step after the line
is written. A hold closes once, and a collection marks its batch record before it starts, so one
taken up again after a kill finds the lines already written and writes none twice.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ..errors import ImageGenError
from ..fsutil import now_iso
from ..spending import ledger
from . import batch_records
from .batch_records import valid_hold

if TYPE_CHECKING:
    from ..spending.request_budget import RequestBudget
    from .layout import QueueDirs


def account(dirs: QueueDirs, request_id: str) -> RequestBudget:
    from ..spending.request_budget import RequestBudget

    return RequestBudget(dirs.request_account(request_id), request_id)


def price_key(plan: Any) -> str:
    """What a batch job's price depends on, as the account names it (apart from synchronous calls)."""
    return plan.price_key().joined() + "|batch"


def hold(dirs: QueueDirs, job: dict[str, Any], plan: Any, seconds: float) -> str | None:
    """The job's hold on its request's --max-cost (BudgetError, ``request_max_cost``, when it does
    not fit); None when the request has no cap. Held by the batch, not this drain: a drain killed
    before writing the batch record leaves it until it lapses, counted at its estimate."""
    cap = job.get("request_max_cost_usd")
    if cap is None:
        return None
    hold_id = f"batch-{job['job_id']}-{secrets.token_hex(4)}"
    account(dirs, job["request_id"]).hold_batch(hold_id, plan.estimate_usd, cap=float(cap), key=price_key(plan),
                                                seconds=seconds)
    return hold_id


def close(dirs: QueueDirs, request_id: str, hold_id: Any, charged: float, *, key: str | None = None) -> str | None:
    """Charge the request's account ``charged`` and close the hold (a hold closed already is left
    alone); the warning when the account cannot be written (the hold then lapses at its estimate)."""
    if not valid_hold(hold_id):
        return None
    try:
        account(dirs, request_id).close(hold_id, charged, key=key)
    except (OSError, ImageGenError) as error:
        return (f"the budget of request {request_id} could not be updated ({error}); the job's hold "
                "lapses when its batch would have expired, counted at its estimate")
    return None


def booked_before(dirs: QueueDirs, record: dict[str, Any], batch_id: str) -> dict[str, dict[str, Any]]:
    """The lines a drain killed while collecting this batch wrote, by job id. A collection marks its
    record first: only one taken up again reads the ledger."""
    if not record.get("collecting"):
        record["collecting"] = now_iso()
        batch_records.write(dirs, record)
        return {}
    since = ledger.today() - timedelta(days=2)  # a collection cut off longer ago than this is counted twice
    return {line["job_id"]: line for line in ledger.read_recent(since).entries
            if line.get("batch_id") == batch_id and line.get("outcome") != "batch_submitted"
            and isinstance(line.get("job_id"), str)}


def book(dirs: QueueDirs, booked: dict[str, dict[str, Any]], job: dict[str, Any], entry: dict[str, Any],
         line: dict[str, Any], batch_id: str, *, key: str | None = None) -> list[str | None]:
    """The job's collected ``line`` in the ledger (its daily hold settled in the same step) unless
    ``booked`` has it already, then its charge in its request's account; the warnings."""
    earlier = booked.get(job["job_id"])
    warnings = []
    if earlier is None:
        line["batch_id"] = batch_id
        warnings.append(ledger.write(line, release=entry.get("reservation")))
    charged = ledger.charged(earlier or line)
    warnings.append(close(dirs, job["request_id"], entry.get("request_hold"), charged, key=key))
    return warnings
