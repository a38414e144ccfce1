"""Errors as the providers define them, in the shapes the real services send (api-notes.md)."""

from __future__ import annotations

import json

from tests.conftest import assert_one_json
from tests.fake_api import (
    Reply,
    chat_image_reply,
    chat_text_only_reply,
    make_png,
    messages_reply,
    openai_error_reply,
)

PROMPT = "A lighthouse at dusk, oil painting"


def openrouter_error(status: int, message: str, *, error_type: str | None = None, raw: str | None = None,
                     availability: dict | None = None, http: int | None = None) -> Reply:
    """OpenRouter's error body, as an HTTP error (``http``) or inside an HTTP 200."""
    metadata = {k: v for k, v in (("error_type", error_type), ("raw", raw), ("provider_name", "Google")) if v}
    error = {"code": status, "message": message, "metadata": metadata}
    if availability:
        error["availability"] = availability
    return Reply(status=http or 200, json={"error": error})


def test_a_policy_block_inside_http_200_is_moderation_and_never_retried(run, fake):
    fake.enqueue("chat", openrouter_error(400, "Request blocked", error_type="content_policy_violation",
                                          raw="SAFETY: the prompt was flagged"))
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2"))
    assert result.code == 1 and doc["error_kind"] == "moderation" and doc["retryable"] is False
    assert doc["upstream_reason"] == "SAFETY: the prompt was flagged" and "rephrase" in doc["details"]
    assert doc["provider_message"] == "Request blocked (upstream: SAFETY: the prompt was flagged)"
    assert doc["error_type"] == "content_policy_violation" and len(fake.requests_for("chat")) == 1


def test_a_refusal_error_type_is_its_own_kind(run, fake):
    fake.enqueue("chat", openrouter_error(400, "The model refused", error_type="refusal", http=400))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2"))
    assert doc["error_kind"] == "refusal" and doc["retryable"] is False and doc["http_status"] == 400


def test_content_filter_finish_is_a_block_not_a_retryable_miss(run, fake):
    fake.enqueue("chat", chat_text_only_reply("", finish_reason="content_filter", native_finish_reason="SAFETY"))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2"))
    assert doc["error_kind"] == "moderation" and doc["retryable"] is False
    assert doc["finish_reason"] == "content_filter" and len(fake.requests_for("chat")) == 1


def test_a_model_that_is_gone_names_the_live_alternatives(run, fake):
    fake.enqueue("chat", openrouter_error(404, "No endpoints found for google/gemini-2.5-flash-image", http=404,
                                          availability={"code": "model_not_found", "retryable": False,
                                                        "fallback_models": ["google/gemini-3.1-flash-image-preview",
                                                                            "openai/gpt-5-image-mini"]}))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "google/gemini-2.5-flash-image"))
    assert doc["error_kind"] == "model_unavailable" and doc["retryable"] is False
    assert doc["fallback_models"] == ["google/gemini-3.1-flash-image-preview", "openai/gpt-5-image-mini"]
    assert "try: google/gemini-3.1-flash-image-preview" in doc["details"]


def test_availability_says_whether_to_retry(run, fake):
    busy = openrouter_error(503, "Capacity exhausted", http=503,
                            availability={"code": "capacity_exhausted", "retryable": True, "retry_after": 1})
    fake.enqueue("chat", busy, busy, busy)
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2", "--retries", "0"))
    assert doc["error_kind"] == "provider_error" and doc["retryable"] is True
    assert doc["availability"] == "capacity_exhausted"


def test_openai_moderation_and_missing_models_are_read_from_the_error_code(run, fake, workdir):
    (workdir / "room.png").write_bytes(make_png(64, 64))
    blocked = openai_error_reply(400, "Your request was rejected by the safety system.")
    blocked.json["error"].update(code="moderation_blocked", type="image_generation_user_error")
    fake.enqueue("edits", blocked)
    args = ("edit.py", "--input-image", "room.png", "--mask-rect", "0,0,10,10", "--prompt", "A window")
    doc = assert_one_json(run(*args))
    assert doc["error_kind"] == "moderation" and doc["retryable"] is False and doc["error_code"] == "moderation_blocked"
    gone = openai_error_reply(404, "The model 'gpt-image-1' does not exist.")
    gone.json["error"]["code"] = "model_not_found"
    fake.enqueue("edits", gone)
    doc = assert_one_json(run(*args))
    assert doc["error_kind"] == "model_unavailable" and "models.py" in doc["details"]


def test_an_anthropic_refusal_is_not_a_format_problem(run, fake, workdir):
    (workdir / "out.png").write_bytes(make_png(64, 64))
    refusal = messages_reply("", stop_reason="refusal")
    refusal.json["content"] = []
    fake.enqueue("messages", refusal)
    doc = assert_one_json(run("review.py", "--image", "out.png", "--original-prompt", PROMPT, "--auto",
                              "--provider", "anthropic"))
    assert doc["error_kind"] == "refusal" and doc["retryable"] is False
    assert len(fake.requests_for("messages")) == 1


def test_a_data_url_written_with_escaped_slashes_is_still_saved(run, fake, workdir):
    image = make_png(48, 32)
    reply = chat_image_reply(images=[image])
    text = json.dumps(reply.json).replace("/", "\\/")  # what some proxies send: valid JSON
    assert "data:image\\/png;base64," in text
    fake.enqueue("chat", Reply(body=text.encode("ascii"), content_type="application/json"))
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2"))
    assert result.code == 0 and (doc["width"], doc["height"]) == (48, 32)
    assert doc["image_count"] == 1 and doc["warnings"] == [  # the 48x32 image the test sends
        "asked for about 2048x2048 but the provider returned 48x32: its aspect ratio differs and it is smaller than "
        "asked (check the model's supported sizes, or ask again)"]
