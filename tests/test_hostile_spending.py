"""Hostile spending: costs that are not numbers, and budgets that concurrent calls race for.

The promises (README, "Reliability"): a cost is recorded only when it is a finite, non-negative,
plausible number (else the call counts at its estimate, with a warning); stdout never holds NaN or
Infinity; a call reserves its estimate under the ledger's lock before it is sent, so concurrent
runs and threads cannot all spend the same room; and a run of several calls stops before the call
that would pass --max-cost or the daily budget, given what it has already spent.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imagegen.models.table import RETIRED_NOTES
from tests.conftest import SCRIPTS, assert_one_json
from tests.fake_api import Reply, chat_image_reply, error_reply, make_png
from tests.test_spending import ledger_file, ledger_lines, seed_ledger, spent_entry

FOX = ["generate.py", "--prompt", "A red fox in snow", "--model", "nanobanana", "--output-dir", "out"]
NANOBANANA_ESTIMATE = 0.039


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, as every other JSON parser does."""
    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def with_cost(cost_text: str) -> Reply:
    """A chat reply whose usage.cost is ``cost_text`` written as is (NaN and Infinity are not JSON)."""
    body = chat_image_reply([make_png(8, 8)]).payload().decode()
    assert '"cost": 0.04' in body
    return Reply(body=body.replace('"cost": 0.04', f'"cost": {cost_text}').encode(), content_type="application/json")


# -- 6. costs that are not numbers ---------------------------------------------------------------

@pytest.mark.parametrize("cost", ["NaN", "Infinity", "-Infinity", "-100", "1e999", "250.0", '"0.04"'])
def test_an_implausible_cost_is_recorded_as_unknown_with_a_warning(run, fake, env, cost):
    fake.enqueue("chat", with_cost(cost))
    fake.enqueue("generation", *[error_reply(404, "Generation not found")] * 3)  # no later answer either
    result = run(*FOX)
    assert "Traceback" not in result.stderr
    doc = strict_json(result.stdout)
    assert result.code == 0 and doc["cost_usd"] is None, doc
    shown = cost.strip('"')
    assert doc["warnings"] == [
        RETIRED_NOTES["google/gemini-2.5-flash-image"],  # nanobanana
        "asked for about 2048x2048 but the provider returned 8x8: it is smaller than asked (check the model's "
        "supported sizes, or ask again)",  # the 8x8 image with_cost sends
        "the cost of 1 call(s) is not known yet (the reply did not say and GET /generation had no answer); the "
        "ledger counts them at their estimate",
        f"the provider reported a cost of '{shown}', which is not a plausible price; the call is recorded with an "
        "unknown cost and counted at its estimate $0.0390"]
    (line,) = [strict_json(raw) for raw in ledger_file(env).read_text().splitlines()]
    assert line["cost_usd"] is None and line["estimate_usd"] == NANOBANANA_ESTIMATE
    sidecar = strict_json(Path(doc["sidecar"]).read_text())
    assert sidecar["result"]["cost_usd"] is None


@pytest.mark.parametrize("cost", ["NaN", "-100"])
def test_an_implausible_cost_does_not_open_the_budget(run, fake, env, cost):
    seed_ledger(ledger_file(env), spent_entry(0.05))
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0.1"}  # room for one call at $0.039, not two
    fake.enqueue("chat", with_cost(cost))
    assert run(*FOX, env_extra=budget).code == 0
    refused = run(*FOX, env_extra=budget)
    doc = assert_one_json(refused)
    assert refused.code == 5 and doc["limit"] == "daily_budget" and doc["spent_today_usd"] == 0.089, doc
    assert len(fake.requests_for("chat")) == 1


@pytest.mark.parametrize("cost", [float("nan"), float("inf"), -100.0, 1e6])
def test_old_ledger_lines_with_impossible_costs_count_at_their_estimate(run, fake, env, cost):
    path = ledger_file(env)
    seed_ledger(path, {**spent_entry(0.0), "cost_usd": cost, "estimate_usd": 0.5})
    report = run("spend.py", "--since", "today")
    doc = strict_json(report.stdout)
    assert report.code == 0 and doc["cost_usd"] == 0.5, doc
    refused = run(*FOX, env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "0.5"})
    assert refused.code == 5 and strict_json(refused.stdout)["spent_today_usd"] == 0.5


