"""gpt-image-2's frames as openai-python defines them (any WIDTHxHEIGHT on a 16-pixel grid, at most
3:1, up to 3840x2160), its options (moderation, output_compression, input_fidelity) and prices that
scale with the frame; Gemini's GA ids priced, every estimate saying its basis."""

from __future__ import annotations

from pathlib import Path

import pytest

from imagegen.models import direct_table
from tests.conftest import assert_one_json
from tests.fake_api import make_png

PROMPT = "A lighthouse on a cliff at dusk, oil painting"
OPENAI = ("generate.py", "--prompt", PROMPT, "--provider", "openai")


def dry(run, *args: str) -> dict:
    result = run(*OPENAI, *args, "--dry-run")
    doc = assert_one_json(result)
    assert result.code == 0, doc
    doc["stderr"] = result.stderr  # a dry run's warnings are on stderr
    return doc


@pytest.mark.parametrize("size, ratio, frame", [
    ("1K", "1:1", "1024x1024"), ("2K", "16:9", "2048x1152"), ("2K", "1:1", "2048x2048"), ("4K", "16:9", "3840x2160"),
    ("4K", "9:16", "2160x3840"), ("4K", "1:1", "2880x2880"), ("1K", "16:9", "1088x608"), ("2K", "21:9", "2048x880"),
])
def test_gpt_image_2_frame_comes_from_ratio_and_tier(run, fake, size, ratio, frame):
    doc = dry(run, "--size", size, "--aspect-ratio", ratio)
    assert doc["request"]["body"]["size"] == frame and doc["openai_size"] == frame and doc["size"] == size
    width, height = (int(side) for side in frame.split("x"))
    assert width % 16 == 0 and height % 16 == 0 and max(width, height) <= 3840
    assert fake.requests == []
    experimental = [f"{frame} is above 2560x1440, which OpenAI calls experimental for gpt-image-2"]
    assert doc["warnings"] == (experimental if width * height > 2560 * 1440 else [])


def test_a_real_2k_run_sends_the_frame_and_warns_of_nothing(run, fake):
    doc = assert_one_json(result := run(*OPENAI, "--size", "2K", "--aspect-ratio", "16:9"))
    assert result.code == 0 and doc["warnings"] == []
    assert fake.requests_for("generations")[0].json["size"] == "2048x1152"


def test_4k_says_openai_calls_it_experimental(run, fake):
    doc = dry(run, "--size", "4K", "--aspect-ratio", "16:9")
    assert "experimental" in doc["stderr"]
    assert doc["warnings"] == ["3840x2160 is above 2560x1440, which OpenAI calls experimental for gpt-image-2"]


def test_the_default_size_on_openai_is_1k(run, fake):
    doc = dry(run)
    assert doc["size"] == "1K" and doc["request"]["body"]["size"] == "1024x1024" and doc["warnings"] == []


@pytest.mark.parametrize("quality, usd", [("low", 0.006), ("medium", 0.053), ("high", 0.211)])
def test_gpt_image_2_estimates_at_its_published_rates(run, fake, quality, usd):
    doc = dry(run, "--quality", quality)
    assert doc["cost_estimate_usd"] == pytest.approx(usd, abs=5e-4) and doc["warnings"] == []
    basis = doc["cost_estimate_basis"]
    assert "$30/M" in basis and "built-in table of 2026-12-01" in basis and "second-hand" in basis


@pytest.mark.parametrize("quality, width, height, tokens", [
    ("low", 1024, 1024, 196), ("medium", 1024, 1024, 1756), ("high", 1024, 1024, 7024),
    ("high", 1536, 1024, 5488), ("low", 976, 704, 129), ("medium", 2048, 1152, 1413)])
def test_gpt_image_2_tokens_follow_openais_calculator(quality, width, height, tokens):
    # 196 / 1756 / 7024 are the published 1024x1024 prices at $30/M; 5488 and 129 are counts
    # reported from OpenAI's calculator and real replies: the count is not proportional to the pixels
    assert direct_table.flexible_tokens(quality, width, height) == tokens
    assert direct_table.output_tokens(quality, f"{width}x{height}", "gpt-image-2") == tokens


