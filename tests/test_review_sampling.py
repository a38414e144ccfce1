"""Reviews on models that refuse sampling parameters (Claude Sonnet 5, Opus 4.7+): none sent to the
models known to refuse them; a 400 naming one is answered by one resend without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_json
from tests.fake_api import anthropic_error_reply, make_png, sampling_rejected_json

PROMPT = "A red fox in snow"
REFUSED = "anthropic/claude-next-1 refused temperature (HTTP 400, not charged): sent again without it"
NO_ANTHROPIC = {"ANTHROPIC_API_KEY": ""}


@pytest.fixture
def ledger_lines(env):
    path = Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl"
    return lambda: [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def image(workdir: Path) -> Path:
    path = workdir / "output.png"
    path.write_bytes(make_png(40, 30))
    return path


def review(run, image: Path, model: str, *extra: str, env: dict | None = None):
    result = run("review.py", "--image", str(image), "--original-prompt", PROMPT, "--auto", "--review-model", model,
                 *extra, env_extra=env)
    return result, assert_one_json(result)


@pytest.mark.parametrize("model", ["claude-sonnet-5", "claude-opus-4-7", "claude-opus-4-8-20261101"])
def test_known_models_get_no_temperature(run, fake, image, model):
    result, doc = review(run, image, model)
    assert result.code == 0 and doc["score"] == 8 and doc["warnings"] == []
    (request,) = fake.requests_for("messages")
    assert "temperature" not in request.json and request.json["model"] == model


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-opus-4-1", "claude-haiku-4-5-20251001"])
def test_older_models_still_get_temperature_0(run, fake, image, model):
    result, doc = review(run, image, model)
    assert result.code == 0 and doc["warnings"] == []
    assert fake.requests_for("messages")[0].json["temperature"] == 0


def test_anthropic_400_naming_temperature_is_sent_once_more_without_it(run, fake, image, ledger_lines):
    fake.no_sampling_models.append("claude-next")  # a model this release does not know refuses it
    result, doc = review(run, image, "claude-next-1")
    assert result.code == 0 and doc["score"] == 8
    first, second = fake.requests_for("messages")
    assert first.json["temperature"] == 0 and "temperature" not in second.json
    assert {k: v for k, v in first.json.items() if k != "temperature"} == second.json
    assert doc["warnings"] == ["claude-next-1 refused temperature (HTTP 400, not charged): sent again without it"]
    lines = ledger_lines()
    assert [line["outcome"] for line in lines] == ["error", "success"] and lines[0]["error_kind"] == "bad_request"
    assert lines[0]["cost_usd"] in (None, 0, 0.0)


def test_openrouter_passes_the_upstream_400_through_and_is_answered_the_same(run, fake, image):
    fake.no_sampling_models.append("claude-next")
    result, doc = review(run, image, "anthropic/claude-next-1", env=NO_ANTHROPIC)
    assert result.code == 0 and doc["provider"] == "openrouter"
    first, second = fake.requests_for("chat")
    assert first.json["temperature"] == 0 and "temperature" not in second.json
    assert doc["warnings"] == [REFUSED]


def test_openrouter_known_model_gets_no_temperature(run, fake, image):
    result, doc = review(run, image, "anthropic/claude-sonnet-5", env=NO_ANTHROPIC)
    assert result.code == 0 and doc["warnings"] == []
    assert "temperature" not in fake.requests_for("chat")[0].json


def test_a_second_refusal_is_not_resent_again(run, fake, image):
    refusal = anthropic_error_reply(400, "`temperature` is deprecated for this model.")
    fake.enqueue("messages", refusal, refusal, refusal)
    result, doc = review(run, image, "claude-sonnet-4-6")
    assert result.code == 1 and doc["error_kind"] == "bad_request"
    assert len(fake.requests_for("messages")) == 2  # one resend, never a loop


def test_a_refusal_of_a_parameter_that_was_not_sent_is_not_resent(run, fake, image):
    fake.enqueue("messages", anthropic_error_reply(400, sampling_rejected_json("top_p")["error"]["message"]))
    result, doc = review(run, image, "claude-sonnet-4-6")
    assert result.code == 1 and doc["error_kind"] == "bad_request" and len(fake.requests_for("messages")) == 1


def test_a_400_about_something_else_is_not_resent(run, fake, image):
    fake.enqueue("messages", anthropic_error_reply(400, "image exceeds 5 MB maximum"))
    result, doc = review(run, image, "claude-sonnet-4-6")
    assert result.code == 1 and doc["error_kind"] == "bad_request" and len(fake.requests_for("messages")) == 1


def test_prompt_enhancement_on_a_refusing_model_is_resent_without_temperature(run, fake):
    fake.no_sampling_models.append("claude-next")
    doc = assert_one_json(result := run("generate.py", "--prompt", "a lighthouse at dusk", "--enhance",
                                        "--enhance-model", "anthropic/claude-next-1"))
    assert result.code == 0
    first, second = [r for r in fake.requests_for("chat") if "modalities" not in r.json][:2]
    assert "temperature" in first.json and "temperature" not in second.json
    assert doc["warnings"] == [REFUSED]


def test_a_review_estimate_says_its_basis(run, fake, image):
    result, doc = review(run, image, "claude-sonnet-4-6")
    assert result.code == 0 and doc["warnings"] == []
    assert "built-in table of 2026-12-01" in doc["cost_estimate_basis"] and doc["cost_estimate_usd"] > 0
    _, doc = review(run, image, "claude-sonnet-5", "--dry-run")
    assert doc["cost_estimate_usd"] is None and "price unknown" in doc["cost_estimate_basis"]
