"""A batch job's share of its request's ``--max-cost`` (``spending.request_budget``).

A job of a capped request holds its batch estimate from planning until its batch is collected;
then the charge its ledger line counts is spent and the hold closed, in the step after the line
is written. A hold closes once: a collection taken up again after a kill never counts a job twice.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from ..errors import ImageGenError
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
