"""Every paid path meets the spending guard before sending and leaves one ledger line per call:
edit.py (both modes), review.py --auto and the prompt enhancer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import assert_one_json, ledger_entries
from tests.fake_api import error_reply, make_png, messages_reply, review_text
from tests.schema_check import assert_valid

PROMPT = "A red fox in snow"


@pytest.fixture
def photo(workdir: Path) -> Path:
    path = workdir / "photo.png"
    path.write_bytes(make_png(96, 64))  # 3:2, a frame gpt-image makes for size auto: no shape warning
    return path


EDIT_OPENROUTER = ["edit.py", "--input-image", "photo.png", "--prompt", "Make it night"]
EDIT_OPENAI = ["edit.py", "--input-image", "photo.png", "--mask-rect", "0,0,32,24", "--prompt", "A moon"]
REVIEW = ["review.py", "--image", "photo.png", "--original-prompt", PROMPT, "--auto"]
ENHANCE = ["generate.py", "--prompt", "A fox", "--enhance"]


@pytest.mark.parametrize("command, route, script, model", [
    (EDIT_OPENROUTER, "chat", "edit.py", "openai/gpt-5-image"),
    (EDIT_OPENAI, "edits", "edit.py", "gpt-image-2"),
    (REVIEW, "messages", "review.py", "claude-sonnet-4-6"),
])
def test_one_ledger_line_per_call(run, fake, env, photo, command, route, script, model):
    doc = assert_one_json(result := run(*command, "--request-id", "chat-7"))
    assert doc["warnings"] == []
    assert result.code == 0
    (line,) = ledger_entries(env)
    assert len(fake.requests_for(route)) == 1
    assert line["script"] == script and line["model"] == model and line["request_id"] == "chat-7"
    assert line["outcome"] == "success" and line["job_id"] is None
    assert line["cost_usd"] == doc["cost_usd"] and line["cost_usd"] is not None
    assert line["estimate_usd"] is not None


@pytest.mark.parametrize("command, limit", [
    (EDIT_OPENROUTER + ["--max-cost", "0.001"], "max_cost"),
    (EDIT_OPENROUTER, "daily_budget"),
    (EDIT_OPENAI + ["--max-cost", "0.001"], "max_cost"),
    (EDIT_OPENAI, "daily_budget"),
    (REVIEW + ["--max-cost", "0.0001"], "max_cost"),
    (REVIEW, "daily_budget"),
    (ENHANCE + ["--max-cost", "0.001"], "max_cost"),
    (ENHANCE, "daily_budget"),
])
def test_refused_by_a_limit_with_nothing_sent(run, fake, env, workdir, photo, command, limit):
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0"} if limit == "daily_budget" else {}
    doc = assert_one_json(result := run(*command, env_extra=budget))
    assert result.code == 5 and doc["error_kind"] == "budget" and doc["limit"] == limit
    assert_valid(doc, "error.budget")
    assert fake.requests == [] and ledger_entries(env) == []
    assert [p.name for p in workdir.rglob("*") if p.is_file()] == ["photo.png"]  # no image, no drawn mask


def test_review_compare_checks_both_calls_and_records_each(run, fake, env, photo, workdir):
    other = workdir / "other.png"
    other.write_bytes(make_png(48, 64))
    dry = assert_one_json(run(*REVIEW, "--compare", "other.png", "--dry-run"))
    assert dry["warnings"] == []
    each = dry["budget"]["estimate_usd"] / 2
    assert 0.005 < each < 0.05  # an upper bound: the whole reply allowance at list prices
    refused = assert_one_json(result := run(*REVIEW, "--compare", "other.png", "--max-cost", str(each * 1.5)))
    assert result.code == 5 and "2 images on claude-sonnet-4-6" in refused["error"] and fake.requests == []
    doc = assert_one_json(run(*REVIEW, "--compare", "other.png", "--max-cost", str(each * 2.5)))
    assert doc["warnings"] == []
    lines = ledger_entries(env)
    assert len(lines) == 2 and all(line["script"] == "review.py" for line in lines)
    # Anthropic reports tokens, not dollars: the cost comes from them (1500 in, 120 out at $3/$15 per M).
    assert [line["cost_usd"] for line in lines] == [0.0063, 0.0063] and doc["cost_usd"] == 0.0126


def test_review_with_an_unknown_price_counts_zero_and_says_so(run, fake, env, photo):
    fake.enqueue("messages", messages_reply(review_text(), model="claude-other"))
    doc = assert_one_json(run(*REVIEW, "--review-model", "claude-other",
                              env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "1"}))
    assert doc["cost_estimate_usd"] is None and doc["cost_usd"] is None
    assert doc["warnings"] == ["the price of a review by claude-other is not known beforehand: it counted as $0 "
                               "against IMAGEGEN_DAILY_BUDGET_USD (the ledger keeps the cost the provider reports)"]
    (line,) = ledger_entries(env)
    assert line["estimate_usd"] is None and line["cost_usd"] is None and line["outcome"] == "success"
    refused = assert_one_json(run(*REVIEW, "--review-model", "claude-other", "--max-cost", "1"))
    assert refused["error_kind"] == "budget" and "unknown" in refused["error"]


def test_failed_edit_call_is_recorded(run, fake, env, photo):
    fake.enqueue("edits", error_reply(500, "boom"), error_reply(500, "boom"), error_reply(500, "boom"))
    doc = assert_one_json(result := run(*EDIT_OPENAI, "--retries", "0"))
    assert result.code == 1 and doc["error_kind"] == "provider_error"
    (line,) = ledger_entries(env)
    assert line["outcome"] == "error" and line["error_kind"] == "provider_error" and line["model"] == "gpt-image-2"


def test_enhancer_and_image_calls_each_join_the_ledger(run, fake, env):
    doc = assert_one_json(run(*ENHANCE, "--request-id", "e-1"))
    assert doc["warnings"] == []
    enhancer, image = ledger_entries(env)
    assert enhancer["model"] == "google/gemini-3.1-flash-lite" and enhancer["images"] == 0
    assert enhancer["estimate_usd"] is None and enhancer["cost_usd"] == doc["prompt_enhancement"]["cost_usd"]
    assert image["model"] == "black-forest-labs/flux.2-pro" and image["images"] == 1
    assert {enhancer["request_id"], image["request_id"]} == {"e-1"}
    assert [r.json["model"] for r in fake.requests_for("chat")] == ["google/gemini-3.1-flash-lite",
                                                                     "black-forest-labs/flux.2-pro"]
