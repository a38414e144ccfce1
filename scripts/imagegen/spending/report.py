"""Totals over the spending ledger: by day, model, script and request id, and as a table."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from . import ledger
from ..costs import plausible_cost
from ..errors import UsageError

_DAYS = re.compile(r"^(\d{1,4})d$")
# Ledger lines that record a batch's bookkeeping, not a call that made (or tried to make) an image:
# a job handed to a batch (its result comes as a line of its own) and a job its batch never answered.
NOT_CALLS = frozenset({"batch_submitted", "batch_cancelled", "batch_expired", "batch_failed", "batch_unanswered"})


def parse_day(text: str, *, flag: str = "--since") -> date:
    """``YYYY-MM-DD``, ``today``, ``yesterday`` or ``Nd`` (the last N days, today included)."""
    value = text.strip().lower()
    today = ledger.today()
    if value == "today":
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    match = _DAYS.match(value)
    if match and int(match[1]) >= 1:
        return today - timedelta(days=int(match[1]) - 1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise UsageError(f"{flag}: cannot read {text!r} as a day",
                         details="use YYYY-MM-DD, today, yesterday or Nd (e.g. 7d for the last seven days)") from None


def is_call(entry: dict[str, Any]) -> bool:
    """Whether a ledger line is a call to count (not a batch's bookkeeping)."""
    return entry.get("outcome") not in NOT_CALLS


def _bucket(table: dict[Any, dict[str, Any]], key: Any, label: str, entry: dict[str, Any], cost: float) -> None:
    row = table.setdefault(key, {label: key, "calls": 0, "images": 0, "cost_usd": 0.0, "estimated_calls": 0})
    row["calls"] += is_call(entry)
    images = entry.get("images")
    row["images"] += images if isinstance(images, int) and not isinstance(images, bool) else 0
    row["cost_usd"] += cost
    if plausible_cost(entry.get("cost_usd")) is None and cost:
        row["estimated_calls"] += 1


def _rows(table: dict[Any, dict[str, Any]], *, by_cost: bool) -> list[dict[str, Any]]:
    rows = list(table.values())
    for row in rows:
        row["cost_usd"] = round(row["cost_usd"], 6)
    if by_cost:
        return sorted(rows, key=lambda r: (-r["cost_usd"], str(next(iter(r.values())))))
    return sorted(rows, key=lambda r: str(next(iter(r.values()))))


def summarise(entries: list[dict[str, Any]], *, since: date | None = None, until: date | None = None,
              request_id: str | None = None) -> dict[str, Any]:
    """Totals for the entries between ``since`` and ``until`` (both days included)."""
    days: dict[Any, dict[str, Any]] = {}
    models: dict[Any, dict[str, Any]] = {}
    scripts: dict[Any, dict[str, Any]] = {}
    requests: dict[Any, dict[str, Any]] = {}
    outcomes: dict[str, int] = {}
    total = reported = 0.0
    calls = estimated = 0
    for entry in entries:
        moment = ledger.entry_time(entry)
        if moment is None:
            continue
        day = moment.date()
        if (since and day < since) or (until and day > until):
            continue
        if request_id is not None and entry.get("request_id") != request_id:
            continue
        cost = ledger.charged(entry)
        calls += is_call(entry)
        total += cost
        reported_cost = plausible_cost(entry.get("cost_usd"))
        if reported_cost is not None:
            reported += reported_cost
        elif cost:
            estimated += 1
        outcome = str(entry.get("outcome") or "unknown")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        _bucket(days, day.isoformat(), "day", entry, cost)
        _bucket(models, str(entry.get("model") or "unknown"), "model", entry, cost)
        _bucket(scripts, str(entry.get("script") or "unknown"), "script", entry, cost)
        _bucket(requests, entry.get("request_id"), "request_id", entry, cost)
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "request_id": request_id,
        "calls": calls,
        "cost_usd": round(total, 6),
        "reported_cost_usd": round(reported, 6),
        "estimated_calls": estimated,
        "outcomes": dict(sorted(outcomes.items())),
        "by_day": _rows(days, by_cost=False),
        "by_model": _rows(models, by_cost=True),
        "by_script": _rows(scripts, by_cost=True),
        "by_request_id": _rows(requests, by_cost=True),
    }


def today_status(entries: list[dict[str, Any]], budget: float | None) -> dict[str, Any]:
    spent = ledger.spent_on(ledger.today(), entries)
    return {
        "day": ledger.today().isoformat(),
        "cost_usd": spent,
        "daily_budget_usd": budget,
        "remaining_usd": None if budget is None else round(max(0.0, budget - spent), 6),
    }


def _section(title: str, key: str, rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    labels = [("(none)" if row[key] is None else str(row[key])) for row in rows]
    width = max(len(title), *(len(label) for label in labels))
    lines = [f"{title.upper().ljust(width)}  {'CALLS':>5}  {'IMAGES':>6}  {'COST USD':>10}"]
    for label, row in zip(labels, rows):
        mark = "*" if row["estimated_calls"] else " "
        lines.append(f"{label.ljust(width)}  {row['calls']:>5}  {row['images']:>6}  {row['cost_usd']:>10.4f}{mark}")
    return lines + [""]


def table(report: dict[str, Any]) -> str:
    """The report for a terminal; ``*`` marks totals that include estimates."""
    period = f"{report['since'] or 'the beginning'} to {report['until'] or 'today'}"
    lines = [f"Spending from {period}: {report['calls']} calls, ${report['cost_usd']:.4f}", ""]
    lines += _section("day", "day", report["by_day"])
    lines += _section("model", "model", report["by_model"])
    lines += _section("script", "script", report["by_script"])
    lines += _section("request id", "request_id", report["by_request_id"])
    today = report["today"]
    budget = today["daily_budget_usd"]
    lines.append(f"Today ({today['day']}): ${today['cost_usd']:.4f}"
                 + (f" of ${budget:g} daily budget, ${today['remaining_usd']:.4f} left" if budget is not None else
                    " (no IMAGEGEN_DAILY_BUDGET_USD set)"))
    if report["estimated_calls"]:
        lines.append(f"* includes estimates for {report['estimated_calls']} calls without a reported cost")
    if report["skipped_lines"]:
        lines.append(f"{report['skipped_lines']} damaged ledger lines were skipped")
    lines.append(f"Ledger: {report['ledger']}")
    return "\n".join(lines) + "\n"
