"""Spending: the guard that refuses a paid call over a limit, and the ledger every paid call joins.

* :func:`check` runs before anything is sent. It raises :class:`~imagegen.errors.BudgetError`
  (exit 5, ``error_kind: "budget"``) when the estimate exceeds ``--max-cost`` or when today's
  spending plus the estimate would pass ``$IMAGEGEN_DAILY_BUDGET_USD``.
* :func:`record` appends one JSON line per call the provider received to the ledger
  (``$IMAGEGEN_LEDGER``, default under the user's state directory). Each line is one ``write`` on
  an ``O_APPEND`` descriptor under an exclusive ``flock``, so concurrent workers never interleave.

"Today" is the local calendar day. Concurrent workers that pass the daily check at the same moment
can each spend one call's worth beyond the budget; the next check sees their lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable, TypeVar

from .. import config
from ..fsutil import now_iso
from ..errors import BudgetError, ConfigError, ImageGenError

EPSILON = 1e-9
CHARGED_OUTCOMES = ("success", "charge_unknown")
T = TypeVar("T")


@dataclass
class Spend:
    """Who is paying for a call: the script, the caller's request id (and queue job id), and its ceiling."""

    script: str
    request_id: str | None = None
    max_cost: float | None = None
    job_id: str | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace, script: str) -> Spend:
        return cls(script, getattr(args, "request_id", None), getattr(args, "max_cost", None))

    @classmethod
    def default(cls) -> Spend:
        return cls(Path(sys.argv[0]).name or "image-gen")


# -- the ledger -------------------------------------------------------------------------------

@contextmanager
def _locked(fd: int, exclusive: bool) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no flock on this platform: O_APPEND single writes still hold
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def append(entry: dict[str, Any], path: Path | None = None) -> Path:
    """Append ``entry`` as one line; OSError when the ledger cannot be written."""
    path = path or config.ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        with _locked(fd, exclusive=True):
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write to {path} ({written} of {len(line)} bytes)")
            os.fsync(fd)
    finally:
        os.close(fd)
    return path


def record(*, script: str, model: str, request_id: str | None = None, estimate: float | None = None,
           cost: float | None = None, outcome: str = "success", generation_id: str | None = None,
           error_kind: str | None = None, images: int | None = None, job_id: str | None = None) -> str | None:
    """Add one paid call to the ledger. Returns a warning instead of failing the run when it cannot."""
    entry = {
        "time": now_iso(),
        "script": script,
        "model": model,
        "request_id": request_id,
        "job_id": job_id,
        "generation_id": generation_id,
        "estimate_usd": estimate,
        "cost_usd": cost,
        "outcome": outcome,
        "error_kind": error_kind,
        "images": images,
    }
    try:
        append(entry)
    except OSError as error:
        return (f"the spending ledger {config.ledger_path()} could not be written ({error.strerror or error}); "
                "this call is missing from spend.py totals and the daily budget")
    return None


def record_call(spend: Spend, model: str, estimate: float | None, *, reply: Any = None,
                error: ImageGenError | None = None) -> str | None:
    """Record one call from its reply or its error; calls that never reached the provider are skipped."""
    if reply is not None:
        return record(script=spend.script, model=model, request_id=spend.request_id, estimate=estimate,
                      cost=reply.cost_usd, outcome="success", generation_id=reply.generation_id,
                      images=len(reply.images), job_id=spend.job_id)
    assert error is not None
    cost = error.extra.get("cost_usd")
    if error.extra.get("charge_unknown"):
        outcome = "charge_unknown"
    elif getattr(error, "status", None) is not None or cost is not None or error.kind == "no_image":
        outcome = "error"
    else:
        return None  # the request never reached the provider: nothing to pay
    return record(script=spend.script, model=model, request_id=spend.request_id, estimate=estimate,
                  cost=cost if isinstance(cost, (int, float)) else None, outcome=outcome,
                  generation_id=error.extra.get("generation_id"), error_kind=error.kind, job_id=spend.job_id)


class CallRecorder:
    """Puts every provider call of one run in the ledger and keeps the warnings of a failed write."""

    def __init__(self, spend: Spend, model: str, estimate_each: float | None) -> None:
        self.spend, self.model, self.estimate_each = spend, model, estimate_each
        self.warnings: list[str] = []

    def call(self, send: Callable[[], T]) -> T:
        """Run ``send`` (one request to the provider) and record its reply or its error."""
        try:
            reply = send()
        except ImageGenError as error:
            self._note(record_call(self.spend, self.model, self.estimate_each, error=error))
            raise
        self._note(record_call(self.spend, self.model, self.estimate_each, reply=reply))
        return reply

    def _note(self, warning: str | None) -> None:
        if warning and warning not in self.warnings:
            self.warnings.append(warning)


def read_entries(path: Path | None = None) -> tuple[list[dict[str, Any]], int]:
    """Every ledger entry, oldest first, and how many lines could not be parsed."""
    path = path or config.ledger_path()
    try:
        with open(path, "rb") as handle, _locked(handle.fileno(), exclusive=False):
            data = handle.read()
    except FileNotFoundError:
        return [], 0
    except OSError as error:
        raise ConfigError(f"cannot read the spending ledger {path}: {error.strerror or error}",
                          details="fix its permissions, or point IMAGEGEN_LEDGER at a file you can read") from None
    entries: list[dict[str, Any]] = []
    bad = 0
    for raw in data.splitlines():
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            bad += 1
            continue
        if isinstance(entry, dict) and entry_time(entry) is not None:
            entries.append(entry)
        else:
            bad += 1
    return entries, bad


def entry_time(entry: dict[str, Any]) -> datetime | None:
    value = entry.get("time")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    return moment.astimezone()  # naive times are taken as local


def charged(entry: dict[str, Any]) -> float:
    """What a ledger line costs: the reported cost, else the estimate when the call may have been billed."""
    cost = entry.get("cost_usd")
    if isinstance(cost, (int, float)) and not isinstance(cost, bool):
        return float(cost)
    estimate = entry.get("estimate_usd")
    if entry.get("outcome") in CHARGED_OUTCOMES and isinstance(estimate, (int, float)):
        return float(estimate)
    return 0.0


def today() -> date:
    return datetime.now().astimezone().date()


def spent_on(day: date, entries: list[dict[str, Any]] | None = None) -> float:
    if entries is None:
        entries, _ = read_entries()
    total = sum(charged(e) for e in entries if (moment := entry_time(e)) is not None and moment.date() == day)
    return round(total, 6)


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
        spent = spent_on(today())
        state.update({"daily_budget_usd": budget, "spent_today_usd": spent,
                      "remaining_today_usd": round(max(0.0, budget - spent), 6)})
        if daily_refuses(spent, estimate_usd, budget):
            raise BudgetError(
                f"daily budget reached: spent ${spent:.4f} today, this run would add "
                f"${(estimate_usd or 0):.4f}, IMAGEGEN_DAILY_BUDGET_USD is {budget:g}",
                details="wait for the budget to reset at local midnight, raise IMAGEGEN_DAILY_BUDGET_USD, "
                        "or see spend.py --since today",
                retryable=True,
                extra={"limit": "daily_budget", "daily_budget_usd": budget, "spent_today_usd": spent,
                       "estimate_usd": estimate_usd, "budget_resets_at": _next_midnight()},
            )
    return state
