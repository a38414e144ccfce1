"""Models that follow the providers: aliases and defaults as chains resolved against each route's
catalogue, a model the provider says is gone (its own not-found reply) mended or named in
fallback_models, expiry seen before it bites, and shut-down ids never sent."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from imagegen.models.table import RETIRED_NOTES
from tests.conftest import assert_one_json, ledger_entries
from tests.fake_api import (
    GEMINI_TEST_KEY,
    gemini_models_reply,
    model_entry,
    models_reply,
    openrouter_no_endpoints_reply,
)

PROMPT = "A lighthouse at dusk, oil painting"
GEMINI_KEY = GEMINI_TEST_KEY  # the key the fake accepts
GA, PREVIEW = "google/gemini-3.1-flash-image", "google/gemini-3.1-flash-image-preview"
GONE_REVIEWER = ("the default review model claude-sonnet-4-6 is gone (HTTP 404: model: claude-sonnet-4-6); "
                 "tried claude-haiku-4-5 instead")


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "GEMINI_API_KEY": GEMINI_KEY}


def refresh(run, fake, entries: list[dict], google: list[str] | None = None) -> dict:
    """models.py --refresh against a catalogue of ``entries`` (and Google's list of ``google``)."""
    fake.enqueue("models", models_reply(entries))
    fake.enqueue("image_models", models_reply([]))  # no discovery: the chat-side list alone
    if google is not None:
        fake.enqueue("gemini_models", gemini_models_reply(google))
    doc = assert_one_json(result := run("models.py", "--refresh"))
    assert result.code == 0 and doc["refreshed"] is True
    fake.clear()
    return doc


# -- resolution against the catalogue ------------------------------------------------------------

@pytest.mark.parametrize("listed, chosen", [
    ([GA, PREVIEW], GA),  # both listed: the first candidate
    ([GA], GA),  # only the GA id
    ([PREVIEW], PREVIEW),  # only the preview: the chain follows the catalogue, no code changes
])
def test_an_alias_resolves_to_the_first_candidate_the_catalogue_lists(run, fake, listed, chosen):
    refresh(run, fake, [model_entry(i) for i in listed])
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2", "--no-sidecar"))
    (request,) = fake.requests_for("chat")
    assert request.json["model"] == chosen and doc["model"] == chosen and doc["model_alias"] == "nanobanana-2"
    assert doc["warnings"] == []


@pytest.mark.parametrize("listed, chosen", [
    (["google/gemini-2.5-flash-image", "google/gemini-3.1-flash-lite-image"], "google/gemini-2.5-flash-image"),
    (["google/gemini-3.1-flash-lite-image"], "google/gemini-3.1-flash-lite-image"),  # Google's is gone
])
def test_nanobanana_on_openrouter_follows_the_catalogue_to_its_successor(run, fake, listed, chosen):
    refresh(run, fake, [model_entry(model_id) for model_id in listed])
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "nanobanana", "--dry-run"))
    assert result.code == 0 and doc["model"] == chosen, doc
    assert doc["warnings"] == ([RETIRED_NOTES[chosen]] if chosen in RETIRED_NOTES else [])
    if chosen.endswith("lite-image"):  # the successor's own capabilities: it makes 1K only
        assert doc["request"]["body"]["image_config"]["image_size"] == "1K"


def test_a_gone_nanobanana_on_openrouter_moves_to_its_successor_at_a_size_it_makes(run, fake):
    fake.gone_models = {"google/gemini-2.5-flash-image"}
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "nanobanana", "--no-sidecar"))
    sent = [(r.json["model"], r.json["image_config"]["image_size"]) for r in fake.requests_for("chat")]
    assert result.code == 0 and sent == [("google/gemini-2.5-flash-image", "2K"),
                                         ("google/gemini-3.1-flash-lite-image", "1K")], doc
    assert doc["model"] == "google/gemini-3.1-flash-lite-image" and doc["model_alias"] == "nanobanana"
    assert doc["warnings"] == [  # the move is warned, not foretold ("once the catalogue no longer lists it")
        "google/gemini-3.1-flash-lite-image does not make size 2K: 1K was asked for instead",
        "nanobanana resolved to google/gemini-2.5-flash-image, which the provider says is gone (HTTP 400: "
        "google/gemini-2.5-flash-image is not a valid model ID); tried google/gemini-3.1-flash-lite-image instead"]


