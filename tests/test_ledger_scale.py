"""The ledger at any size and in any state: a torn last line, a line nested thousands deep, a
100,000-line history that a budget check must not read, and spend.py streaming a long ledger."""

from __future__ import annotations

import json
import os
import tracemalloc
from datetime import datetime, timedelta

import pytest

from imagegen.commands import spend
from imagegen.spending import guard, report, reservations
from imagegen.spending import ledger as ledgers
from imagegen.spending import lines as ledger_lines
from tests.conftest import assert_one_json
from tests.test_spending import ledger_file, read_entries, seed_ledger, spent_entry
from tests.test_spending import ledger_lines as read_lines


def old_history(count: int, days_ago: int = 30) -> bytes:
    """``count`` lines as spend.py would find them a month back, each of a realistic size."""
    moment = (datetime.now() - timedelta(days=days_ago)).astimezone().isoformat(timespec="seconds")
    line = json.dumps(spent_entry(0.01, generation_id="gen-" + "x" * 40, images=1) | {"time": moment})
    return ((line + "\n") * count).encode()


# -- a torn last line ---------------------------------------------------------------------------

@pytest.mark.subprocess  # exit status 5 from a real process
def test_a_torn_last_line_is_ended_before_the_next_paid_line(run, fake, env):
    path = ledger_file(env)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(spent_entry(0.04)))  # a whole line whose newline never reached the disk
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0.1"}
    paid = run("generate.py", "--prompt", "A fox", "--size", "1K", env_extra=budget)
    assert paid.code == 0 and json.loads(paid.stdout)["warnings"] == [], paid.stdout
    lines = read_lines(path)  # every line parses: the paid line was not glued to the torn one
    assert [line["cost_usd"] for line in lines] == [0.04, 0.04]
    refused = run("generate.py", "--prompt", "A fox", "--size", "1K", env_extra=budget)
    doc = assert_one_json(refused)
    assert refused.code == 5 and doc["limit"] == "daily_budget" and doc["spent_today_usd"] == 0.08
    assert len(fake.requests_for("chat")) == 1


def test_a_torn_fragment_stays_a_damaged_line_of_its_own(ledger):
    seed_ledger(ledger, spent_entry(0.5))
    with ledger.open("a") as handle:
        handle.write('{"time": "2026-')  # a write cut short
    ledgers.append(spent_entry(0.25))
    entries, bad = read_entries()
    assert [e["cost_usd"] for e in entries] == [0.5, 0.25] and bad == 1
    assert ledger.read_bytes().endswith(b"}\n") and ledger.read_bytes().count(b"\n") == 3


def test_appends_to_a_whole_ledger_add_no_blank_lines(ledger):
    ledgers.append(spent_entry(0.1))
    ledgers.append(spent_entry(0.2))
    assert b"\n\n" not in ledger.read_bytes()


# -- hostile lines ------------------------------------------------------------------------------

DEEP = b'{"time": "' + datetime.now().astimezone().isoformat().encode() + b'", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"


