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
from pathlib import Path

import pytest

from tests.conftest import assert_one_json
from tests.fake_api import Reply, chat_image_reply, make_png
from tests.test_spending import ledger_file, seed_ledger, spent_entry

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
    result = run(*FOX)
    assert "Traceback" not in result.stderr
    doc = strict_json(result.stdout)
    assert result.code == 0 and doc["cost_usd"] is None, doc
    if cost != '"0.04"':
        assert any("not a plausible" in warning for warning in doc["warnings"]), doc["warnings"]
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


def test_the_json_writer_refuses_nan_with_a_json_failure(monkeypatch, capsys):
    from imagegen import contract
    from imagegen.cli import runner
    from imagegen.errors import ImageGenError

    with pytest.raises(ImageGenError) as refused:
        contract.json_text({"cost_usd": math.nan})
    assert refused.value.kind == "internal" and "NaN" in refused.value.message
    parser = runner.new_parser("nan.py", "returns NaN")
    code = runner.run_cli(parser, lambda args, context: {"cost_usd": math.inf}, [])
    doc = strict_json(capsys.readouterr().out)
    assert code == 1 and doc["success"] is False and doc["error_kind"] == "internal"
