"""The spending guard (--max-cost, the daily budget) and the ledger, as a caller meets them."""

from __future__ import annotations

import json
import multiprocessing
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from imagegen import config, errors, fsutil
from imagegen.models import registry
from imagegen.spending import guard
from imagegen.spending import ledger as ledgers
from tests.conftest import assert_one_json
from tests.fake_api import Reply, chat_text_only_reply, error_reply


def ledger_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl"


def ledger_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def seed_ledger(path: Path, *entries: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        for entry in entries:
            handle.write(json.dumps(entry) + "\n")


def spent_entry(cost: float, when: datetime | None = None, **extra) -> dict:
    moment = (when or datetime.now()).astimezone().isoformat(timespec="seconds")
    return {"time": moment, "script": "generate.py", "model": "black-forest-labs/flux.2-pro",
            "request_id": None, "estimate_usd": cost, "cost_usd": cost, "outcome": "success", **extra}


def test_every_paid_call_joins_the_ledger(run, fake, env):
    result = run("generate.py", "--prompt", "A fox", "--request-id", "chat-42", "--n", "2", "--size", "1K")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0
    lines = ledger_lines(ledger_file(env))
    assert len(lines) == 2
    for line in lines:
        assert line["script"] == "generate.py" and line["model"] == "black-forest-labs/flux.2-pro"
        assert line["request_id"] == "chat-42" and line["outcome"] == "success"
        assert line["cost_usd"] == 0.04 and line["images"] == 1
        assert line["provider"] == "openrouter" and line["size"] == "1024x1024"
        assert datetime.fromisoformat(line["time"]).tzinfo is not None
    # The first call went alone to learn the price; the second is estimated on what it was charged.
    assert [line["estimate_usd"] for line in lines] == [0.03, 0.04]
    ids = {line["generation_id"] for line in lines}
    assert len(ids) == 2 and doc["generation_id"] in ids
    assert doc["request_id"] == "chat-42"
    assert json.loads(Path(doc["sidecar"]).read_text())["request"]["request_id"] == "chat-42"
    assert doc["cost_estimate_usd"] == 0.06 and "first MP" in doc["cost_estimate_basis"]


def test_imagegen_ledger_moves_the_ledger(run, env, tmp_path):
    target = tmp_path / "books" / "spend.jsonl"
    result = run("generate.py", "--prompt", "A fox", env_extra={"IMAGEGEN_LEDGER": str(target)})
    assert result.code == 0 and assert_one_json(result)["warnings"] == []
    assert len(ledger_lines(target)) == 1 and not ledger_file(env).exists()


@pytest.mark.parametrize("extra", [[], ["--dry-run"]])
def test_max_cost_refuses_before_sending(run, fake, env, extra):
    result = run("generate.py", "--prompt", "A fox", "--size", "2K", "--max-cost", "0.05", *extra)
    doc = assert_one_json(result)
    assert result.code == errors.EXIT_BUDGET == 5
    assert doc["error_kind"] == "budget" and doc["retryable"] is False
    assert doc["limit"] == "max_cost" and doc["estimate_usd"] == 0.075 and doc["max_cost_usd"] == 0.05
    assert "0.0750" in doc["error"] and "--max-cost" in doc["error"]
    assert fake.requests_for("chat") == [] and not ledger_file(env).exists()


def test_max_cost_covers_every_image_of_the_run(run, fake):
    result = run("generate.py", "--prompt", "A fox", "--size", "1K", "--n", "3", "--max-cost", "0.08")
    doc = assert_one_json(result)
    assert result.code == 5 and doc["estimate_usd"] == 0.09 and "3 images" in doc["error"]
    assert fake.requests_for("chat") == []


def test_max_cost_at_or_above_the_estimate_sends(run, fake):
    result = run("generate.py", "--prompt", "A fox", "--size", "1K", "--max-cost", "0.03")
    assert result.code == 0 and len(fake.requests_for("chat")) == 1
    assert assert_one_json(result)["warnings"] == []


def test_max_cost_with_unknown_price_refuses(run, fake):
    result = run("generate.py", "--prompt", "A fox", "--model", "acme/painter-1", "--max-cost", "1")
    doc = assert_one_json(result)
    assert result.code == 5 and "unknown" in doc["error"] and "models.py --refresh" in doc["details"]
    assert fake.requests_for("chat") == []


@pytest.mark.subprocess  # exit status 5 from a real process
def test_daily_budget_counts_today_only_and_refuses(run, fake, env):
    path = ledger_file(env)
    seed_ledger(path, spent_entry(0.95), spent_entry(5.0, datetime.now() - timedelta(days=2)))
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "1"}
    refused = run("generate.py", "--prompt", "A fox", "--size", "1K", "--n", "2", env_extra=budget)
    doc = assert_one_json(refused)
    assert refused.code == 5 and doc["error_kind"] == "budget" and doc["limit"] == "daily_budget"
    assert doc["retryable"] is True and doc["spent_today_usd"] == 0.95 and doc["daily_budget_usd"] == 1.0
    assert datetime.fromisoformat(doc["budget_resets_at"]) > datetime.now().astimezone()
    assert fake.requests_for("chat") == []
    allowed = run("generate.py", "--prompt", "A fox", "--size", "1K", "--model", "flux.2-klein",
                  "--request-id", "cheap", env_extra=budget)
    assert allowed.code == 0, allowed.stdout
    assert len(fake.requests_for("chat")) == 1 and len(ledger_lines(path)) == 3
    assert assert_one_json(allowed)["warnings"] == [  # the fake charges $0.04 whatever the model
        "the provider charged $0.0400 for a call estimated at $0.0140 (2.9x); later estimates of this model and "
        "size use the observed price"]