def test_a_line_nested_thousands_deep_is_skipped_by_the_budget_and_spend(ledger, monkeypatch, capsys):
    seed_ledger(ledger, spent_entry(0.5))
    with ledger.open("ab") as handle:
        handle.write(DEEP + b"\n" + b"[" * 100_000 + b"\n")
    seed_ledger(ledger, spent_entry(0.25))
    monkeypatch.setenv("IMAGEGEN_DAILY_BUDGET_USD", "1")
    assert ledgers.committed_today()[0] == 0.75
    assert "2 damaged line(s)" in capsys.readouterr().err  # the budgeted run says what it skipped, once
    assert ledgers.committed_today()[0] == 0.75 and capsys.readouterr().err == ""
    with pytest.raises(Exception) as refused:
        guard.check(0.5)
    assert refused.value.extra["spent_today_usd"] == 0.75
    assert spend.main([]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cost_usd"] == 0.75 and doc["skipped_lines"] == 2 and doc["today"]["cost_usd"] == 0.75
    assert spend.main(["--table"]) == 0
    assert "2 damaged ledger lines were skipped" in capsys.readouterr().out


def test_a_deep_reservation_line_is_stale_not_a_crash(ledger, monkeypatch):
    monkeypatch.setenv("IMAGEGEN_DAILY_BUDGET_USD", "1")
    reservations.path_for(ledger).write_bytes(b"[" * 5000 + b"]" * 5000 + b"\n")
    assert guard.check(0.5)["spent_today_usd"] == 0.0
    assert guard.reserve(0.5, seconds=60) is not None


def test_an_overlong_line_is_damaged_whichever_way_it_is_read(ledger):
    seed_ledger(ledger, spent_entry(0.5))
    with ledger.open("ab") as handle:
        handle.write(b'{"time": "' + b"9" * (3 * ledger_lines.MAX_LINE) + b'"}\n')
    seed_ledger(ledger, spent_entry(0.25))
    entries, bad = read_entries()
    assert [e["cost_usd"] for e in entries] == [0.5, 0.25] and bad == 1
    recent = ledgers.read_recent(ledgers.today())
    assert [e["cost_usd"] for e in recent.entries] == [0.5, 0.25] and recent.bad == 1


# -- size -----------------------------------------------------------------------------------------

def test_a_budget_check_reads_the_recent_end_of_a_100k_line_ledger(ledger):
    history = old_history(100_000)
    ledger.write_bytes(history)
    seed_ledger(ledger, spent_entry(0.5, datetime.now() - timedelta(days=1)), spent_entry(0.25))
    with open(ledger, "rb") as handle:
        recent = ledger_lines.read_recent(handle.fileno(), ledgers.today())
    assert len(history) > 20_000_000
    # What the check costs: the window's lines, the run of older lines that ends the reading, and
    # one block: not the history.
    assert recent.lines_parsed == 2
    assert recent.bytes_read <= 2 * ledger_lines.BLOCK
    assert ledgers.spent_on(ledgers.today(), recent.entries) == 0.25
    with open(ledger, "rb") as handle:  # the same check on an empty history reads as many lines
        ledger.write_bytes(b"")
        seed_ledger(ledger, spent_entry(0.5, datetime.now() - timedelta(days=1)), spent_entry(0.25))
        assert ledger_lines.read_recent(handle.fileno(), ledgers.today()).lines_parsed == 2


def test_an_old_line_pasted_among_todays_does_not_end_the_reading(ledger):
    ledger.write_bytes(old_history(500))
    seed_ledger(ledger, spent_entry(0.5), spent_entry(9.0, datetime.now() - timedelta(days=40)), spent_entry(0.25))
    assert ledgers.committed_today()[0] == 0.75


def test_lines_without_their_time_first_are_still_counted(ledger):
    ledger.write_bytes(old_history(300))
    entry = spent_entry(0.5)
    seed_ledger(ledger, {"outcome": entry.pop("outcome"), **entry})
    assert ledgers.committed_today()[0] == 0.5


def _peak_of_spend(path, count: int) -> int:
    path.write_bytes(old_history(count))
    tracemalloc.start()
    try:
        with ledgers.streamed() as (entries, reading):
            totals = report.summarise(entries)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        assert totals["calls"] == count and reading.bad == 0


def test_spend_streams_in_flat_memory(ledger):
    small, large = _peak_of_spend(ledger, 1_000), _peak_of_spend(ledger, 20_000)
    assert large < small + 256 * 1024  # 20x the lines, about the same memory (a list would hold 50 MB)


def test_spend_does_not_keep_the_reader_waiting(ledger):
    """Lines appended while spend.py reads are left for the next reading, not half read."""
    seed_ledger(ledger, spent_entry(0.5))
    with ledgers.streamed() as (entries, _):
        ledgers.append(spent_entry(0.25))  # would block forever if the shared lock were still held
        assert [e["cost_usd"] for e in entries] == [0.5]
    assert os.path.getsize(ledger) > 0
