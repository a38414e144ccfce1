"""Totals over the spending ledger: by day, model, script and request id, and as a table.

Totals are taken as the entries stream past (``ledger.streamed``): memory follows the number of
distinct days, models, scripts and request ids, never the number of lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from ..costs import plausible_cost
from ..errors import UsageError
from . import ledger

_DAYS = re.compile(r"^(\d{1,4})d\Z")
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


_CALLS, _IMAGES, _COST, _ESTIMATED = range(4)


def _bucket(table: dict[Any, list[Any]], key: Any, entry: dict[str, Any], cost: float, estimated: bool) -> None:
    row = table.get(key)
    if row is None:
        row = table[key] = [0, 0, 0.0, 0]  # a short list per key, not a dict: spend.py streams a million lines
    row[_CALLS] += is_call(entry)
    images = entry.get("images")
    row[_IMAGES] += images if isinstance(images, int) and not isinstance(images, bool) and images > 0 else 0
    row[_COST] += cost
    row[_ESTIMATED] += estimated


def _rows(table: dict[Any, list[Any]], label: str, *, by_cost: bool) -> list[dict[str, Any]]:
    rows = [{label: key, "calls": row[_CALLS], "images": row[_IMAGES], "cost_usd": round(row[_COST], 6),
             "estimated_calls": row[_ESTIMATED]} for key, row in table.items()]
    if by_cost:
        return sorted(rows, key=lambda r: (-r["cost_usd"], str(r[label])))
    return sorted(rows, key=lambda r: str(r[label]))


def _label(value: Any, limit: int = 200) -> str:
    """A model or script name as a table key: a string, cut short (a hostile line cannot make it huge)."""
    return str(value or "unknown")[:limit]


def summarise(entries: Iterable[dict[str, Any]], *, since: date | None = None, until: date | None = None,
              request_id: str | None = None) -> dict[str, Any]:
    """Totals for the entries between ``since`` and ``until`` (both days included), read as they pass."""
    days: dict[Any, list[Any]] = {}
    models: dict[Any, list[Any]] = {}
    scripts: dict[Any, list[Any]] = {}
    requests: dict[Any, list[Any]] = {}
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
        guessed = reported_cost is None and bool(cost)
        estimated += guessed
        outcome = _label(entry.get("outcome"), 40)
        if outcome in outcomes or len(outcomes) < 100:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        request = entry.get("request_id")
        _bucket(days, day.isoformat(), entry, cost, guessed)
        _bucket(models, _label(entry.get("model")), entry, cost, guessed)
        _bucket(scripts, _label(entry.get("script")), entry, cost, guessed)
        _bucket(requests, request[:200] if isinstance(request, str) else None, entry, cost, guessed)
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "request_id": request_id,
        "calls": calls,
        "cost_usd": round(total, 6),
        "reported_cost_usd": round(reported, 6),
        "estimated_calls": estimated,
        "outcomes": dict(sorted(outcomes.items())),
        "by_day": _rows(days, "day", by_cost=False),
        "by_model": _rows(models, "model", by_cost=True),
        "by_script": _rows(scripts, "script", by_cost=True),
        "by_request_id": _rows(requests, "request_id", by_cost=True),
    }


def today_status(budget: float | None, spent: float | None = None) -> dict[str, Any]:
    """Today's spending against the daily budget (``spent`` None: read from the ledger's recent end)."""
    day = ledger.today()
    spent = ledger.spent_on(day) if spent is None else spent
    return {
        "day": day.isoformat(),
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
    for label, row in zip(labels, rows, strict=True):
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


def spend_report(since_text: str | None = None, until_text: str | None = None,
                 request_id: str | None = None) -> dict[str, Any]:
    """What spend.py reports: the ledger's totals between two days (YYYY-MM-DD, today, yesterday or
    Nd), for one request id or all, with today's total against the daily budget."""
    from .. import config

    since = parse_day(since_text, flag="--since") if since_text else None
    until = parse_day(until_text, flag="--until") if until_text else None
    if since and until and since > until:
        raise UsageError(f"--since {since} is after --until {until}", details="swap them")
    with ledger.streamed() as (entries, reading):  # one line in memory at a time, at any ledger size
        report = summarise(entries, since=since, until=until, request_id=request_id)
    report["today"] = today_status(config.daily_budget_usd())
    report["ledger"] = str(config.ledger_path())
    report["skipped_lines"] = reading.bad
    return report
