"""The spending guard: refuse a paid call that a limit forbids, before anything is sent.

:func:`check` raises :class:`~imagegen.errors.BudgetError` (exit 5, ``error_kind: "budget"``) when
the estimate exceeds ``--max-cost`` or when today's spending plus the estimate would pass
``$IMAGEGEN_DAILY_BUDGET_USD``. Concurrent runs cannot share the same room: each call
:func:`reserve` s its estimate under the ledger's lock before it is sent, and every check counts
the reservations of calls in flight as spent (``spending.reservations``).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .. import config
from ..costs import finite_amount
from ..errors import BudgetError
from ..record import Record
from .ledger import booking, committed_today, today

EPSILON = 1e-9


class Spend(Record):
    """Who is paying for a call: the script, the caller's request id (and queue job id), and its ceiling."""

    script: str
    request_id: str | None = None
    max_cost: float | None = None
    job_id: str | None = None

    @classmethod
    def default(cls) -> Spend:
        return cls(Path(sys.argv[0]).name or "image-gen")


# -- the guard --------------------------------------------------------------------------------

def _next_midnight() -> str:
    tomorrow = datetime.combine(today() + timedelta(days=1), datetime.min.time()).astimezone()
    return tomorrow.isoformat(timespec="seconds")


def daily_refuses(spent: float, estimate_usd: float | None, budget: float) -> bool:
    """Whether a call of ``estimate_usd`` (None: unknown, counted as 0) would pass today's budget."""
    return spent + (estimate_usd or 0.0) > budget + EPSILON or (estimate_usd is None and spent >= budget)


def check(estimate_usd: float | None, max_cost: float | None = None, *, model: str | None = None,
          count: int = 1, daily: bool = True) -> dict[str, Any]:
    """Raise BudgetError before a call that a limit forbids; return the limits that were checked.

    ``estimate_usd`` covers the whole run (all ``count`` images). An unknown estimate fails
    ``--max-cost`` (it cannot be shown to fit) and counts as 0 against the daily budget.
    ``daily=False`` checks ``max_cost`` alone (a queue accepts a job the day's budget defers).
    """
    estimate_usd = finite_amount(estimate_usd)  # an estimate that is no number is unknown, not "fits anything"
    what = f"{count} image{'s' if count != 1 else ''} on {model}" if model else "this run"
    state: dict[str, Any] = {"estimate_usd": estimate_usd}
    if max_cost is not None:
        state["max_cost_usd"] = max_cost
        if estimate_usd is None:
            raise BudgetError(
                f"--max-cost {max_cost:g} was given but the price of {what} is unknown",
                details="run models.py --refresh to learn live prices, choose a model with a known price, "
                        "or drop --max-cost",
                extra={"limit": "max_cost", "max_cost_usd": max_cost, "estimate_usd": None},
            )
        if estimate_usd > max_cost + EPSILON:
            raise BudgetError(
                f"estimated cost ${estimate_usd:.4f} for {what} exceeds --max-cost {max_cost:g}",
                details="raise --max-cost, lower --size or --n, or pick a cheaper model (models.py --table)",
                extra={"limit": "max_cost", "max_cost_usd": max_cost, "estimate_usd": estimate_usd},
            )
    budget = config.daily_budget_usd() if daily else None
    if budget is not None:
        spent, held = committed_today()
        state.update({"daily_budget_usd": budget, "spent_today_usd": spent,
                      "remaining_today_usd": round(max(0.0, budget - spent - held), 6)})
        if held:
            state["reserved_today_usd"] = held
        if daily_refuses(spent + held, estimate_usd, budget):
            raise daily_refusal(spent, held, estimate_usd, budget, "this run")
    return state


def daily_refusal(spent: float, held: float, estimate_usd: float | None, budget: float, what: str) -> BudgetError:
    in_flight = f" and ${held:.4f} is held by calls in flight" if held else ""
    extra = {"limit": "daily_budget", "daily_budget_usd": budget, "spent_today_usd": spent,
             "estimate_usd": estimate_usd, "budget_resets_at": _next_midnight()}
    if held:
        extra["reserved_today_usd"] = held
    return BudgetError(
        f"daily budget reached: spent ${spent:.4f} today{in_flight}, {what} would add "
        f"${(estimate_usd or 0):.4f}, IMAGEGEN_DAILY_BUDGET_USD is {budget:g}",
        details="wait for the budget to reset at local midnight, raise IMAGEGEN_DAILY_BUDGET_USD, "
                "or see spend.py --since today",
        retryable=True,
        extra=extra,
    )


def resets_at(error: BudgetError) -> float | None:
    """When the daily budget that refused ``error`` resets (epoch seconds), or None when it does not say."""
    moment = error.extra.get("budget_resets_at")
    try:
        return datetime.fromisoformat(moment).timestamp() if isinstance(moment, str) else None
    except ValueError:
        return None


def reserve(estimate_usd: float | None, *, seconds: float, what: str = "this call",
            detached: bool = False) -> str | None:
    """Hold ``estimate_usd`` of today's budget for a call about to be sent (its id, to settle it with
    the call's ledger line), or BudgetError when spending and the calls in flight leave no room.
    ``detached``: held by a provider batch, not by this process (see ``reservations.new``).
    None when there is no daily budget (or the ledger cannot be written: its warning comes later)."""
    budget = config.daily_budget_usd()
    if budget is None:
        return None
    estimate = finite_amount(estimate_usd)
    try:
        with booking() as book:
            spent, held = book.spent_today(), book.held()
            if daily_refuses(spent + held, estimate, budget):
                raise daily_refusal(spent, held, estimate, budget, what)
            return book.hold(estimate or 0.0, seconds, detached=detached)
    except OSError:
        return None