def test_the_json_writer_refuses_nan_and_a_success_stays_a_success(monkeypatch, capsys):
    """json_text never writes NaN; a success holding one (a paid, saved image) is printed with null
    and a warning, never turned into a failure."""
    from imagegen import contract
    from imagegen.cli import runner
    from imagegen.errors import ImageGenError

    with pytest.raises(ImageGenError) as refused:
        contract.json_text({"cost_usd": math.nan})
    assert refused.value.kind == "internal" and "NaN" in refused.value.message
    parser = runner.new_parser("nan.py", "returns NaN")
    code = runner.run_cli(parser, lambda args, context: {"cost_usd": math.inf}, [])
    doc = strict_json(capsys.readouterr().out)
    assert code == 0 and doc["success"] is True and doc["cost_usd"] is None, doc
    assert "null" in doc["warnings"][0]


# -- 5. budgets race -------------------------------------------------------------------------------

def spawn(env: dict[str, str], workdir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPTS / args[0]), *args[1:]], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def test_concurrent_runs_cannot_all_spend_the_same_room(fake, env, workdir):
    seed_ledger(ledger_file(env), spent_entry(0.10))
    fake.latency = 1.0  # every call is in flight while the others decide
    budget = {**env, "IMAGEGEN_DAILY_BUDGET_USD": "0.2"}  # $0.10 left: room for one $0.075 call
    runs = [spawn(budget, workdir, "generate.py", "--prompt", f"A fox number {i}", "--output-dir", "out")
            for i in range(5)]
    results = [(process.wait(timeout=60), process.stdout.read()) for process in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 5, 5, 5, 5], results
    assert len(fake.requests_for("chat")) == 1
    for code, stdout in results:
        if code == 5:
            assert strict_json(stdout)["limit"] == "daily_budget"


def test_a_worker_at_concurrency_8_starts_only_the_calls_the_budget_has_room_for(run, fake, env, workdir):
    seed_ledger(ledger_file(env), spent_entry(0.10))
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0.31"}  # room for two $0.101 calls (nanobanana-2 at 2K)
    fake.chat_cost = 0.101  # charged as estimated: nothing to learn
    for number in range(8):
        assert run("enqueue_image_job.py", "--prompt", f"A lighthouse number {number}", "--out",
                   f"out/l-{number}.png", "--request-id", "race", "--queue-dir", "q", env_extra=budget).code == 0
    fake.latency = 0.5
    result = run("run_image_queue.py", "--queue-dir", "q", "--concurrency", "8", "--idle-exit-sec", "0.05",
                 env_extra=budget, timeout=60)
    summary = assert_one_json(result)
    assert len(fake.requests_for("chat")) == 2, summary
    assert summary["done"] == 2 and summary["failed"] == 0 and summary["deferred"] >= 6, summary
    assert len(list((workdir / "q" / "pending").glob("*.json"))) == 6  # waiting for the budget, not failed


def test_reservations_are_not_spending_and_do_not_outlive_their_process(run, fake, env, workdir):
    from imagegen.spending import reservations

    path = ledger_file(env)
    seed_ledger(path, spent_entry(0.10))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = [{"id": "crashed", "pid": int(dead.stdout), "usd": 5.0, "expires": time.time() + 3600},
             {"id": "expired", "pid": os.getpid(), "usd": 5.0, "expires": time.time() - 1}]
    held = reservations.path_for(path)
    held.write_text("".join(json.dumps(entry) + "\n" for entry in stale))
    spent = assert_one_json(run("spend.py", "--since", "today"))
    assert spent["cost_usd"] == 0.1 and spent["calls"] == 1
    result = run(*FOX, env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "0.2"})
    assert result.code == 0, result.stdout  # neither stale reservation blocks the budget
    assert held.read_text().strip() == ""  # both were swept; this run's own was settled


# -- 5. a run of several calls stops before the one that would pass a limit ------------------------