def test_a_gone_model_moves_to_its_successor_at_the_nearest_ratio_it_makes(run, fake, monkeypatch):
    from imagegen.models import table

    lite = table.BY_ID["google/gemini-3.1-flash-lite-image"]
    monkeypatch.setitem(table.BY_ID, lite.id, lite._replace(ratios=("1:1", "3:2", "16:9")))
    fake.gone_models = {"google/gemini-2.5-flash-image"}
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "nanobanana",
                                        "--aspect-ratio", "21:9", "--no-sidecar"))
    sent = [(r.json["model"], r.json["image_config"]["aspect_ratio"]) for r in fake.requests_for("chat")]
    assert result.code == 0 and sent == [("google/gemini-2.5-flash-image", "21:9"),
                                         ("google/gemini-3.1-flash-lite-image", "16:9")], doc
    assert doc["warnings"] == [  # the move is warned, not foretold ("once the catalogue no longer lists it")
        "google/gemini-3.1-flash-lite-image does not make aspect ratio 21:9: 16:9, the nearest it makes, was asked "
        "for instead",
        "google/gemini-3.1-flash-lite-image does not make size 2K: 1K was asked for instead",
        "nanobanana resolved to google/gemini-2.5-flash-image, which the provider says is gone (HTTP 400: "
        "google/gemini-2.5-flash-image is not a valid model ID); tried google/gemini-3.1-flash-lite-image instead"]


def test_without_a_catalogue_the_first_candidate_and_no_catalogue_is_fetched(run, fake, env):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2"))
    assert doc["warnings"] == []
    assert [r.route for r in fake.requests] == ["chat"] and doc["model"] == GA
    sidecar = json.loads(Path(doc["path"] + ".json").read_text())
    assert sidecar["request"]["model"] == GA and sidecar["request"]["model_alias"] == "nanobanana-2"
    (line,) = ledger_entries(env)
    assert line["model"] == GA and line["model_alias"] == "nanobanana-2"


def test_a_named_id_reports_no_alias(run, fake, env):
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", PREVIEW, "--no-sidecar"))
    assert doc["warnings"] == []
    assert doc["model"] == PREVIEW and doc["model_alias"] is None
    assert "model_alias" not in ledger_entries(env)[0]


def test_a_catalogue_listing_no_candidate_says_so_and_tries_the_first(run, fake):
    refresh(run, fake, [model_entry("black-forest-labs/flux.2-pro", outputs=["image"])])
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2", "--dry-run"))
    assert doc["model"] == GA and doc["warnings"] == [
        f"none of nanobanana-2's models ({GA}, {PREVIEW}) is in OpenRouter's model list; trying {GA} unchecked "
        "(run models.py --refresh to update the list, or choose a model it has)"]  # one warning, not two alike


def test_google_resolves_against_its_own_model_list(run, fake):
    refresh(run, fake, [model_entry(GA)], google=["gemini-3-pro-image"])
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--provider", "google", "--model", "nanobanana-pro",
                              "--dry-run"))
    assert doc["model"] == "gemini-3-pro-image" and doc["model_alias"] == "nanobanana-pro"
    assert "gemini-3-pro-image:generateContent" in doc["request"]["url"] and doc["warnings"] == []


# -- model not found -----------------------------------------------------------------------------

def test_an_alias_whose_model_is_gone_moves_to_the_next_candidate_once(run, fake, env):
    fake.gone_models = {GA}  # OpenRouter answers 400 "<id> is not a valid model ID"
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2", "--no-sidecar"))
    assert result.code == 0 and [r.json["model"] for r in fake.requests_for("chat")] == [GA, PREVIEW]
    assert doc["model"] == PREVIEW and doc["model_alias"] == "nanobanana-2"
    assert doc["warnings"] == [f"nanobanana-2 resolved to {GA}, which the provider says is gone (HTTP 400: {GA} is "
                               f"not a valid model ID); tried {PREVIEW} instead"]
    failed, served = ledger_entries(env)
    assert failed["model"] == GA and failed["outcome"] == "error" and failed["error_kind"] == "model_unavailable"
    assert failed["cost_usd"] is None and served["model"] == PREVIEW and served["model_alias"] == "nanobanana-2"
    spend = assert_one_json(run("spend.py"))
    assert spend["today"]["cost_usd"] == pytest.approx(served["cost_usd"])  # the failed attempt cost nothing