def test_the_price_follows_the_frame(run, fake):
    small = dry(run, "--quality", "medium")
    large = dry(run, "--quality", "medium", "--size", "2K", "--aspect-ratio", "16:9")
    assert small["cost_estimate_usd"] == round(1756 * 30 / 1e6, 4)
    assert large["cost_estimate_usd"] == round(1413 * 30 / 1e6, 4)
    assert small["warnings"] == [] and large["warnings"] == []


def test_models_that_make_three_frames_keep_them(run, fake):
    doc = dry(run, "--model", "gpt-image-2.5-flare", "--aspect-ratio", "16:9")
    assert doc["request"]["body"]["size"] == "1536x1024" and "makes 1536x1024" in doc["stderr"]
    assert doc["warnings"] == ["gpt-image-2.5-flare makes 1536x1024 for --aspect-ratio 16:9: the nearest of the "
                               "three frames it makes (crop the result for the exact shape)"]
    result = run(*OPENAI, "--model", "gpt-image-2.5-flare", "--size", "2K", "--dry-run")
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "unsupported" and "1K" in doc["details"]


def test_ratios_wider_than_3_to_1_are_refused(run, fake):
    result = run(*OPENAI, "--aspect-ratio", "4:1", "--dry-run")
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "unsupported" and fake.requests == []


def test_moderation_and_output_compression_are_sent_and_shown(run, fake):
    doc = dry(run, "--moderation", "low", "--output-format", "webp", "--output-compression", "60")
    body = doc["request"]["body"]
    assert body["moderation"] == "low" and body["output_compression"] == 60 and body["output_format"] == "webp"
    assert doc["moderation"] == "low" and doc["output_compression"] == 60 and doc["warnings"] == []
    doc = assert_one_json(run(*OPENAI, "--moderation", "auto", "--output-format", "jpeg", "--output-compression", "0"))
    assert doc["warnings"] == []
    sent = fake.requests_for("generations")[0].json
    assert sent["moderation"] == "auto" and sent["output_compression"] == 0


@pytest.mark.parametrize("args, fragment", [
    (("--moderation", "low"), "OpenAI's Images API only"),  # on OpenRouter
    (("--provider", "openai", "--output-compression", "50"), "jpeg or webp"),
    (("--provider", "openai", "--output-format", "png", "--output-compression", "50"), "jpeg or webp"),
    (("--provider", "openai", "--output-compression", "101"), "0 to 100"),
    (("--provider", "openai", "--moderation", "high"), "invalid choice"),
    (("--provider", "google", "--output-compression", "5", "--output-format", "jpeg"), "not offered"),
])
def test_option_misuse_is_refused_before_paying(run, fake, args, fragment):
    result = run("generate.py", "--prompt", PROMPT, *args)
    doc = assert_one_json(result)
    assert result.code == 2 and fragment in doc["error"] + (doc["details"] or ""), doc
    assert fake.requests == []


def test_openrouter_images_api_takes_output_compression(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--api", "images", "--output-format", "webp",
                              "--output-compression", "80"))
    assert doc["warnings"] == []
    assert fake.requests_for("images")[0].json["output_compression"] == 80


# -- edits ------------------------------------------------------------------------------------------

@pytest.fixture
def photo(workdir: Path) -> Path:
    path = workdir / "photo.png"
    path.write_bytes(make_png(300, 200))
    return path


def edit(run, photo: Path, *args: str):
    result = run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "Add a hat", *args)
    return result, assert_one_json(result)


def test_an_edit_takes_a_gpt_image_2_frame_and_prices_it(run, fake, photo):
    result, doc = edit(run, photo, "--openai-size", "2048x1152", "--quality", "medium", "--output-format", "webp",
                       "--output-compression", "70")
    assert result.code == 0, doc
    assert doc["warnings"] == []
    (request,) = fake.requests_for("edits")
    assert request.form["size"] == "2048x1152" and request.form["output_compression"] == "70"
    assert doc["cost_estimate_usd"] == round(1413 * 30 / 1e6, 4)  # 2048x1152 medium: 1413 image tokens
    assert "2048x1152" in doc["cost_estimate_basis"] and "second-hand" in doc["cost_estimate_basis"]