def test_a_run_stops_before_the_call_that_would_pass_max_cost(run, fake, env):
    # flux.2-pro at 1K is estimated at $0.03 a call and the fake bills $0.04: five calls fit the
    # estimate (0.15 <= 0.155). The first goes alone and shows the real price; the others are held
    # at $0.04, so after three the fourth would pass --max-cost: the run holds on what was charged.
    result = run("generate.py", "--prompt", "A red fox in snow", "--size", "1K", "--n", "5", "--max-cost", "0.155",
                 "--output-dir", "out")
    doc = assert_one_json(result)
    assert result.code == 0 and doc["image_count"] == 3, doc
    assert len(fake.requests_for("chat")) == 3
    stop = ("--max-cost 0.155 stops this run: $0.1200 is spent or in flight, and the next call's estimate $0.0400 "
            "would pass it")
    assert doc["warnings"] == [f"--max-cost stopped this run after 3 of 5 calls; 2 were not sent: {stop}"]
    assert sum(line["cost_usd"] for line in ledger_lines(ledger_file(env))) == pytest.approx(0.12)


def test_a_run_whose_price_is_far_above_the_table_stays_within_max_cost(run, fake, env):
    """The provider charges 3.4x the table: the first call shows it, and no later call passes the cap."""
    fake.chat_cost = 0.102  # flux.2-pro at 1K: the table says $0.03
    result = run("generate.py", "--prompt", "A red fox in snow", "--size", "1K", "--n", "8", "--max-cost", "0.25",
                 "--output-dir", "out")
    doc = assert_one_json(result)
    spent = sum(line["cost_usd"] for line in ledger_lines(ledger_file(env)))
    assert result.code == 0 and doc["image_count"] == 2 and spent == pytest.approx(0.204), doc
    stop = ("--max-cost 0.25 stops this run: $0.2040 is spent or in flight, and the next call's estimate $0.1020 "
            "would pass it")
    assert doc["warnings"] == ["the provider charged $0.1020 for a call estimated at $0.0300 (3.4x); later estimates "
                               "of this model and size use the observed price",
                               f"--max-cost stopped this run after 2 of 8 calls; 6 were not sent: {stop}"]


def test_a_run_stops_before_the_call_that_would_pass_the_daily_budget(run, fake, env):
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0.155"}
    result = run("generate.py", "--prompt", "A red fox in snow", "--size", "1K", "--n", "5", "--output-dir", "out",
                 env_extra=budget)
    doc = assert_one_json(result)
    assert result.code == 0 and doc["image_count"] == 3, doc
    # How the $0.12 of the three calls splits between spent and still in flight depends on which
    # replies are back when the fourth is weighed: only the total is fixed.
    (warning,) = doc["warnings"]
    stop = re.fullmatch(r"the daily budget stopped this run after 3 of 5 calls; 2 were not sent: daily budget "
                        r"reached: spent \$(\d+\.\d{4}) today(?: and \$(\d+\.\d{4}) is held by calls in flight)?, "
                        r"the next call would add \$0\.0400, IMAGEGEN_DAILY_BUDGET_USD is 0\.155", warning)
    assert stop, warning
    assert float(stop[1]) + float(stop[2] or 0) == pytest.approx(0.12)
    assert len(fake.requests_for("chat")) == 3


def test_a_first_call_without_a_reported_cost_is_looked_up_before_the_others_go(run, fake, env):
    """usage.cost left out (as OpenRouter often does): GET /generation tells the price of the call
    that went alone, and the others are held at it."""
    fake.enqueue("chat", *[chat_image_reply(cost=None) for _ in range(8)])
    fake.enqueue("generation", *[Reply(json={"data": {"total_cost": 0.102}}) for _ in range(8)])
    result = run("generate.py", "--prompt", "A red fox in snow", "--size", "1K", "--n", "8", "--max-cost", "0.25",
                 "--output-dir", "out")
    doc = assert_one_json(result)
    assert result.code == 0 and doc["image_count"] == 2, doc
    assert doc["cost_usd"] == pytest.approx(0.204) and doc["cost_usd_source"] == "generation lookup"
    assert [line["estimate_usd"] for line in ledger_lines(ledger_file(env))] == [0.03, 0.102]
    stop = ("--max-cost 0.25 stops this run: $0.2040 is spent or in flight, and the next call's estimate $0.1020 "
            "would pass it")
    assert doc["warnings"] == [  # the same warning as when the reply states its cost
        "the provider charged $0.1020 for a call estimated at $0.0300 (3.4x); later estimates of this model and size "
        "use the observed price", f"--max-cost stopped this run after 2 of 8 calls; 6 were not sent: {stop}"]