def test_a_named_id_that_is_gone_is_model_unavailable_with_live_alternatives(run, fake, env):
    fake.gone_models = {PREVIEW}
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", PREVIEW))
    assert result.code == 1 and doc["error_kind"] == "model_unavailable" and doc["retryable"] is False
    assert doc["provider_message"] == f"{PREVIEW} is not a valid model ID"
    assert doc["fallback_models"][0] == GA and PREVIEW not in doc["fallback_models"]
    assert len(fake.requests_for("chat")) == 1 and ledger_entries(env)[0]["outcome"] == "error"


def test_fallback_models_follow_the_catalogue(run, fake):
    refresh(run, fake, [model_entry(GA), model_entry("acme/new-image", outputs=["image"])])
    fake.gone_models = {"openai/gpt-5-image"}
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "openai/gpt-5-image"))
    assert doc["error_kind"] == "model_unavailable" and doc["fallback_models"] == [GA, "acme/new-image"]


def test_no_endpoints_found_for_a_model_is_model_unavailable(run, fake):
    fake.enqueue("chat", openrouter_no_endpoints_reply("acme/old-image"))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "acme/old-image"))
    assert doc["error_kind"] == "model_unavailable" and doc["http_status"] == 404 and doc["fallback_models"]


def test_google_not_found_on_an_alias_is_mended_or_named(run, fake, env):
    fake.gone_models = {"gemini-3-pro-image"}  # Google's 404 NOT_FOUND, and the chain has nothing after it
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--provider", "google", "--model", "nanobanana-pro"))
    assert doc["error_kind"] == "model_unavailable" and doc["error_status"] == "NOT_FOUND"
    assert "is not found for API version v1beta" in doc["provider_message"]
    assert doc["fallback_models"] == ["gemini-3.1-flash-image", "gemini-3.1-flash-lite-image"]


def test_openai_model_not_found_names_the_others(run, fake):
    fake.gone_models = {"gpt-image-2"}
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--provider", "openai"))
    assert doc["error_kind"] == "model_unavailable" and doc["error_code"] == "model_not_found"
    assert doc["fallback_models"] and "gpt-image-2" not in doc["fallback_models"]


def test_a_gone_default_review_model_gives_way_to_the_next(run, fake, workdir, env):
    from tests.fake_api import make_png

    (workdir / "a.png").write_bytes(make_png(64, 64))
    fake.gone_models = {"claude-sonnet-4-6"}  # Anthropic's 404 not_found_error "model: <id>"
    doc = assert_one_json(result := run("review.py", "--image", "a.png", "--original-prompt", PROMPT, "--auto"))
    assert result.code == 0 and [r.json["model"] for r in fake.requests_for("messages")] == [
        "claude-sonnet-4-6", "claude-haiku-4-5"]
    assert doc["model_alias"] == "review-default" and doc["warnings"] == [GONE_REVIEWER]
    named = assert_one_json(run("review.py", "--image", "a.png", "--original-prompt", PROMPT, "--auto",
                                "--review-model", "claude-sonnet-4-6"))
    assert named["error_kind"] == "model_unavailable" and named["fallback_models"][0] == "claude-haiku-4-5"


def test_a_gone_default_enhancer_gives_way_to_the_next(run, fake):
    fake.gone_models = {"google/gemini-3.1-flash-lite"}
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--enhance", "--no-sidecar"))
    models = [r.json["model"] for r in fake.requests_for("chat")]
    assert models[:2] == ["google/gemini-3.1-flash-lite", "google/gemini-3.5-flash"]
    assert doc["prompt_enhancement"]["model"] == "google/gemini-3.5-flash"
    assert doc["prompt_enhancement"]["applied"] is True
    assert doc["warnings"] == ["the default enhancement model google/gemini-3.1-flash-lite is gone; "
                               "tried google/gemini-3.5-flash instead"]


