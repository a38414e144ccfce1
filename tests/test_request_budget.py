"""The dense logic under a request's budget and learned prices, in process: the account's holds and
charges across threads and dead processes, and the estimate that follows the ledger."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from imagegen.errors import BudgetError
from imagegen.models.registry import Estimate
from imagegen.spending import observed
from imagegen.spending.request_budget import RequestBudget


@pytest.fixture
def account(tmp_path: Path) -> RequestBudget:
    return RequestBudget(tmp_path / "index" / "r" / "budget.json", "r")


def test_a_hold_that_would_pass_the_cap_is_refused_and_charges_count(account):
    assert account.hold("a", 0.3, cap=0.5, key=None, learn_first=False, seconds=60) == 0.3
    with pytest.raises(BudgetError) as refused:
        account.hold("b", 0.3, cap=0.5, key=None, learn_first=False, seconds=60)
    assert refused.value.extra["limit"] == "request_max_cost" and refused.value.extra["held_usd"] == 0.3
    account.charge(0.1)  # the first call was charged less than held
    account.settle("a", key=None)
    assert account.hold("b", 0.3, cap=0.5, key=None, learn_first=False, seconds=60) == 0.3
    assert account.snapshot() == {"max_cost_usd": 0.5, "spent_usd": 0.1, "held_usd": 0.3}


def test_a_hold_left_by_a_dead_process_counts_at_its_estimate(account):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True,
                              text=True).stdout)
    account.hold("mine", 0.2, cap=1.0, key=None, learn_first=False, seconds=60)
    state = json.loads(account.path.read_text())
    state["holds"]["mine"]["pid"] = dead
    account.path.write_text(json.dumps(state))
    assert account.snapshot() == {"max_cost_usd": 1.0, "spent_usd": 0.2, "held_usd": 0.0}


def test_an_expired_hold_frees_its_room(account):
    account.hold("old", 0.4, cap=0.5, key=None, learn_first=False, seconds=-1)
    assert account.hold("new", 0.4, cap=0.5, key=None, learn_first=False, seconds=60) == 0.4


def test_a_price_being_learned_is_sent_by_one_call_at_a_time(account):
    account.hold("first", 0.03, cap=1.0, key="k", learn_first=True, seconds=60)
    held: list[float | None] = []
    waiter = threading.Thread(target=lambda: held.append(
        account.hold("second", 0.03, cap=1.0, key="k", learn_first=True, seconds=60, estimate_now=lambda: 0.1)))
    waiter.start()
    time.sleep(0.5)
    assert held == []  # waiting for the first call's charge
    account.charge(0.1)
    account.settle("first", key="k")
    waiter.join(10)
    assert held == [0.1]  # and held at what the first was charged
    assert account.snapshot()["held_usd"] == 0.1


def test_an_unreadable_account_starts_from_nothing(account):
    account.path.parent.mkdir(parents=True)
    account.path.write_text("{not json")
    assert account.hold("a", 0.1, cap=0.5, key=None, learn_first=False, seconds=60) == 0.1


def write_ledger(path: Path, costs: list[float], size: str = "1024x1024") -> None:
    lines = [{"time": "2026-12-06T10:00:00+00:00", "model": "m", "provider": "openrouter", "size": size,
              "outcome": "success", "cost_usd": cost, "images": 1, "estimate_usd": 0.03} for cost in costs]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


@pytest.fixture
def ledger_path(tmp_path: Path, monkeypatch) -> Path:
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("IMAGEGEN_LEDGER", str(path))
    return path


KEY = observed.PriceKey("openrouter", "m", "1024x1024")
TABLE = Estimate(0.06, "$0.03 per image (built-in price table of 2026-12-01)", False)


def test_recent_charges_that_disagree_with_the_table_become_the_estimate(ledger_path):
    write_ledger(ledger_path, [0.09, 0.1, 0.11])
    corrected = observed.correct(TABLE, KEY, 2)
    assert corrected.usd == 0.2 and corrected.basis.startswith("observed from 3 recent calls: $0.1000 an image")
    assert "the table said $0.0300" in corrected.basis and corrected.guess is False
    assert observed.current(KEY, 0.03, 1) == 0.1


def test_charges_that_agree_with_the_table_leave_it_alone(ledger_path):
    write_ledger(ledger_path, [0.031, 0.029])
    assert observed.correct(TABLE, KEY, 2) is TABLE
    assert observed.confirmed(KEY)


def test_only_the_same_key_counts(ledger_path):
    write_ledger(ledger_path, [0.5], size="2048x2048")
    assert observed.correct(TABLE, KEY, 2) is TABLE and not observed.confirmed(KEY)


def test_a_charge_well_above_its_estimate_is_a_warning():
    assert "3.4x" in observed.well_above(0.102, 0.03)
    assert observed.well_above(0.04, 0.03) is None and observed.well_above(None, 0.03) is None


def test_a_hostile_ledger_line_is_skipped_not_a_crash(ledger_path):
    write_ledger(ledger_path, [0.1])
    with open(ledger_path, "a") as ledger:
        ledger.write('{"time": "2026-12-06T10:00:00+00:00", "size": "1024x1024", "outcome": "success", "x": '
                     + "[" * 5_000 + "\n")
    assert observed.charges(KEY) == [0.1]


def test_calls_a_budget_stops_make_one_warning_and_are_not_counted_as_failed(run, fake):
    from tests.conftest import assert_one_json

    doc = assert_one_json(result := run("generate.py", "--prompt", "A fox", "--n", "10", "--max-cost", "0.2",
                                        "--model", "flux.2-klein"))
    assert result.code == 0 and doc["image_count"] == 5
    assert doc["warnings"] == ["the provider charged $0.0400 for a call estimated at $0.0170 (2.4x); later estimates "
                               "of this model and size use the observed price",
                               "--max-cost stopped this run after 5 of 10 calls; 5 were not sent: --max-cost 0.2 "
                               "stops this run: $0.2000 is spent or in flight, and the next call's estimate $0.0400 "
                               "would pass it"]


def test_an_account_write_killed_midway_leaves_the_account_as_it_was(tmp_path, monkeypatch):
    """The account is replaced whole: a process dying while it writes leaves what was charged, never
    a torn file that would read as nothing spent (and let the request pass its cap)."""
    from imagegen.spending import request_budget
    from imagegen.spending.request_budget import RequestBudget

    account = RequestBudget(tmp_path / "budget.json", "req-1")
    account.hold("h1", 0.10, cap=1.0, key=None, learn_first=False, seconds=60)
    account.charge(0.25)
    before = (tmp_path / "budget.json").read_bytes()

    def killed(path, data, **_):
        (path.parent / ".budget.json.partial").write_bytes(data[: len(data) // 2])
        raise KeyboardInterrupt  # the process stops here

    monkeypatch.setattr(request_budget, "write_atomic", killed)
    with pytest.raises(KeyboardInterrupt):
        account.charge(0.40)
    assert (tmp_path / "budget.json").read_bytes() == before
    assert account.snapshot()["spent_usd"] == pytest.approx(0.25)
