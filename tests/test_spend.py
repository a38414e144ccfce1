"""spend.py: totals over the ledger, real calls included."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from imagegen.errors import UsageError
from imagegen.spending import ledger, report
from tests.conftest import assert_one_json
from tests.test_spending import ledger_file, seed_ledger, spent_entry


def days_ago(n: int) -> datetime:
    return datetime.now() - timedelta(days=n)


@pytest.fixture
def seeded(env):
    seed_ledger(
        ledger_file(env),
        spent_entry(0.10, days_ago(10), request_id="old", model="openai/gpt-5-image", images=1),
        spent_entry(0.04, days_ago(1), request_id="job-1", images=1),
        spent_entry(0.04, days_ago(1), request_id="job-1", images=1),
        {**spent_entry(0.0), "cost_usd": None, "estimate_usd": 0.03, "outcome": "charge_unknown",
         "request_id": "job-2"},
        {**spent_entry(0.0), "cost_usd": None, "estimate_usd": 0.03, "outcome": "error", "error_kind": "credits"},
    )
    return ledger_file(env)


@pytest.mark.subprocess  # as an agent sees it: a real process, its stdout and exit status
def test_totals_by_day_model_and_request(run, seeded):
    result = run("spend.py")
    doc = assert_one_json(result)
    assert result.code == 0 and doc["ledger"] == str(seeded)
    assert doc["calls"] == 5 and doc["cost_usd"] == 0.21 and doc["reported_cost_usd"] == 0.18
    assert doc["estimated_calls"] == 1
    assert doc["outcomes"] == {"charge_unknown": 1, "error": 1, "success": 3}
    assert [row["day"] for row in doc["by_day"]] == [days_ago(10).date().isoformat(),
                                                     days_ago(1).date().isoformat(), date.today().isoformat()]
    assert [(r["model"], r["cost_usd"]) for r in doc["by_model"]] == [
        ("black-forest-labs/flux.2-pro", 0.11), ("openai/gpt-5-image", 0.1)]
    models = {r["model"]: r for r in doc["by_model"]}
    assert models["black-forest-labs/flux.2-pro"]["cost_usd"] == 0.11
    assert models["black-forest-labs/flux.2-pro"]["calls"] == 4
    requests = {r["request_id"]: r for r in doc["by_request_id"]}
    assert requests["job-1"] == {"request_id": "job-1", "calls": 2, "images": 2, "cost_usd": 0.08, "estimated_calls": 0}
    assert requests["job-2"]["estimated_calls"] == 1 and requests[None]["cost_usd"] == 0.0
    assert doc["today"] == {"day": date.today().isoformat(), "cost_usd": 0.03, "daily_budget_usd": None,
                            "remaining_usd": None}


@pytest.mark.parametrize("since, calls", [("7d", 4), ("yesterday", 4), ("today", 2), ("1d", 2),
                                          (days_ago(30).date().isoformat(), 5)])
def test_since(run, seeded, since, calls):
    doc = assert_one_json(run("spend.py", "--since", since))
    assert doc["calls"] == calls and doc["since"] == report.parse_day(since).isoformat()


def test_until_and_request_filter(run, seeded):
    doc = assert_one_json(run("spend.py", "--until", "yesterday", "--request-id", "job-1"))
    assert doc["calls"] == 2 and doc["cost_usd"] == 0.08 and doc["request_id"] == "job-1"


@pytest.mark.subprocess
def test_table_and_budget(run, seeded):
    result = run("spend.py", "--table", "--since", "7d", env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "1"})
    assert result.code == 0 and not result.stdout.startswith("{")
    assert "4 calls, $0.1100" in result.stdout
    assert "job-1" in result.stdout and "(none)" in result.stdout
    assert "of $1 daily budget, $0.9700 left" in result.stdout
    assert "includes estimates for 1 calls" in result.stdout


@pytest.mark.parametrize("args, fragment", [(["--since", "last week"], "--since"), (["--until", "0d"], "--until"),
                                            (["--since", "today", "--until", "yesterday"], "after")])
def test_bad_days_are_usage_errors(run, args, fragment):
    result = run("spend.py", *args)
    doc = assert_one_json(result)
    assert result.code == 2 and fragment in doc["error"]


def test_empty_or_missing_ledger(run):
    doc = assert_one_json(run("spend.py", "--since", "today"))
    assert doc["calls"] == 0 and doc["by_day"] == [] and doc["skipped_lines"] == 0


def test_real_calls_are_totalled(run, fake):
    for request_id in ("a", "a", "b"):
        result = run("generate.py", "--prompt", "x", "--size", "1K", "--request-id", request_id)
        assert result.code == 0 and result.json["warnings"] == []
    doc = assert_one_json(run("spend.py", "--since", "today"))
    assert doc["calls"] == 3 and doc["cost_usd"] == 0.12
    assert {r["request_id"]: r["calls"] for r in doc["by_request_id"]} == {"a": 2, "b": 1}
    assert doc["by_script"] == [{"script": "generate.py", "calls": 3, "images": 3, "cost_usd": 0.12,
                                 "estimated_calls": 0}]


def test_parse_day_forms(monkeypatch):
    monkeypatch.setattr(ledger, "today", lambda: date(2026, 3, 10))
    assert report.parse_day("today") == date(2026, 3, 10)
    assert report.parse_day("Yesterday") == date(2026, 3, 9)
    assert report.parse_day("7d") == date(2026, 3, 4)
    assert report.parse_day("2026-01-02") == date(2026, 1, 2)
    assert report.parse_day("2026-01-02T23:00:00") == date(2026, 1, 2)
    with pytest.raises(UsageError):
        report.parse_day("0d")


def test_a_batchs_bookkeeping_lines_are_not_calls_and_scripts_get_a_table(run, env):
    """A job handed to a batch writes ``batch_submitted`` and, when collected, the call itself; a cancelled
    batch's job writes ``batch_cancelled``: one call made, and two lines that are not calls."""
    batch = {"script": "run_image_queue.py", "model": "google/gemini-3.1-flash-image-preview", "request_id": "b-1"}
    seed_ledger(
        ledger_file(env),
        {**spent_entry(0.0, **batch), "cost_usd": None, "estimate_usd": 0.02, "outcome": "batch_submitted"},
        {**spent_entry(0.02, **batch), "images": 1},
        {**spent_entry(0.0, **batch), "cost_usd": None, "estimate_usd": 0.02, "outcome": "batch_submitted"},
        {**spent_entry(0.0, **batch), "cost_usd": None, "estimate_usd": 0.02, "outcome": "batch_cancelled"},
        spent_entry(0.04, images=1),
    )
    doc = assert_one_json(run("spend.py"))
    assert doc["calls"] == 2 and doc["cost_usd"] == 0.06, doc
    assert doc["outcomes"] == {"batch_cancelled": 1, "batch_submitted": 2, "success": 2}
    scripts = {row["script"]: row for row in doc["by_script"]}
    assert scripts["run_image_queue.py"]["calls"] == 1 and scripts["generate.py"]["calls"] == 1
    assert {row["request_id"]: row["calls"] for row in doc["by_request_id"]} == {"b-1": 1, None: 1}
    table = run("spend.py", "--table").stdout
    assert "SCRIPT" in table and "run_image_queue.py" in table and "2 calls" in table