def test_the_openrouter_review_and_enhance_chains_resolve_against_the_cached_text_models(run, fake, workdir, env):
    from tests.fake_api import make_png, text_models_reply

    (workdir / "a.png").write_bytes(make_png(64, 64))
    fake.enqueue("text_models", text_models_reply(["google/gemini-3.1-flash-lite", "anthropic/claude-sonnet-4.6"]))
    doc = refresh(run, fake, [model_entry(GA)])
    assert doc["text_models"] == "2 text models"
    review = assert_one_json(run("review.py", "--image", "a.png", "--original-prompt", PROMPT, "--auto",
                                 "--provider", "openrouter"))
    # google/gemini-3.5-flash heads the chain but the list lacks it: the second is asked, and only it
    assert [r.json["model"] for r in fake.requests_for("chat")] == ["google/gemini-3.1-flash-lite"], review
    assert review["warnings"] == []
    fake.clear()
    fake.enqueue("text_models", text_models_reply(["google/gemini-3.5-flash"]))
    refresh(run, fake, [model_entry(GA)])
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--enhance", "--no-sidecar"))
    assert [r.json["model"] for r in fake.requests_for("chat")][0] == "google/gemini-3.5-flash"
    assert doc["warnings"] == [  # the refreshed list names no image model: only GA
        "none of flux.2-pro's models (black-forest-labs/flux.2-pro) is in OpenRouter's model list; trying "
        "black-forest-labs/flux.2-pro unchecked (run models.py --refresh to update the list, or choose a model it has)"]


@pytest.mark.parametrize("args, unable", [
    (("--aspect-ratio", "8:1", "--model", "flux.2-pro"), "black-forest-labs/"),  # no FLUX makes 8:1
    (("--model", "flux.2-klein", "--style-ref", "ref.png"), "black-forest-labs/flux.2-klein"),  # takes no images
    (("--provider", "openai", "--model", "gpt-image-2.6-flare", "--aspect-ratio", "4:1"), "gpt-image-"),
    (("--provider", "openai", "--model", "gpt-image-2", "--style-ref", "ref.png"), "gpt-image-"),
    (("--provider", "openai", "--model", "gpt-image-2.5-flare", "--size", "4K"), "gpt-image-2.5"),  # 2 can
])
def test_every_unsupported_error_names_models_that_can(run, fake, workdir, args, unable):
    from tests.fake_api import make_png

    (workdir / "ref.png").write_bytes(make_png(8, 8))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, *args))
    assert doc["error_kind"] == "unsupported" and doc["fallback_models"]
    assert not any(m.startswith(unable) for m in doc["fallback_models"]) and fake.requests == []


def test_an_edit_with_input_images_on_an_openai_model_names_models_that_take_images(run, fake, workdir):
    from tests.fake_api import make_png

    (workdir / "x.png").write_bytes(make_png(8, 8))
    doc = assert_one_json(run("edit.py", "--input-image", "x.png", "--prompt", PROMPT, "--model", "gpt-image-2",
                              "--dry-run"))
    assert doc["error_kind"] == "unsupported" and doc["fallback_models"], doc
    assert not any(m.startswith("gpt-image-") for m in doc["fallback_models"]) and fake.requests == []


@pytest.mark.parametrize("args", [
    ("--openai-model", "gpt-image-2.5-flare", "--openai-size", "999x999"),  # makes three frames
    ("--openai-model", "gpt-image-2.5-flare", "--size", "2K"),  # --size picks gpt-image-2's frames
    ("--openai-model", "gpt-image-2", "--openai-size", "1000x1000"),  # not a multiple of 16
])
def test_every_unsupported_openai_option_names_models_that_can(run, fake, workdir, args):
    from tests.fake_api import make_png

    (workdir / "a.png").write_bytes(make_png(8, 8))
    doc = assert_one_json(run("edit.py", "--input-image", "a.png", "--mask-rect", "0,0,4,4", "--prompt", PROMPT, *args))
    assert doc["error_kind"] == "unsupported" and doc["fallback_models"], doc
    assert fake.requests == []


# -- expiry and retirement -----------------------------------------------------------------------

@pytest.mark.parametrize("days, words", [(10, "expires on"), (-3, "expired on")])
def test_a_model_near_or_past_its_expiration_date_warns_with_the_date_and_successor(run, fake, days, words):
    day = (dt.date.today() + dt.timedelta(days=days)).isoformat()
    refresh(run, fake, [model_entry(GA, expiration_date=day), model_entry(PREVIEW)])
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2", "--dry-run"))
    (warning,) = doc["warnings"]
    assert f"{GA} {words} {day}" in warning and PREVIEW in warning
    model = assert_one_json(run("models.py", "--alias", "nanobanana-2"))["model"]
    assert model["expiration_date"] == day and model["warnings"] == [warning]
    assert f"warning: {warning}" in run("models.py", "--table").stdout


