"""Seed 000's command lines through generate_image.py, and the prompt checks through both scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_json
from tests.fake_api import error_reply, make_png, openrouter_text_reply

SEED_MODEL = "google/gemini-3.1-flash-image"


def image_calls(fake) -> list:
    return [r for r in fake.requests_for("chat") if "image" in (r.json.get("modalities") or [])]


def text_calls(fake) -> list:
    return [r for r in fake.requests_for("chat") if "modalities" not in r.json]


# -- seed 000 command lines ---------------------------------------------------------------------

@pytest.mark.subprocess  # as an agent sees it: a real process, its stdout and exit status
def test_seed_usage_line_works_as_written(run, fake, workdir):
    result = run("generate_image.py", "--prompt", "A cinematic portrait of a cyberpunk crab",
                 "--model", SEED_MODEL, "--image-size", "low", "--out", "./generated/cyber-crab.png")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0, doc
    body = fake.requests_for("chat")[0].json
    assert body["model"] == SEED_MODEL and body["image_config"] == {"aspect_ratio": "1:1", "image_size": "1K"}
    assert doc["path"] == str(workdir / "generated" / "cyber-crab.png")
    assert (workdir / "generated" / "cyber-crab.png").read_bytes().startswith(b"\x89PNG")


def test_generate_image_defaults_to_the_seed_model(run, fake):
    doc = assert_one_json(run("generate_image.py", "--prompt", "A cinematic portrait of a cyberpunk crab"))
    assert doc["warnings"] == []
    assert doc["model"] == SEED_MODEL and fake.requests_for("chat")[0].json["model"] == SEED_MODEL


def test_a_preset_model_still_beats_the_generate_image_default(run, fake):
    doc = assert_one_json(run("generate_image.py", "--prompt", "A lighthouse on a cliff", "--preset",
                              "illustrated-series", "--dry-run"))
    assert doc["warnings"] == []
    assert doc["model"] == "google/gemini-3-pro-image"


@pytest.mark.parametrize("model", ["openai/gpt-5-image", "openai/gpt-5-image-mini"])
@pytest.mark.parametrize("level, size", [("low", "1K"), ("medium", "2K"), ("high", "4K"), ("HIGH", "4K")])
def test_seed_optional_models_and_sizes(run, fake, model, level, size):
    doc = assert_one_json(run("generate_image.py", "--prompt", "A cinematic portrait of a cyberpunk crab",
                              "--model", model, "--image-size", level, "--dry-run"))
    assert doc["warnings"] == []
    assert doc["request"]["body"]["model"] == model and doc["size"] == size


def test_seed_optional_flags_all_parse_together(run, fake, workdir):
    (workdir / "path" / "to").mkdir(parents=True)
    (workdir / "path" / "to" / "reference.png").write_bytes(make_png(8, 8))
    result = run("generate_image.py", "--prompt", "Same poster but with a darker background", "--image-size", "low",
                 "--clarify-hints", "--baseline-image", "./path/to/reference.png",
                 "--baseline-source-kind", "reply_attachment", "--confirm-external-upload",
                 "--variation-strength", "low", "--must-keep", "title placement", "--must-keep", "logo mark",
                 "--lock-palette", "--lock-composition", "--allow-no-baseline-on-edit-intent",
                 "--out", "./generated/poster-v2.png")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0, doc
    assert doc["rails_applied"]["requested"] == ["variation_strength", "lock_palette", "lock_composition", "must_keep"]
    assert doc["rails_applied"]["defaulted"] == [] and doc["baseline_source_kind"] == "reply_attachment"
    assert "title placement; logo mark" in fake.requests_for("chat")[0].json["messages"][-1]["content"][0]["text"]


@pytest.mark.subprocess
def test_strict_clarify_from_the_seed_fails_on_an_underspecified_prompt(run, fake):
    result = run("generate_image.py", "--prompt", "crab", "--strict-clarify")
    doc = assert_one_json(result)
    assert result.code == 3 and doc["error_kind"] == "clarify" and fake.requests == []
    assert [h["code"] for h in doc["clarify_hints"]] == ["too_short"] and "too_short" in doc["error"]


def test_both_scripts_accept_the_seed_aliases_and_refuse_doubles(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", "A red fox in snow", "--image-size", "medium",
                              "--out", "fox.png", "--dry-run"))
    assert doc["warnings"] == []
    assert doc["size"] == "2K" and doc["target_paths"] == ["fox.png"]
    result = run("generate.py", "--prompt", "x", "--image-size", "low", "--size", "2K")
    assert result.code == 2 and "not allowed with" in assert_one_json(result)["error"]
    result = run("generate_image.py", "--prompt", "x", "--image-size", "huge")
    assert result.code == 2 and "low, medium, high" in assert_one_json(result)["error"]


@pytest.mark.subprocess
def test_help_lists_the_new_flags(run):
    result = run("generate_image.py", "--help")
    for flag in ("--baseline-image", "--confirm-external-upload", "--strict-clarify", "--must-keep", "--enhance",
                 "--no-lock-palette", "--image-size", "--out", SEED_MODEL):
        assert flag in result.stdout, flag


# -- clarify hints ------------------------------------------------------------------------------

def test_hints_are_always_in_the_json_and_on_stderr_only_when_asked(run, fake):
    args = ["--prompt", "A retro 80s crab poster", "--model", "nanobanana-2"]
    quiet = run("generate.py", *args)
    doc = assert_one_json(quiet)
    assert doc["warnings"] == []
    assert [h["code"] for h in doc["clarify_hints"]] == ["aspect_mismatch"]
    assert doc["clarify_hints"][0]["fix"] == "--aspect-ratio 2:3" and "hint [" not in quiet.stderr
    loud = run("generate.py", *args, "--clarify-hints", "--quiet")
    assert "hint [aspect_mismatch]" in loud.stderr and "--aspect-ratio 2:3" in loud.stderr
    assert assert_one_json(loud)["clarify_hints"] == doc["clarify_hints"]
    assert len(fake.requests_for("chat")) == 2  # hints never block without --strict-clarify


def test_strict_clarify_refuses_and_prints_hints_when_asked(run, fake):
    result = run("generate.py", "--prompt", "A wooden sign with the text Welcome Home", "--strict-clarify",
                 "--clarify-hints")
    doc = assert_one_json(result)
    assert result.code == 3 and fake.requests == []
    assert {h["code"] for h in doc["clarify_hints"]} == {"text_unquoted", "text_on_flux"}
    assert "gpt-5-image" in doc["details"] and "hint [text_on_flux]" in result.stderr


def test_strict_clarify_passes_a_good_prompt(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", 'A bakery sign that says "Fresh Bread", watercolour',
                              "--model", "gpt-5-image", "--strict-clarify"))
    assert doc["warnings"] == []
    assert doc["success"] and doc["clarify_hints"] == []


def test_output_extension_feeds_the_transparency_check(run, fake):
    result = run("generate.py", "--prompt", "A product photo of a sneaker on a transparent background",
                 "--model", "gpt-5-image", "--out", "shoe.jpg", "--strict-clarify")
    doc = assert_one_json(result)
    assert result.code == 3 and doc["clarify_hints"][0]["code"] == "transparent_without_alpha"


# -- edit intent --------------------------------------------------------------------------------

@pytest.mark.parametrize("script", ["generate.py", "generate_image.py"])
@pytest.mark.parametrize("prompt", ["make it darker", "Same but with a red hat", "keep the logo, new background",
                                    "Based on this, add snow"])
def test_edit_intent_without_baseline_exits_4_and_sends_nothing(run, fake, script, prompt):
    result = run(script, "--prompt", prompt)
    doc = assert_one_json(result)
    assert result.code == 4 and doc["error_kind"] == "edit_intent_without_baseline" and fake.requests == []
    assert doc["model"] == ("google/gemini-3.1-flash-image" if script == "generate_image.py"
                            else "black-forest-labs/flux.2-pro")
    assert doc["edit_intent_detected"] is True and doc["baseline_applied"] is False
    assert "--baseline-image" in doc["details"] and "--allow-no-baseline-on-edit-intent" in doc["details"]
    assert doc["baseline_resolution_policy"] == "current_attachment>reply_attachment>clarify"


@pytest.mark.subprocess
def test_edit_intent_is_refused_in_dry_run_too(run, fake):
    result = run("generate.py", "--prompt", "make it darker", "--dry-run")
    assert result.code == 4 and fake.requests == []


def test_edit_intent_override_generates_with_a_warning(run, fake):
    result = run("generate.py", "--prompt", "make it darker, a night city street", "--allow-no-baseline-on-edit-intent")
    doc = assert_one_json(result)
    assert result.code == 0 and doc["edit_intent_detected"] is True and doc["baseline_applied"] is False
    assert doc["warnings"] == ['the prompt reads as an edit ("make it darker") but there is no baseline image; '
                               'a new image will be generated'] and "reads as an edit" in result.stderr
    assert fake.requests_for("chat")[0].json["messages"][-1]["content"] == "make it darker, a night city street"


def test_input_image_satisfies_edit_intent(run, fake, workdir):
    (workdir / "in.png").write_bytes(make_png(4, 4))
    doc = assert_one_json(run("generate.py", "--prompt", "make it darker", "--input-image", "in.png"))
    assert doc["warnings"] == []
    assert doc["success"] and doc["edit_intent_detected"] is True and doc["rails_applied"] is None


@pytest.mark.parametrize("prompt", ["A video editor's desk with two monitors, photo", "Keep Calm and Carry On poster",
                                    "a same-sex couple dancing at their wedding, film photo"])
def test_ordinary_prompts_with_edit_words_generate(run, fake, prompt):
    doc = assert_one_json(run("generate.py", "--prompt", prompt, "--aspect-ratio", "2:3"))
    assert doc["warnings"] == []
    assert doc["success"] and doc["edit_intent_detected"] is False


# -- prompt enhancement -------------------------------------------------------------------------

ENHANCED = 'A lone red fox curled in fresh powder snow at dawn, soft #F4B183 light, telephoto wildlife photo'


def test_enhance_rewrites_the_scene_and_keeps_the_original(run, fake):
    fake.enqueue("chat", openrouter_text_reply(ENHANCED, model="google/gemini-3.1-flash-lite", cost=0.0002))
    doc = assert_one_json(run("generate.py", "--prompt", "a fox in snow", "--enhance"))
    assert doc["warnings"] == []
    (enhancer,) = text_calls(fake)
    (image,) = image_calls(fake)
    assert enhancer.json["model"] == "google/gemini-3.1-flash-lite" and enhancer.json["messages"][0]["role"] == "system"
    assert "Target: FLUX" in enhancer.json["messages"][1]["content"]
    assert enhancer.json["messages"][1]["content"].endswith("Prompt: a fox in snow")
    assert image.json["messages"][-1]["content"] == ENHANCED
    assert doc["prompt"] == "a fox in snow" and doc["enhanced_prompt"] == ENHANCED
    assert doc["prompt_enhancement"]["applied"] is True and doc["prompt_enhancement"]["cost_usd"] == 0.0002
    sidecar = json.loads(Path(doc["sidecar"]).read_text())["request"]
    assert sidecar["prompt"] == "a fox in snow" and sidecar["enhanced_prompt"] == ENHANCED


def test_enhance_model_and_target_shape_follow_the_flags(run, fake):
    fake.enqueue("chat", openrouter_text_reply('A poster reading "OPEN" in bold serif letters'))
    doc = assert_one_json(run("generate.py", "--prompt", 'a poster reading "OPEN"', "--model", "gpt-5-image",
                              "--aspect-ratio", "2:3", "--enhance", "--enhance-model", "openai/gpt-4.1-mini"))
    assert doc["warnings"] == []
    enhancer = text_calls(fake)[0].json
    assert enhancer["model"] == "openai/gpt-4.1-mini" and "Target: GPT-5 Image" in enhancer["messages"][1]["content"]
    assert doc["prompt_enhancement"]["model"] == "openai/gpt-4.1-mini"


@pytest.mark.parametrize("reply, fragment", [
    (error_reply(500, "upstream down"), "prompt enhancement failed"),
    (openrouter_text_reply("   "), "prompt enhancement returned nothing usable"),
    (openrouter_text_reply("A poster with bold serif letters"), 'dropped the quoted text "OPEN"'),
])
def test_enhancer_failure_falls_back_to_the_original_prompt(run, fake, reply, fragment):
    fake.enqueue("chat", reply)
    result = run("generate.py", "--prompt", 'a poster reading "OPEN", gouache', "--model", "gpt-5-image",
                 "--aspect-ratio", "2:3", "--enhance", "--retries", "0")
    doc = assert_one_json(result)
    (warning,) = doc["warnings"]
    assert result.code == 0 and fragment in warning and fragment in result.stderr
    assert warning.startswith("prompt enhancement ") and warning.endswith("; the original prompt was used")
    assert image_calls(fake)[0].json["messages"][-1]["content"] == 'a poster reading "OPEN", gouache'
    assert doc["enhanced_prompt"] is None and doc["prompt_enhancement"]["applied"] is False


def test_enhance_dry_run_shows_the_enhancer_request_and_sends_nothing(run, fake):
    result = run("generate.py", "--prompt", "a fox in snow", "--enhance", "--dry-run",
                 env_extra={"OPENROUTER_API_KEY_IMAGES": ""})
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0 and fake.requests == []
    assert doc["enhance_request"]["url"] == fake.openrouter_url + "/chat/completions"
    assert doc["enhance_request"]["body"]["messages"][1]["content"].endswith("Prompt: a fox in snow")
    assert doc["prompt"] == "a fox in snow" and doc["prompt_enhancement"]["applied"] is False
    assert doc["request"]["body"]["messages"][-1]["content"] == "a fox in snow"


def test_enhance_on_an_edit_asks_to_keep_an_instruction(run, fake, workdir):
    (workdir / "base.png").write_bytes(make_png(4, 4))
    fake.enqueue("chat", openrouter_text_reply("Darken the sky to a deep stormy grey; leave everything else."))
    doc = assert_one_json(run("generate.py", "--prompt", "make it darker", "--model", "nanobanana-2",
                              "--baseline-image", "base.png", "--confirm-external-upload", "--enhance"))
    assert doc["warnings"] == []
    assert "how to change an attached image" in text_calls(fake)[0].json["messages"][1]["content"]
    text = image_calls(fake)[0].json["messages"][-1]["content"][0]["text"]
    assert text.startswith("The first attached image is the baseline.")
    assert text.endswith("Request: Darken the sky to a deep stormy grey; leave everything else.")
    assert doc["edit_intent_detected"] is True  # read from the user's prompt, not the rewrite


def test_enhance_is_not_called_when_the_output_name_is_taken(run, fake, workdir):
    (workdir / "taken.png").write_bytes(b"keep")
    result = run("generate.py", "--prompt", "a fox in snow", "--enhance", "--out", "taken.png")
    assert result.code == 2 and fake.requests == []
