"""Small wire details the providers document: tiers, attribution, the model that served, the shape returned."""

from __future__ import annotations

import pytest

from imagegen.models.table import RETIRED_NOTES
from tests.conftest import assert_one_json
from tests.fake_api import chat_image_reply, images_reply, make_picture, make_png

PROMPT = "A lighthouse at dusk, oil painting"


def test_the_images_api_gets_its_documented_resolution_tiers(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2", "--api", "images",
                              "--size", "0.5K"))
    assert doc["warnings"] == []
    assert fake.requests_for("images")[0].json["resolution"] == "512"


def test_openrouter_calls_carry_app_attribution(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT,
                              env_extra={"IMAGEGEN_APP_URL": "https://example.org/app"}))
    assert doc["warnings"] == []
    headers = fake.requests_for("chat")[0].headers
    assert headers["http-referer"] == "https://example.org/app" and headers["x-openrouter-title"] == "image-gen"


def test_the_result_names_the_model_that_served(run, fake):
    fake.enqueue("chat", chat_image_reply(images=[make_picture(2048, 2048)],
                                          model="google/gemini-3.1-flash-image-20261101"))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2"))
    assert doc["model"] == "google/gemini-3.1-flash-image" and doc["model_alias"] == "nanobanana-2"
    assert doc["served_model"] == "google/gemini-3.1-flash-image-20261101" and doc["warnings"] == []


def test_an_image_smaller_or_of_another_shape_than_asked_is_flagged(run, fake):
    fake.enqueue("chat", chat_image_reply(images=[make_png(296, 216)]))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--size", "2K", "--aspect-ratio", "1:1"))
    assert doc["warnings"] == ["asked for about 2048x2048 but the provider returned 296x216: its aspect ratio "
                               "differs and it is smaller than asked (check the model's supported sizes, or ask again)"]


def test_an_image_of_the_asked_shape_is_not_flagged(run, fake):
    fake.enqueue("chat", chat_image_reply(images=[make_png(1024, 576)]))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--size", "1K", "--aspect-ratio", "16:9"))
    assert doc["warnings"] == []


def test_defaults_can_be_set_without_editing_code(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, env_extra={"IMAGEGEN_MODEL": "gpt-5-image"}))
    assert doc["warnings"] == []
    assert doc["model"] == "openai/gpt-5-image"
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "flux.2-klein",
                              env_extra={"IMAGEGEN_MODEL": "gpt-5-image"}))
    (learned,) = doc["warnings"]  # the fake charges klein the $0.04 of every call: the price is learned
    assert learned.startswith("the provider charged $0.0400 for a call estimated at")
    assert doc["model"] == "black-forest-labs/flux.2-klein-4b"  # the flag wins


def test_a_reply_with_more_images_than_asked_keeps_the_extras_apart(run, fake, workdir):
    (workdir / "a-2.png").write_bytes(b"the user's own file")
    fake.enqueue("images", images_reply(images=[make_png(8, 8)] * 5))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--api", "images", "--out", "a.png", "--overwrite"))
    assert doc["image_count"] == 1 and doc["all_paths"] == [str(workdir / "a.png")]
    assert (workdir / "a-2.png").read_bytes() == b"the user's own file"
    assert doc["warnings"] == [
        "the provider returned 4 more image(s) than the 1 asked for, billed at about $0.0320; 4 saved beside the "
        "others (extra_paths)",
        "asked for about 2048x2048 but the provider returned 8x8: it is smaller than asked (check the model's "
        "supported sizes, or ask again)"]  # the 8x8 images the test sends
    assert doc["extra_paths"] == [str(workdir / f"a-{number}.png") for number in range(3, 7)]


def test_a_cost_the_reply_left_out_is_looked_up_after_saving(run, fake):
    fake.enqueue("chat", chat_image_reply(cost=None, gen_id="gen-lookup-1"))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2"))
    assert doc["cost_usd"] == 0.04 and doc["cost_usd_source"] == "generation lookup" and doc["warnings"] == []
    (lookup,) = fake.requests_for("generation")
    assert lookup.query["id"] == "gen-lookup-1" and lookup.headers["authorization"].startswith("Bearer ")


def test_a_looked_up_charge_well_above_its_estimate_is_warned_as_a_reported_one(run, fake):
    from tests.fake_api import Reply

    fake.enqueue("chat", chat_image_reply(cost=None))
    fake.enqueue("generation", Reply(json={"data": {"total_cost": 0.102}}))
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "flux.2-pro", "--size", "1K"))
    assert result.code == 0 and doc["cost_usd"] == 0.102 and doc["cost_usd_source"] == "generation lookup"
    assert doc["warnings"] == ["the provider charged $0.1020 for a call estimated at $0.0300 (3.4x); later estimates "
                               "of this model and size use the observed price"]


def test_a_failed_cost_lookup_is_a_warning_not_a_failure(run, fake):
    from tests.fake_api import error_reply

    fake.enqueue("chat", chat_image_reply(cost=None))
    fake.enqueue("generation", *[error_reply(404, "Generation not found")] * 3)
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2"))
    assert result.code == 0 and doc["cost_usd"] is None and len(fake.requests_for("generation")) == 3
    assert doc["warnings"] == ["the cost of 1 call(s) is not known yet (the reply did not say and GET /generation "
                               "had no answer); the ledger counts them at their estimate"]


def test_a_model_retired_at_its_maker_says_so(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana"))
    (warning,) = doc["warnings"]
    assert warning == RETIRED_NOTES["google/gemini-2.5-flash-image"]
    assert "discontinued gemini-2.5-flash-image" in warning and "gemini-3.1-flash-lite-image" in warning


@pytest.mark.parametrize("script, extra", [("generate.py", ()), ("enqueue_image_job.py", ("--out", "q/a.png")),
                                           ("enqueue_variants.py", ("--count", "2"))])
def test_a_dry_run_carries_the_warnings_a_real_run_would(run, fake, script, extra):
    """The JSON an agent reads says what stderr says: the retired-model note, before anything is paid."""
    doc = assert_one_json(result := run(script, "--prompt", PROMPT, "--model", "nanobanana", "--dry-run", *extra))
    assert result.code == 0 and doc["dry_run"] is True and fake.requests == []
    assert any("discontinued gemini-2.5-flash-image" in w for w in doc["warnings"]), doc
    quiet = assert_one_json(run(script, "--prompt", PROMPT, "--model", "nanobanana-2", "--dry-run", *extra))
    assert quiet["warnings"] == []


def test_a_taken_sidecar_name_or_a_dangling_symlink_is_refused_before_paying(run, fake, workdir):
    (workdir / "a.png.json").write_text('{"someone": "else"}')
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--out", "a.png"))
    assert result.code == 2 and doc["error_kind"] == "output_exists" and "a.png.json" in doc["error"]
    (workdir / "b.png").symlink_to(workdir / "nowhere.png")
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--out", "b.png"))
    assert result.code == 2 and doc["error_kind"] == "output_exists"
    assert fake.requests_for("chat") == [] and (workdir / "a.png.json").read_text() == '{"someone": "else"}'