def test_a_distant_expiration_date_is_not_a_warning(run, fake):
    day = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    refresh(run, fake, [model_entry(GA, expiration_date=day)])
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2", "--dry-run"))
    assert doc["warnings"] == []


@pytest.mark.parametrize("model, model_id", [
    ("flux.2-pro", "black-forest-labs/flux.2-pro"),  # an alias with a single candidate
    ("openai/gpt-5-image", "openai/gpt-5-image"),  # a named full id
])
@pytest.mark.parametrize("days", [10, 400])
def test_an_expiration_date_on_a_model_with_no_next_candidate_resolves(run, fake, model, model_id, days):
    day = (dt.date.today() + dt.timedelta(days=days)).isoformat()
    refresh(run, fake, [model_entry(model_id, expiration_date=day), model_entry(GA)])
    listed = assert_one_json(result := run("models.py"))
    assert result.code == 0 and listed["success"] is True
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", model, "--dry-run"))
    assert result.code == 0 and doc["model"] == model_id
    expiring = [f"{model_id} expires on {day} ({days} days from now); use {GA}"]
    assert doc["warnings"] == (expiring if days < 30 else [])
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", model, "--aspect-ratio", "8:1"))
    assert doc["error_kind"] == "unsupported" and doc["fallback_models"], doc
    assert fake.requests == []


def test_a_stale_google_model_list_is_refreshed_after_a_run_not_before(run, fake, env):
    import os
    import time

    refresh(run, fake, [model_entry(GA)], google=["gemini-3.1-flash-image"])
    cache = Path(env["XDG_CACHE_HOME"]) / "image-gen" / "models-google.json"
    old = time.time() - 2 * 24 * 3600
    os.utime(cache, (old, old))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--provider", "google", "--dry-run"))
    assert fake.requests == [] and doc["warnings"] == []  # a dry run fetches nothing
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--provider", "google", "--no-sidecar"))
    assert doc["warnings"] == []
    assert [r.route for r in fake.requests] == ["gemini", "gemini_models"]
    assert time.time() - cache.stat().st_mtime < 60


def test_no_endpoints_for_these_settings_stays_no_endpoint_and_names_others(run, fake):
    from tests.fake_api import error_reply

    fake.enqueue("chat", error_reply(404, "No endpoints found that support the requested output modalities: image, "
                                          "text"))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "acme/image-only"))
    assert doc["error_kind"] == "no_endpoint" and doc["fallback_models"]


def test_generate_image_default_resolves_to_a_live_model(run, fake):
    doc = assert_one_json(run("generate_image.py", "--prompt", PROMPT, "--no-sidecar"))
    assert doc["warnings"] == []
    assert fake.requests_for("chat")[0].json["model"] == GA and doc["model_alias"] == "nanobanana-2"


@pytest.mark.parametrize("model", ["nanobanana-2", "google/gemini-3.1-flash-image-preview"])
def test_batch_mode_resolves_the_same_way_and_never_sends_a_preview(run, fake, workdir, env, model):
    result = run("enqueue_variants.py", "--prompt", PROMPT, "--model", model, "--count", "1", "--via", "batch",
                 "--request-id", "b1", "--out-dir", "out", "--prefix", "b1", "--quiet")
    assert result.code == 0, result.stdout
    job = json.loads(next((workdir / "generated/imagegen-queue/pending").glob("*.json")).read_text())
    assert job["request"]["provider"] == "google"
    assert_one_json(run("run_image_queue.py", "--quiet", "--idle-exit-sec", "0"))
    (create,) = fake.requests_for("gemini_batch_create")
    assert create.path.endswith("/models/gemini-3.1-flash-image:batchGenerateContent")
    fake.gemini_batches.finish()
    assert_one_json(run("run_image_queue.py", "--quiet", "--idle-exit-sec", "0"))
    (saved,) = [line for line in ledger_entries(env) if line["outcome"] == "success"]
    assert saved["model"] == "gemini-3.1-flash-image"
    assert saved.get("model_alias") == ("nanobanana-2" if model == "nanobanana-2" else None)


# -- in-process: the chain rules -----------------------------------------------------------------