def test_daily_budget_shows_in_dry_run(run, env):
    seed_ledger(ledger_file(env), spent_entry(0.25))
    result = run("generate.py", "--prompt", "A fox", "--size", "1K", "--dry-run",
                 env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "2"})
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert doc["budget"] == {"estimate_usd": 0.03, "daily_budget_usd": 2.0, "spent_today_usd": 0.25,
                             "remaining_today_usd": 1.75}


@pytest.mark.parametrize("value", ["lots", "-1", "nan", "inf"])
def test_malformed_daily_budget_is_a_config_error(run, fake, value):
    result = run("generate.py", "--prompt", "A fox", env_extra={"IMAGEGEN_DAILY_BUDGET_USD": value})
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "config" and "IMAGEGEN_DAILY_BUDGET_USD" in doc["error"]
    assert fake.requests_for("chat") == []


@pytest.mark.parametrize("flag, value", [("--max-cost", "-0.1"), ("--max-cost", "cheap"),
                                         ("--request-id", "a/b"), ("--request-id", "")])
def test_spending_flags_are_validated_at_parse_time(run, flag, value):
    result = run("generate.py", "--prompt", "A fox", flag, value)
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "usage" and flag in doc["error"]


def test_failed_calls_that_reached_the_provider_are_recorded(run, fake, env):
    fake.enqueue("chat", error_reply(402, "Insufficient credits"))
    first = run("generate.py", "--prompt", "A fox", "--retries", "0")
    assert first.code == 1
    fake.enqueue("chat", chat_text_only_reply("I cannot draw that", native_finish_reason="IMAGE_SAFETY"))
    second = run("generate.py", "--prompt", "A fox", "--retries", "0", "--model", "nanobanana")
    assert assert_one_json(second)["error_kind"] == "moderation"  # a policy block, billed or not
    lines = ledger_lines(ledger_file(env))
    assert [(line["outcome"], line["error_kind"]) for line in lines] == [("error", "credits"), ("error", "moderation")]
    assert lines[0]["cost_usd"] is None and isinstance(lines[1]["cost_usd"], float)


def test_timeout_after_sending_is_recorded_as_charge_unknown(run, fake, env):
    fake.enqueue("chat", Reply(json={}, delay=3))
    result = run("generate.py", "--prompt", "A fox", "--retries", "0", "--timeout", "0.5", "--size", "1K")
    assert assert_one_json(result)["error_kind"] == "timeout"
    (line,) = ledger_lines(ledger_file(env))
    assert line["outcome"] == "charge_unknown" and line["estimate_usd"] == 0.03
    assert ledgers.charged(line) == 0.03


def test_unreachable_provider_is_not_recorded(run, env, base_env):
    result = run("generate.py", "--prompt", "A fox", "--retries", "0",
                 env_extra={"OPENROUTER_BASE_URL": "http://127.0.0.1:9/api/v1"})
    assert assert_one_json(result)["error_kind"] == "network"
    assert not ledger_file(env).exists()


def test_unwritable_ledger_warns_but_keeps_the_image(run, fake, workdir):
    (workdir / "blocker").write_text("a file where a directory should be")
    result = run("generate.py", "--prompt", "A fox", env_extra={"IMAGEGEN_LEDGER": str(workdir / "blocker/l.jsonl")})
    doc = assert_one_json(result)
    assert result.code == 0 and Path(doc["path"]).exists()
    assert doc["warnings"] == [f"the spending ledger {workdir / 'blocker/l.jsonl'} could not be written (File "
                               "exists); this call is missing from spend.py totals and the daily budget"]


