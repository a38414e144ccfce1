"""generate.py --provider google|openai: Google's Gemini API (generateContent) and OpenAI's
/images/generations called directly, driven as an agent drives them and read from the one JSON document."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.conftest import OPENAI_TEST_KEY, assert_one_json, ledger_entries
from tests.fake_api import (
    GEMINI_TEST_KEY,
    Reply,
    gemini_bad_key_reply,
    gemini_blocked_reply,
    gemini_error_reply,
    gemini_no_image_reply,
    gemini_reply,
    gemini_response_json,
    make_png,
    openai_error_reply,
    png_size,
)

GEMINI_KEY = GEMINI_TEST_KEY  # the key the fake accepts
PROMPT = "A red fox curled up in fresh snow at dawn, telephoto wildlife photo"
FLASH = "gemini-3.1-flash-image"
PRO = "gemini-3-pro-image"
GOOGLE = ("generate.py", "--prompt", PROMPT, "--provider", "google")
OPENAI = ("generate.py", "--prompt", PROMPT, "--provider", "openai")


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """The conftest environment with a Gemini key as well."""
    return {**env, "GEMINI_API_KEY": GEMINI_KEY}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def gemini_model_of(record) -> str:
    return record.path.rsplit("/", 1)[-1].split(":", 1)[0]


def failed(result, code: int = 1) -> dict:
    doc = assert_one_json(result)
    assert result.code == code, doc
    return doc


# -- Gemini: the request, the result ---------------------------------------------------------------

def test_gemini_request_body_key_header_file_sidecar_and_ledger(run, fake, env, workdir):
    result = run(*GOOGLE, "--model", "nanobanana-2", "--size", "0.5K", "--aspect-ratio", "16:9", "--seed", "42",
                 "--system-prompt", "Flat colours only.", "--output-dir", "out")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0, doc
    (request,) = fake.requests
    assert request.route == "gemini" and request.path == f"/v1beta/models/{FLASH}:generateContent"
    assert request.headers["x-goog-api-key"] == GEMINI_KEY
    assert request.query == {} and GEMINI_KEY not in request.path and "authorization" not in request.headers
    assert request.json["contents"] == [{"role": "user", "parts": [{"text": PROMPT}]}]
    assert request.json["generationConfig"] == {"responseModalities": ["TEXT", "IMAGE"],
                                                "imageConfig": {"aspectRatio": "16:9", "imageSize": "512"},
                                                "seed": 42}
    assert request.json["systemInstruction"] == {"parts": [{"text": "Flat colours only."}]}
    assert doc["api_provider"] == "google" and doc["model"] == FLASH and doc["provider"] == "Google"
    assert doc["cost_usd"] == 0.045 and doc["cost_estimate_usd"] == 0.045 and doc["system_message_used"] is True
    path = Path(doc["path"])
    assert path.parent == workdir / "out" and path.name.endswith("-nanobanana-2.png")
    assert png_size(path.read_bytes()) == (doc["width"], doc["height"])
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert sidecar["request"]["api_provider"] == "google" and sidecar["request"]["model"] == FLASH
    assert sidecar["request"]["seed"] == 42 and sidecar["request"]["system_message"] == "Flat colours only."
    assert sidecar["result"]["cost_usd"] == 0.045 and sidecar["result"]["provider"] == "Google"
    (line,) = ledger_entries(env)
    assert line["model"] == FLASH and line["outcome"] == "success" and line["cost_usd"] == 0.045
    assert line["estimate_usd"] == 0.045 and line["images"] == 1 and line["script"] == "generate.py"


def test_gemini_defaults_are_2k_with_no_system_instruction_or_seed(run, fake):
    doc = assert_one_json(run(*GOOGLE, "--no-sidecar"))
    assert doc["warnings"] == []
    body = fake.requests_for("gemini")[0].json
    assert body["generationConfig"] == {"responseModalities": ["TEXT", "IMAGE"],
                                        "imageConfig": {"aspectRatio": "1:1", "imageSize": "2K"}}
    assert "systemInstruction" not in body
    assert doc["model"] == FLASH and doc["size"] == "2K" and doc["cost_usd"] == 0.101  # the 2K list price


def test_gemini_parts_are_the_text_then_input_image_then_style_ref(run, fake, workdir, in_photo):
    ref = workdir / "ref.png"
    ref.write_bytes(make_png(4, 4, color=(1, 2, 3)))
    doc = assert_one_json(run(*GOOGLE, "--input-image", "in/photo.png", "--style-ref", "ref.png", "--no-sidecar"))
    assert doc["warnings"] == []
    (request,) = fake.requests_for("gemini")
    parts = request.json["contents"][0]["parts"]
    assert list(parts[0]) == ["text"] and PROMPT in parts[0]["text"]
    assert parts[1:] == [{"inlineData": {"mimeType": "image/png", "data": b64(in_photo.read_bytes())}},
                         {"inlineData": {"mimeType": "image/png", "data": b64(ref.read_bytes())}}]


def test_gemini_nanobanana_pro_4k_is_priced_from_the_table(run, fake, env):
    doc = assert_one_json(run(*GOOGLE, "--model", "nanobanana-pro", "--size", "4K", "--no-sidecar"))
    assert doc["warnings"] == []
    (request,) = fake.requests_for("gemini")
    assert gemini_model_of(request) == PRO and request.json["generationConfig"]["imageConfig"]["imageSize"] == "4K"
    assert doc["cost_usd"] == 0.24 and "Google's Gemini API" in doc["cost_estimate_basis"]
    assert doc["cost_estimate_is_guess"] is True and ledger_entries(env)[0]["cost_usd"] == 0.24


def test_gemini_n_is_one_call_per_image_each_on_the_ledger(run, fake, env):
    doc = assert_one_json(run(*GOOGLE, "--n", "2", "--no-sidecar"))
    assert doc["warnings"] == []
    assert len(fake.requests_for("gemini")) == 2 and doc["image_count"] == 2 and len(set(doc["all_paths"])) == 2
    assert doc["cost_usd"] == 0.202
    assert [line["cost_usd"] for line in ledger_entries(env)] == [0.101, 0.101]


def test_generate_image_with_provider_google_uses_its_default_model(run, fake):
    doc = assert_one_json(run("generate_image.py", "--prompt", PROMPT, "--provider", "google", "--no-sidecar"))
    assert doc["warnings"] == []
    (request,) = fake.requests
    assert request.route == "gemini" and gemini_model_of(request) == FLASH
    assert doc["api_provider"] == "google" and doc["model"] == FLASH


def test_google_api_key_alone_works(run, fake):
    fake.keys["gemini"].add("gk-alt-KEYMARKER-0101")
    doc = assert_one_json(run(*GOOGLE, "--no-sidecar", env_extra={"GEMINI_API_KEY": None,
                                                                  "GOOGLE_API_KEY": "gk-alt-KEYMARKER-0101"}))
    assert doc["warnings"] == []
    assert doc["success"] is True
    assert fake.requests_for("gemini")[0].headers["x-goog-api-key"] == "gk-alt-KEYMARKER-0101"


def test_no_gemini_key_is_missing_key_naming_the_variable(run, fake):
    doc = failed(run(*GOOGLE, env_extra={"GEMINI_API_KEY": None}), code=2)
    assert doc["error_kind"] == "missing_key" and "GEMINI_API_KEY" in doc["error"]
    assert "GEMINI_API_KEY" in doc["details"] and fake.requests == []


# -- model names per provider ---------------------------------------------------------------------

@pytest.mark.parametrize("name, model, alias", [
    ("nanobanana-2", FLASH, "nanobanana-2"),
    ("nanobanana-pro", PRO, "nanobanana-pro"),
    ("nanobanana-2-lite", "gemini-3.1-flash-lite-image", "nanobanana-2-lite"),
    ("google/gemini-3-pro-image", PRO, None),
    ("gemini-3-pro-image", PRO, None),
])
def test_aliases_resolve_on_google(run, fake, name, model, alias):
    doc = assert_one_json(run(*GOOGLE, "--model", name, "--no-sidecar"))
    assert doc["warnings"] == []
    (request,) = fake.requests
    assert request.route == "gemini" and gemini_model_of(request) == model and doc["model"] == model
    assert doc["model_alias"] == alias
    assert not [w for w in doc["warnings"] if "shut" in w or "gone" in w or "expire" in w]


def test_a_bare_gemini_id_goes_to_google_without_provider(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", PRO, "--no-sidecar"))
    assert doc["warnings"] == []
    assert [r.route for r in fake.requests] == ["gemini"] and doc["api_provider"] == "google"


def test_a_bare_gpt_image_id_goes_to_openai_without_provider(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "gpt-image-2", "--no-sidecar"))
    assert doc["warnings"] == []
    assert [r.route for r in fake.requests] == ["generations"] and doc["api_provider"] == "openai"
    assert fake.requests[0].json["model"] == "gpt-image-2"


@pytest.mark.parametrize("provider, model, listed", [
    ("google", "flux.2-pro", "nanobanana-2 (gemini-3.1-flash-image)"),
    ("google", "gpt-image-2", "nanobanana-pro (gemini-3-pro-image)"),
    ("openai", "nanobanana-2", "gpt-image-2"),
])
def test_a_model_the_provider_does_not_serve_is_unknown_model(run, fake, provider, model, listed):
    doc = failed(run("generate.py", "--prompt", PROMPT, "--provider", provider, "--model", model), code=2)
    assert doc["error_kind"] == "unknown_model" and model in doc["error"]
    assert listed in doc["details"] and f"drop --provider {provider}" in doc["details"] and fake.requests == []
    assert "-preview" not in doc["details"] and doc["fallback_models"]


def test_max_cost_is_checked_against_the_direct_price_before_sending(run, fake, env):
    doc = failed(run(*GOOGLE, "--max-cost", "0.05"), code=5)
    assert doc["error_kind"] == "budget" and "$0.1010" in doc["error"]
    assert fake.requests == [] and ledger_entries(env) == []
    doc = assert_one_json(run(*GOOGLE, "--size", "0.5K", "--max-cost", "0.05", "--no-sidecar"))  # $0.045 fits
    assert doc["warnings"] == []
    assert len(fake.requests_for("gemini")) == 1


def test_a_gemini_id_with_a_path_in_it_is_refused(run, fake):
    doc = failed(run("generate.py", "--prompt", PROMPT, "--model", "gemini-3-pro-image-preview/../../files/x"), code=2)
    assert doc["error_kind"] == "unknown_model" and fake.requests == []


@pytest.mark.parametrize("model, replacement, route", [
    ("gemini-2.5-flash-image", "gemini-3.1-flash-lite-image", "gemini"),
    ("gemini-3.1-flash-image-preview", FLASH, "gemini"),
    ("gemini-3-pro-image-preview", PRO, "gemini"),
    ("google/gemini-3-pro-image-preview", PRO, "gemini"),
    ("gpt-image-1", "gpt-image-2", "generations"),
    ("gpt-image-1.5", "gpt-image-2", "generations"),
])
def test_a_shut_down_model_is_never_sent_its_successor_is(run, fake, env, model, replacement, route):
    args = ("--provider", "google") if model.startswith("google/") else ()
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", model, *args, "--no-sidecar"))
    (request,) = fake.requests
    sent = gemini_model_of(request) if route == "gemini" else request.json["model"]
    assert request.route == route and sent == replacement and doc["model"] == replacement
    (warning,) = doc["warnings"]
    assert model.removeprefix("google/") in warning and "shut" in warning and replacement in warning
    assert [line["model"] for line in ledger_entries(env)] == [replacement]


def test_an_unknown_new_gemini_id_is_sent_with_an_unknown_price(run, fake, env):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "gemini-9-flash-image", "--no-sidecar"))
    assert doc["warnings"] == []
    (request,) = fake.requests_for("gemini")
    assert gemini_model_of(request) == "gemini-9-flash-image" and doc["api_provider"] == "google"
    assert doc["cost_estimate_usd"] is None and "price unknown" in doc["cost_estimate_basis"]
    (line,) = ledger_entries(env)
    assert line["model"] == "gemini-9-flash-image" and line["cost_usd"] is None and line["estimate_usd"] is None


def test_an_unknown_gemini_price_is_not_looked_up_at_openrouter(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "gemini-9-flash-image", "--no-sidecar"))
    assert [r.route for r in fake.requests] == ["gemini"]  # Google's response id means nothing to OpenRouter
    assert doc["cost_usd"] is None and "cost_usd_source" not in doc  # not OpenRouter's answer for another call
    assert doc["warnings"] == []


# -- dry run ----------------------------------------------------------------------------------------

def test_gemini_dry_run_shows_url_and_body_needs_no_key_and_shortens_images(run, fake, workdir):
    photo = make_png(48, 48, noise=True)
    (workdir / "big.png").write_bytes(photo)
    doc = assert_one_json(result := run(*GOOGLE, "--input-image", "big.png", "--dry-run",
                                        env_extra={"GEMINI_API_KEY": None, "GOOGLE_API_KEY": None}))
    assert doc["warnings"] == []
    assert result.code == 0 and doc["dry_run"] is True and fake.requests == []
    request = doc["request"]
    assert request["url"] == f"{fake.gemini_url}/models/{FLASH}:generateContent" and request["method"] == "POST"
    text, image = request["body"]["contents"][0]["parts"]
    assert text == {"text": PROMPT}
    data = image["inlineData"]["data"]
    assert image["inlineData"]["mimeType"] == "image/png"
    assert data.startswith(b64(photo)[:24]) and data.endswith(f"({len(b64(photo))} chars)") and len(data) < 60
    assert request["body"]["generationConfig"]["imageConfig"] == {"aspectRatio": "1:1", "imageSize": "2K"}
    assert doc["api_provider"] == "google" and GEMINI_KEY not in result.stdout


def test_openai_dry_run_shows_the_generations_request_without_a_key(run, fake):
    doc = assert_one_json(run(*OPENAI, "--quality", "low", "--dry-run", env_extra={"OPENAI_API_KEY": None}))
    assert doc["warnings"] == []
    assert fake.requests == [] and doc["dry_run"] is True
    assert doc["request"]["url"] == fake.openai_url + "/images/generations"
    assert doc["request"]["body"] == {"model": "gpt-image-2", "prompt": PROMPT, "n": 1, "size": "1024x1024",
                                      "quality": "low"}


# -- Gemini replies -----------------------------------------------------------------------------------

def test_thought_images_are_skipped_and_the_last_final_image_is_saved(run, fake):
    def part(image: bytes, thought: bool = False) -> dict:
        return {"inlineData": {"mimeType": "image/png", "data": b64(image)}, **({"thought": True} if thought else {})}

    document = gemini_response_json([make_png(4, 4)])
    document["candidates"][0]["content"]["parts"] = [
        {"text": "Planning the composition.", "thought": True},
        part(make_png(8, 8), thought=True),
        part(make_png(12, 12)),
        part(make_png(16, 16), thought=True),
        part(make_png(20, 20)),
        part(make_png(24, 24), thought=True),
        {"text": "Here is the fox."},
    ]
    fake.enqueue("gemini", Reply(json=document))
    doc = assert_one_json(run(*GOOGLE, "--no-sidecar"))
    assert doc["image_count"] == 1 and (doc["width"], doc["height"]) == (20, 20)
    assert doc["warnings"] == ["asked for about 2048x2048 but the provider returned 20x20: it is smaller than asked "
                               "(check the model's supported sizes, or ask again)"]  # the small final image sent
    assert png_size(Path(doc["path"]).read_bytes()) == (20, 20)
    assert doc["text_response"] == "Here is the fox."


def test_a_blocked_prompt_is_moderation_and_sent_once(run, fake, env):
    fake.enqueue("gemini", gemini_blocked_reply("PROHIBITED_CONTENT"), gemini_reply(), gemini_reply())
    doc = failed(run(*GOOGLE))
    assert doc["error_kind"] == "moderation" and doc["retryable"] is False
    assert "PROHIBITED_CONTENT" in doc["error"] and doc["block_reason"] == "PROHIBITED_CONTENT"
    assert len(fake.requests_for("gemini")) == 1 and doc.get("path") is None
    (line,) = ledger_entries(env)
    assert line["outcome"] == "error" and line["error_kind"] == "moderation"


def test_finish_reason_image_safety_is_moderation(run, fake):
    fake.enqueue("gemini", gemini_no_image_reply("IMAGE_SAFETY"))
    doc = failed(run(*GOOGLE))
    assert doc["error_kind"] == "moderation" and doc["retryable"] is False and "IMAGE_SAFETY" in doc["error"]
    assert len(fake.requests_for("gemini")) == 1


def test_finish_reason_no_image_is_no_image(run, fake):
    fake.enqueue("gemini", gemini_no_image_reply("NO_IMAGE", text="I can only describe it."))
    doc = failed(run(*GOOGLE))
    assert doc["error_kind"] == "no_image" and "NO_IMAGE" in doc["error"]
    assert doc["text_response"] == "I can only describe it."


# -- Gemini errors ----------------------------------------------------------------------------------

def test_a_bad_key_400_is_auth_quoting_google_and_not_retried(run, fake):
    fake.enqueue("gemini", gemini_bad_key_reply(), gemini_bad_key_reply(), gemini_bad_key_reply())
    doc = failed(run(*GOOGLE))
    assert doc["error_kind"] == "auth" and doc["retryable"] is False and doc["http_status"] == 400
    assert doc["provider_message"] == "API key not valid. Please pass a valid API key."
    assert doc["error_reason"] == "API_KEY_INVALID" and len(fake.requests_for("gemini")) == 1


def test_permission_denied_is_auth(run, fake):
    fake.enqueue("gemini", gemini_error_reply(403, "Permission denied on resource project x.",
                                              rpc_status="PERMISSION_DENIED"))
    doc = failed(run(*GOOGLE))
    assert doc["error_kind"] == "auth" and doc["error_status"] == "PERMISSION_DENIED"
    assert doc["provider_message"] == "Permission denied on resource project x."


def test_not_found_is_model_unavailable(run, fake):
    words = "models/gemini-3-pro-image-preview is not found for API version v1beta"
    fake.enqueue("gemini", gemini_error_reply(404, words))
    doc = failed(run(*GOOGLE, "--model", "nanobanana-pro"))
    assert doc["error_kind"] == "model_unavailable" and doc["retryable"] is False
    assert doc["provider_message"] == words and len(fake.requests_for("gemini")) == 1


def test_resource_exhausted_with_retry_info_is_retried_then_rate_limited(run, fake, env):
    busy = gemini_error_reply(429, "Resource has been exhausted (e.g. check quota).", retry_delay="0.05s")
    fake.enqueue("gemini", busy, busy, busy)
    doc = failed(run(*GOOGLE, "--retries", "2"))
    assert doc["error_kind"] == "rate_limited" and doc["retryable"] is True
    assert doc["provider_message"] == "Resource has been exhausted (e.g. check quota)."
    assert len(fake.requests_for("gemini")) == 3 and len(ledger_entries(env)) == 3


def test_google_retry_info_is_the_wait_before_the_next_attempt(run, fake):
    fake.enqueue("gemini", gemini_error_reply(429, "Resource has been exhausted.", retry_delay="0.4s"))
    doc = assert_one_json(run(*GOOGLE, "--no-sidecar"))  # IMAGEGEN_RETRY_BASE_SEC is 0.01 here
    assert doc["warnings"] == []
    first, second = fake.requests_for("gemini")
    assert doc["success"] is True and second.received - first.received >= 0.35


def test_resource_exhausted_then_success_saves_the_image(run, fake):
    fake.enqueue("gemini", gemini_error_reply(429, "Resource has been exhausted.", retry_delay="0.01s"))
    doc = assert_one_json(run(*GOOGLE, "--no-sidecar"))
    assert doc["warnings"] == []
    assert doc["success"] is True and len(fake.requests_for("gemini")) == 2


def test_a_zero_quota_429_is_credits_and_not_retried(run, fake):
    words = ("Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, "
             "limit: 0, model: gemini-3.1-flash-image")
    for _ in range(3):
        fake.enqueue("gemini", gemini_error_reply(429, words, retry_delay="0.01s"))
    doc = failed(run(*GOOGLE))
    assert doc["error_kind"] == "credits" and doc["retryable"] is False
    assert "billing" in doc["details"] and doc["provider_message"] == words
    assert len(fake.requests_for("gemini")) == 1


def test_a_daily_quota_429_is_not_retried(run, fake):
    quota = {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_requests_per_model_per_day",
                             "quotaId": "GenerateRequestsPerDayPerProjectPerModel"}]}
    for _ in range(3):
        fake.enqueue("gemini", gemini_error_reply(429, "You exceeded your current quota.", details=[quota],
                                                  retry_delay="0.01s"))
    doc = failed(run(*GOOGLE))
    assert doc["error_kind"] == "rate_limited" and doc["retryable"] is False and "daily" in doc["details"]
    assert len(fake.requests_for("gemini")) == 1


def test_failed_precondition_is_bad_request_with_a_billing_fix(run, fake):
    words = "User location is not supported for the API use without a billing account linked."
    fake.enqueue("gemini", gemini_error_reply(400, words, rpc_status="FAILED_PRECONDITION"))
    doc = failed(run(*GOOGLE))
    assert doc["error_kind"] == "bad_request" and doc["retryable"] is False
    assert "billing" in doc["details"] and doc["provider_message"] == words
    assert len(fake.requests_for("gemini")) == 1


def test_an_error_object_inside_http_200_is_read_the_google_way(run, fake):
    error = {"error": {"code": 429, "message": "Quota exceeded for metric: images, limit: 0",
                       "status": "RESOURCE_EXHAUSTED"}}
    fake.enqueue("gemini", Reply(json=error))
    doc = failed(run(*GOOGLE))
    assert doc["error_kind"] == "credits" and doc["retryable"] is False
    assert doc["provider_message"] == "Quota exceeded for metric: images, limit: 0"
    assert doc["error_status"] == "RESOURCE_EXHAUSTED" and len(fake.requests_for("gemini")) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(run, fake, status):
    fake.enqueue("gemini", gemini_error_reply(status, "The model is overloaded."))
    doc = assert_one_json(run(*GOOGLE, "--no-sidecar"))
    assert doc["warnings"] == []
    assert doc["success"] is True and len(fake.requests_for("gemini")) == 2


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_that_persist_are_provider_error(run, fake, status):
    for _ in range(3):
        fake.enqueue("gemini", gemini_error_reply(status, "The model is overloaded. Please try again later."))
    doc = failed(run(*GOOGLE, "--retries", "2"))
    assert doc["error_kind"] == "provider_error" and doc["retryable"] is True and doc["http_status"] == status
    assert doc["provider_message"] == "The model is overloaded. Please try again later."
    assert len(fake.requests_for("gemini")) == 3


def test_the_key_never_reaches_the_output_even_when_google_echoes_it(run, fake, env, workdir):
    def echo(record):
        key = record.headers["x-goog-api-key"]
        return gemini_error_reply(400, f"API key not valid: {key}. Please pass a valid API key.",
                                  details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                            "reason": "API_KEY_INVALID", "metadata": {"key": key}}])

    fake.enqueue("gemini", echo)
    result = run(*GOOGLE)
    doc = failed(result)
    assert doc["error_kind"] == "auth" and fake.errors == []
    assert GEMINI_KEY not in result.stdout and GEMINI_KEY not in result.stderr
    assert "KEYMARKER" not in result.stdout and "KEYMARKER" not in result.stderr
    ledger_file = Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl"
    assert ledger_file.exists() and GEMINI_KEY not in ledger_file.read_text()


# -- OpenAI /images/generations ------------------------------------------------------------------------

def test_openai_generation_body_cost_warning_and_ledger(run, fake, env):
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "gpt-image-2.5-flare",
                                        "--aspect-ratio", "16:9", "--quality", "medium", "--output-format", "png",
                                        "--background", "opaque"))
    assert result.code == 0
    (request,) = fake.requests
    assert request.route == "generations" and request.headers["authorization"] == f"Bearer {OPENAI_TEST_KEY}"
    assert request.json == {"model": "gpt-image-2.5-flare", "prompt": PROMPT, "n": 1, "size": "1536x1024",
                            "quality": "medium", "output_format": "png", "background": "opaque"}
    assert "response_format" not in request.json
    assert doc["api_provider"] == "openai" and doc["openai_size"] == "1536x1024" and doc["api"] == "images/generations"
    assert doc["warnings"] == ["gpt-image-2.5-flare makes 1536x1024 for --aspect-ratio 16:9: the nearest of the "
                               "three frames it makes (crop the result for the exact shape)"]
    # 44 text tokens in at $5/M, 1568 image tokens out at $40/M (the reply's usage for medium 1536x1024),
    # not the estimate, which counts the image tokens alone
    assert doc["cost_usd"] == 0.06294 and doc["cost_estimate_usd"] == 0.0627
    (line,) = ledger_entries(env)
    assert line["model"] == "gpt-image-2.5-flare" and line["cost_usd"] == 0.06294 and line["outcome"] == "success"
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert sidecar["request"]["api_provider"] == "openai" and sidecar["result"]["cost_usd"] == 0.06294


def test_openai_count_is_one_call_with_n(run, fake):
    doc = assert_one_json(run(*OPENAI, "--n", "2", "--aspect-ratio", "2:3", "--no-sidecar"))
    assert doc["warnings"] == []
    (request,) = fake.requests_for("generations")
    assert request.json["n"] == 2 and request.json["size"] == "672x1008"  # 2:3 at 1K: the long side 1008
    assert doc["image_count"] == 2 and len(set(doc["all_paths"])) == 2


def test_openai_square_frame_has_no_frame_warning_and_seed_is_not_sent(run, fake):
    doc = assert_one_json(run(*OPENAI, "--seed", "9", "--no-sidecar"))
    body = fake.requests_for("generations")[0].json
    assert body["size"] == "1024x1024" and "seed" not in body
    assert doc["warnings"] == ["OpenAI's Images API takes no seed; --seed 9 was not sent"]  # no frame warning


def test_openai_takes_api_images_too(run, fake):
    doc = assert_one_json(run(*OPENAI, "--api", "images", "--quality", "high", "--no-sidecar"))
    assert doc["warnings"] == []
    assert [r.route for r in fake.requests] == ["generations"] and fake.requests[0].json["quality"] == "high"
    assert doc["quality"] == "high"


def test_openai_moderation_blocked_is_moderation(run, fake):
    blocked = openai_error_reply(400, "Your request was rejected by the safety system.")
    blocked.json["error"].update(code="moderation_blocked", type="image_generation_user_error")
    fake.enqueue("generations", blocked)
    doc = failed(run(*OPENAI))
    assert doc["error_kind"] == "moderation" and doc["retryable"] is False
    assert doc["error_code"] == "moderation_blocked" and len(fake.requests_for("generations")) == 1
    assert doc["provider_message"] == "Your request was rejected by the safety system."


def test_openai_model_not_found_is_model_unavailable(run, fake):
    gone = openai_error_reply(404, "The model 'gpt-image-2.6-flare' does not exist.")
    gone.json["error"]["code"] = "model_not_found"
    fake.enqueue("generations", gone)
    doc = failed(run("generate.py", "--prompt", PROMPT, "--model", "gpt-image-2.6-flare"))
    assert doc["error_kind"] == "model_unavailable" and doc["retryable"] is False
    assert len(fake.requests_for("generations")) == 1


def test_openai_missing_key_names_the_variable(run, fake):
    doc = failed(run(*OPENAI, env_extra={"OPENAI_API_KEY": None}), code=2)
    assert doc["error_kind"] == "missing_key" and "OPENAI_API_KEY" in doc["error"] and fake.requests == []


# -- refusals -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--quality", "high"], "--quality is not offered by Google's Gemini API"),
    (["--background", "transparent", "--output-format", "webp"], "are not offered by Google's Gemini API"),
    (["--api", "images"], "--api images is not offered by Google's Gemini API"),
])
def test_images_api_options_are_refused_on_google(run, fake, args, fragment):
    doc = failed(run(*GOOGLE, *args), code=2)
    assert doc["error_kind"] == "usage" and fragment in doc["error"] and fake.requests == []


def test_an_input_image_is_refused_on_openai(run, fake, in_photo):
    doc = failed(run(*OPENAI, "--input-image", "in/photo.png"), code=2)
    assert "gpt-image-2" in doc["error"] and fake.requests == []


def test_a_size_the_model_lacks_is_refused_on_google(run, fake):
    doc = failed(run(*GOOGLE, "--model", "nanobanana-pro", "--size", "0.5K"), code=2)
    assert "0.5K" in doc["error"] and fake.requests == []