def test_choose_skips_shut_down_ids_and_offers_the_rest_in_order(base_env, monkeypatch):
    from imagegen.models import chains

    monkeypatch.setenv("XDG_CACHE_HOME", base_env["XDG_CACHE_HOME"])  # no catalogue cached
    choice = chains.choose(("gemini-3.1-flash-image-preview", "gemini-3.1-flash-image"), "google", "x")
    assert choice == chains.Choice("gemini-3.1-flash-image", "x", (), ())
    choice = chains.choose((GA, PREVIEW), "openrouter", "nanobanana-2")
    assert choice.id == GA and choice.rest == (PREVIEW,)


def test_every_alias_has_a_live_first_candidate_on_each_route():
    from imagegen.models import chains

    for alias, routes in chains.ALIASES.items():
        for route, ids in routes.items():
            assert ids and ids[0] not in chains.SHUT_DOWN.get(route, {}), (alias, route)
    for (role, route), ids in chains.DEFAULTS.items():
        assert ids and "gemini-2.5-flash" not in ids[0], (role, route)


def test_the_help_defaults_are_the_heads_of_the_default_chains():
    from imagegen.models import chains
    from imagegen.prompt import choices

    assert choices.DEFAULT_ENHANCE_MODEL == chains.DEFAULTS[("enhance", "openrouter")][0]
    assert choices.DEFAULT_REVIEW_MODELS == {route: chains.DEFAULTS[("review", route)][0]
                                            for route in ("anthropic", "openrouter")}


@pytest.mark.parametrize("expires, days, words", [
    ("2026-12-20", 14, "expires on 2026-12-20 (14 days from now); use b"),
    ("2026-12-01T00:00:00Z", -5, "expired on 2026-12-01"),
    ("2027-03-01", None, None),
    ("not a date", None, None),
])
def test_expiry_warning(expires, days, words):
    from imagegen.models import chains

    warning = chains.expiry_warning("a", expires, "b", today=dt.date(2026, 12, 6))
    assert (warning is None) if words is None else (words in warning)


def test_a_batch_refused_for_a_gone_model_fails_its_jobs_with_live_alternatives(run, fake, workdir):
    from tests.fake_api import gemini_not_found_reply

    result = run("enqueue_variants.py", "--prompt", PROMPT, "--model", "nanobanana-pro", "--count", "1", "--via",
                 "batch", "--request-id", "b2", "--out-dir", "out", "--prefix", "b2", "--quiet")
    assert result.code == 0, result.stdout
    fake.enqueue("gemini_batch_create", gemini_not_found_reply("gemini-3-pro-image"))
    assert_one_json(run("run_image_queue.py", "--quiet", "--idle-exit-sec", "0"))
    (failed,) = (workdir / "generated/imagegen-queue/failed").glob("*.json")
    job = json.loads(failed.read_text())
    assert job["error_kind"] == "model_unavailable" and job["fallback_models"][0] == "gemini-3.1-flash-image"


def test_when_every_candidate_is_gone_the_error_names_the_last_and_neither_is_offered(run, fake, env):
    fake.gone_models = {GA, PREVIEW}
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--model", "nanobanana-2"))
    assert doc["error_kind"] == "model_unavailable" and doc["model"] == PREVIEW
    assert doc["fallback_models"] and not {GA, PREVIEW} & set(doc["fallback_models"])
    assert [line["model"] for line in ledger_entries(env)] == [GA, PREVIEW]
    assert len(fake.requests_for("chat")) == 2  # once each, never more


@pytest.mark.parametrize("content", [b"not json", b'{"ids": "x", "fetched_at_epoch": 1}', b"[" * 100000, None],
                         ids=["not-json", "ids-not-a-list", "deep", "fifo"])
def test_a_broken_or_hostile_model_list_is_no_list(run, fake, env, content):
    import os

    cache = Path(env["XDG_CACHE_HOME"]) / "image-gen" / "models-google.json"
    cache.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        os.mkfifo(cache)  # would block a plain open
    else:
        cache.write_bytes(content)
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--provider", "google", "--dry-run"))
    assert doc["model"] == "gemini-3.1-flash-image" and doc["warnings"] == []


def test_the_review_loop_moves_past_a_gone_default_review_model(run, fake):
    fake.gone_models = {"claude-sonnet-4-6"}
    fake.script_reviews("accept")
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--review", "--out", "out/a.png"))
    assert result.code == 0 and doc["stop_reason"] == "accepted"
    assert [r.json["model"] for r in fake.requests_for("messages")] == ["claude-sonnet-4-6", "claude-haiku-4-5"]
    assert doc["warnings"] == [GONE_REVIEWER]