# -- in-process -------------------------------------------------------------------------------

def _append_many(path: str, worker: int, count: int) -> None:
    for index in range(count):
        ledgers.append({"time": fsutil.now_iso(), "worker": worker, "index": index, "pad": "x" * 3000},
                        Path(path))



def read_entries(path: Path | None = None) -> tuple[list[dict], int]:
    """Every ledger entry, oldest first, and how many lines could not be parsed."""
    with ledgers.streamed(path) as (entries, reading):
        kept = list(entries)
    return kept, reading.bad

def test_concurrent_appends_never_interleave(ledger):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(str(ledger), w, 40)) for w in range(6)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(30)
        assert process.exitcode == 0
    entries, bad = read_entries(ledger)
    assert bad == 0 and len(entries) == 240
    assert {(e["worker"], e["index"]) for e in entries} == {(w, i) for w in range(6) for i in range(40)}
    assert oct(ledger.stat().st_mode & 0o777) == "0o600"


def test_read_entries_skips_damaged_lines(ledger):
    seed_ledger(ledger, spent_entry(0.5))
    with ledger.open("a") as handle:
        handle.write('{"time": "garbage"\n[1, 2]\n\n{"cost_usd": 1}\n')
    entries, bad = read_entries()
    assert len(entries) == 1 and bad == 3
    assert ledgers.spent_on(ledgers.today()) == 0.5


def test_unreadable_ledger_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGEGEN_LEDGER", str(tmp_path))  # a directory
    with pytest.raises(errors.ConfigError, match="cannot read the spending ledger"):
        read_entries()


@pytest.mark.parametrize("entry, expected", [
    ({"cost_usd": 0.2, "estimate_usd": 0.1, "outcome": "success"}, 0.2),
    ({"cost_usd": None, "estimate_usd": 0.1, "outcome": "success"}, 0.1),
    ({"cost_usd": None, "estimate_usd": 0.1, "outcome": "charge_unknown"}, 0.1),
    ({"cost_usd": None, "estimate_usd": 0.1, "outcome": "error"}, 0.0),
    ({"cost_usd": 0.01, "estimate_usd": 0.1, "outcome": "error"}, 0.01),
])
def test_charged(entry, expected):
    assert ledgers.charged(entry) == expected


def test_check_returns_state_and_refuses_unknown_estimate_once_budget_is_spent(ledger, monkeypatch):
    assert guard.check(0.1, 0.2) == {"estimate_usd": 0.1, "max_cost_usd": 0.2}
    monkeypatch.setenv("IMAGEGEN_DAILY_BUDGET_USD", "0.5")
    assert guard.check(None)["remaining_today_usd"] == 0.5
    seed_ledger(ledger, spent_entry(0.5))
    with pytest.raises(errors.BudgetError) as caught:
        guard.check(None)
    assert caught.value.kind == "budget" and caught.value.exit_code == 5 and caught.value.retryable


@pytest.mark.parametrize("model, ratio, size, usd, guess", [
    ("flux.2-pro", "1:1", "1K", 0.03, False),
    ("flux.2-pro", "1:1", "2K", 0.075, False),
    ("flux.2-pro", "16:9", "1K", 0.03, False),
    ("flux.2-pro", "1:1", "4K", 0.255, False),
    ("flux.2-klein", "1:1", "2K", 0.017, False),
    ("nanobanana-pro", "1:1", "4K", 0.24, False),
    ("nanobanana-pro", "21:9", "1K", 0.134, False),
    ("gpt-5-image", "1:1", "1K", 0.0422, True),
    ("gpt-5-image", "3:2", "1K", 0.0634, True),
    ("nanobanana-2", "1:1", "0.5K", 0.045, True),
    ("acme/painter", "1:1", "1K", None, True),
])
def test_estimates_honour_size_ratio_and_say_when_guessed(model, ratio, size, usd, guess, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    estimate = registry.estimate(registry.resolve(model), ratio, size)
    assert (estimate.usd, estimate.guess) == (usd, guess)
    assert estimate.basis


def test_ledger_path_defaults_to_the_state_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("IMAGEGEN_LEDGER", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert config.ledger_path() == tmp_path / "image-gen" / "ledger.jsonl"
    assert os.path.isabs(config.ledger_path())