@pytest.mark.parametrize("model, size, fragment", [
    ("gpt-image-2", "1000x1000", "multiples of 16"),
    ("gpt-image-2", "4096x2048", "at most 3840"),
    ("gpt-image-2", "3072x960", "3 times"),
    ("gpt-image-2", "512x512", "pixels"),
    ("gpt-image-2.5-flare", "2048x1152", "1024x1024, 1536x1024, 1024x1536 or auto"),
])
def test_an_edit_size_outside_the_rules_is_refused_before_upload(run, fake, photo, model, size, fragment):
    result, doc = edit(run, photo, "--openai-model", model, "--openai-size", size)
    assert result.code == 2 and doc["error_kind"] == "unsupported" and fragment in doc["error"] + doc["details"], doc
    assert fake.requests == []


def test_input_fidelity_goes_only_to_models_that_take_it(run, fake, photo):
    result, doc = edit(run, photo, "--input-fidelity", "high")
    assert result.code == 2 and doc["error_kind"] == "unsupported" and "gpt-image-2.5" in doc["details"]
    result, doc = edit(run, photo, "--input-fidelity", "high", "--openai-model", "gpt-image-2.6-sunburst")
    assert result.code == 0 and fake.requests_for("edits")[0].form["input_fidelity"] == "high"
    assert doc["warnings"] == []


def test_an_edit_refuses_compression_for_png(run, fake, photo):
    result, doc = edit(run, photo, "--output-compression", "70")
    assert result.code == 2 and "jpeg or webp" in doc["error"] and fake.requests == []


# -- Gemini's GA ids ------------------------------------------------------------------------------

@pytest.mark.parametrize("model, size, usd", [
    ("gemini-3.1-flash-image", "2K", 0.101), ("gemini-3-pro-image", "4K", 0.24),
    ("gemini-3.1-flash-lite-image", "1K", 0.034),
])
def test_gemini_ga_ids_are_priced_on_google(run, fake, model, size, usd):
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--provider", "google", "--model", model,
                                        "--size", size, "--dry-run"))
    assert doc["warnings"] == []
    assert result.code == 0 and doc["cost_estimate_usd"] == usd
    assert "built-in table of 2026-12-01" in doc["cost_estimate_basis"]


def test_the_lite_model_makes_1k_only(run, fake):
    result = run("generate.py", "--prompt", PROMPT, "--provider", "google", "--model", "gemini-3.1-flash-lite-image",
                 "--size", "2K", "--dry-run")
    assert result.code == 2 and assert_one_json(result)["error_kind"] == "unsupported"


@pytest.mark.parametrize("model, usd", [("google/gemini-3.1-flash-image", 0.101), ("google/gemini-3-pro-image", 0.134)])
def test_gemini_ga_ids_are_priced_on_openrouter(run, fake, model, usd):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", model, "--dry-run"))
    assert doc["warnings"] == []
    assert doc["cost_estimate_usd"] == usd and "built-in price table of 2026-12-01" in doc["cost_estimate_basis"]


def test_an_edit_frame_can_come_from_size_and_ratio(run, fake, photo):
    result, doc = edit(run, photo, "--size", "2K", "--dry-run")  # the 300x200 input is 3:2
    assert result.code == 0 and doc["request"]["fields"]["size"] == "2064x1376" and doc["size"] == "2064x1376"
    assert doc["warnings"] == []
    result, doc = edit(run, photo, "--size", "2K", "--aspect-ratio", "16:9")
    assert result.code == 0 and fake.requests_for("edits")[0].form["size"] == "2048x1152"
    assert doc["warnings"] == []


@pytest.mark.parametrize("args, kind, fragment", [
    (("--size", "2K", "--openai-model", "gpt-image-2.5-flare"), "unsupported", "three frames"),
    (("--size", "2K", "--openai-size", "1024x1024"), "usage", "cannot be combined"),
    (("--size", "0.5K"), "unsupported", "0.5K"),
])
def test_an_edit_frame_from_size_is_checked_before_upload(run, fake, photo, args, kind, fragment):
    result, doc = edit(run, photo, *args)
    assert result.code == 2 and doc["error_kind"] == kind and fragment in doc["error"], doc
    assert fake.requests == []


def test_the_review_loops_next_model_is_never_the_same_model_under_its_ga_id_nor_a_smaller_one():
    from imagegen.models.capability import next_model
    from imagegen.models.registry import resolve

    flash = resolve("gemini-3.1-flash-image", "google")
    assert next_model(flash) == "gemini-3-pro-image"
    assert next_model(flash, ("gemini-3-pro-image",)) is None  # not its preview, nor the 1K-only lite model
    assert next_model(resolve("gemini-3.1-flash-lite-image", "google")) == "gemini-3.1-flash-image"
