"""models.py: the registry as JSON and table, the live catalogue cache, and the model card."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from imagegen.models import catalogue, describe, registry, table
from tests.conftest import ROOT, TEST_KEY, assert_one_json
from tests.fake_api import Reply, error_reply


def cache_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_CACHE_HOME"]) / "image-gen" / "models.json"


def live_models(*entries: tuple[str, list[str], list[str], dict[str, str]]) -> Reply:
    data = [{"id": model_id, "name": model_id, "architecture": {"input_modalities": inputs,
                                                               "output_modalities": outputs},
             "pricing": pricing} for model_id, inputs, outputs, pricing in entries]
    data.append({"id": "openai/gpt-4o", "architecture": {"input_modalities": ["text"],
                                                          "output_modalities": ["text"]}, "pricing": {}})
    return Reply(json={"data": data})


LIVE = live_models(
    ("black-forest-labs/flux.2-pro", ["text", "image"], ["image"],
     {"prompt": "0", "image": "0.01", "image_output": "0.06"}),
    ("google/gemini-2.5-flash-image", ["text", "image"], ["image", "text"],
     {"prompt": "0.0000003", "image": "0.0012", "image_output": "0.00006"}),
    ("openai/gpt-5-image-mini", ["text"], ["image", "text"], {"image_output": "0.00001"}),
    ("bytedance-seed/seedream-4.5", ["text", "image"], ["image"], {"image": "0.01", "image_output": "0.04"}),
    ("acme/sketcher", ["text"], ["image", "text"], {"image_output": "0.00002"}),
)


@pytest.mark.subprocess  # as an agent sees it: a real process, its stdout and exit status
def test_lists_the_registry_as_json(run, fake):
    result = run("models.py")
    doc = assert_one_json(result)
    assert result.code == 0 and doc["default_model"] == "flux.2-pro"
    by_alias = {m["alias"]: m for m in doc["models"]}
    assert list(by_alias) == registry.aliases()
    flux = by_alias["flux.2-pro"]
    assert flux["id"] == "black-forest-labs/flux.2-pro" and flux["output_modalities"] == ["image"]
    assert flux["pricing"] == {"kind": "per_mp", "source": "builtin", "guess": False,
                               "first_mp_usd": 0.03, "further_mp_usd": 0.015}
    assert flux["estimates_square_usd"] == {"1K": 0.03, "2K": 0.075, "4K": 0.255}
    assert by_alias["nanobanana-2"]["sizes"][0] == "0.5K"
    assert doc["catalogue"]["present"] is False and doc["refreshed"] is False
    assert fake.requests == []


@pytest.mark.subprocess
def test_table_is_for_people(run):
    result = run("models.py", "--table")
    assert result.code == 0 and not result.stdout.lstrip().startswith("{")
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["MODEL", "OUTPUT", "REFS"]
    assert any(line.startswith("nanobanana-pro ") and "$0.134" in line for line in lines)
    assert "prices: built-in" in result.stdout


@pytest.mark.parametrize("name, model_id", [("nanobanana", "google/gemini-2.5-flash-image"),
                                            ("NanoBanana-Pro", "google/gemini-3-pro-image"),
                                            ("openai/gpt-5-image", "openai/gpt-5-image"),
                                            ("acme/new-model", "acme/new-model")])
def test_alias_resolves_one_name(run, name, model_id):
    doc = assert_one_json(run("models.py", "--alias", name))
    assert doc["model"]["id"] == model_id
    assert doc["model"]["known"] is (model_id != "acme/new-model")


@pytest.mark.subprocess
def test_unknown_alias_is_a_usage_error(run):
    result = run("models.py", "--alias", "banana")
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "unknown_model" and "banana" in doc["error"]
    doc = assert_one_json(run("models.py", "--alias", "zebra"))
    assert doc["error_kind"] == "unknown_model" and "did you mean" not in doc["details"]


@pytest.mark.parametrize("typed, meant", [("nanobannana", "nanobanana"), ("NanoBanana-Pr", "nanobanana-pro"),
                                          ("flux2-pro", "flux.2-pro"), ("gpt-5-imag", "gpt-5-image")])
def test_a_mistyped_model_gets_a_did_you_mean(run, fake, typed, meant):
    """As a mistyped flag does: the near alias is named in the fix, and nothing is sent."""
    doc = assert_one_json(result := run("generate.py", "--prompt", "A red fox in snow", "--model", typed))
    assert result.code == 2 and doc["error_kind"] == "unknown_model"
    assert doc["details"].startswith(f"did you mean {meant}? "), doc["details"]
    assert fake.requests == []


def test_a_catalogue_that_is_not_found_is_no_endpoint_and_names_models_all_the_same(run, fake):
    fake.enqueue("models", error_reply(404, "Not Found"))
    doc = assert_one_json(result := run("models.py", "--refresh"))
    assert result.code == 1 and doc["error_kind"] == "no_endpoint" and doc["fallback_models"]


def test_refresh_caches_live_prices_and_offers_new_models(run, fake, env):
    fake.enqueue("models", LIVE)
    fake.enqueue("image_models", Reply(json={"data": []}))  # this test is about the chat-side list
    result = run("models.py", "--refresh")
    doc = assert_one_json(result)
    assert result.code == 0 and doc["refreshed"] is True
    (request,) = fake.requests_for("models")
    assert request.query == {"output_modalities": "image"}
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert doc["new_models"] == ["acme/sketcher", "bytedance-seed/seedream-4.5"]
    cached = json.loads(cache_file(env).read_text())
    assert {m["id"] for m in cached["models"]} == {e for e in [
        "black-forest-labs/flux.2-pro", "google/gemini-2.5-flash-image", "openai/gpt-5-image-mini",
        "bytedance-seed/seedream-4.5", "acme/sketcher"]}
    assert doc["catalogue"]["fresh"] is True and doc["catalogue"]["age"].endswith("s")
    models = {m["id"]: m for m in doc["models"]}
    flux = models["black-forest-labs/flux.2-pro"]["pricing"]
    assert flux == {"kind": "per_mp", "source": "live", "guess": False, "first_mp_usd": 0.06, "further_mp_usd": 0.03}
    nano = models["google/gemini-2.5-flash-image"]["pricing"]
    assert nano["source"] == "live" and nano["per_image_usd"]["1K"] == pytest.approx(0.078)
    mini = models["openai/gpt-5-image-mini"]
    assert mini["image_input"] is False and mini["max_reference_images"] == 0
    assert mini["pricing"]["per_million_image_tokens_usd"] == pytest.approx(10.0)
    seedream = models["bytedance-seed/seedream-4.5"]
    assert seedream["alias"] is None and seedream["output_modalities"] == ["image"]
    assert seedream["pricing"] == {"kind": "per_image", "source": "live", "guess": True,
                                   "per_image_usd": {"0.5K": 0.04, "1K": 0.04, "2K": 0.04, "4K": 0.04}}
    assert models["acme/sketcher"]["system_message"] is True
    assert "openai/gpt-4o" not in models  # text-only models are dropped even if the filter was ignored
    # From now on generation estimates with live prices.
    dry = assert_one_json(run("generate.py", "--prompt", "x", "--size", "1K", "--dry-run"))
    assert dry["cost_estimate_usd"] == 0.06 and "live price" in dry["cost_estimate_basis"]
    new = assert_one_json(run("generate.py", "--prompt", "x", "--model", "bytedance-seed/seedream-4.5", "--dry-run"))
    assert new["cost_estimate_usd"] == 0.04 and new["cost_estimate_is_guess"] is True
    assert new["request"]["body"]["modalities"] == ["image"]


def test_refresh_works_without_a_key(run, fake, env):
    result = run("models.py", "--refresh", env_extra={"OPENROUTER_API_KEY_IMAGES": None})
    assert result.code == 0, result.stdout
    assert "authorization" not in fake.requests_for("models")[0].headers


def test_stale_cache_is_ignored_but_its_age_is_shown(run, fake, env):
    fake.enqueue("models", LIVE)
    assert run("models.py", "--refresh").code == 0
    path = cache_file(env)
    doc = json.loads(path.read_text())
    doc["fetched_at_epoch"] = time.time() - catalogue.MAX_AGE_SECONDS - 3600
    path.write_text(json.dumps(doc))
    listed = assert_one_json(run("models.py"))
    assert listed["catalogue"]["present"] is True and listed["catalogue"]["fresh"] is False
    assert listed["catalogue"]["age"].startswith("7d")
    assert all(m["pricing"]["source"] == "builtin" for m in listed["models"])
    assert "bytedance-seed/seedream-4.5" not in {m["id"] for m in listed["models"]}
    assert "ignored" in run("models.py", "--table").stdout


def test_broken_cache_is_ignored(run, env):
    cache_file(env).parent.mkdir(parents=True)
    cache_file(env).write_text("{not json")
    doc = assert_one_json(run("models.py"))
    assert doc["catalogue"]["present"] is False and len(doc["models"]) == len(table.MODELS)


@pytest.mark.parametrize("reply, kind", [(error_reply(401, "No auth credentials found"), "auth"),
                                         (Reply(json={"models": []}), "provider_error")])
def test_refresh_failures_keep_the_old_cache(run, fake, env, reply, kind):
    fake.enqueue("models", reply)
    result = run("models.py", "--refresh", "--retries", "0")
    doc = assert_one_json(result)
    assert result.code == 1 and doc["error_kind"] == kind
    assert not cache_file(env).exists()
    assert TEST_KEY not in result.stdout + result.stderr


def test_committed_model_card_matches_the_registry(run, fake):
    fake.enqueue("models", LIVE)
    assert run("models.py", "--refresh").code == 0  # a live cache must not leak into the card
    result = run("models.py", "--markdown")
    committed = (ROOT / "references" / "model-card.md").read_text()
    assert result.code == 0 and result.stdout.startswith("# Model card\n")
    assert committed == result.stdout, "references/model-card.md is stale: run " + describe.CARD_COMMAND


def test_model_card_names_every_model():
    card = describe.markdown()
    for spec in table.MODELS:
        assert f"## {spec.alias}\n" in card and spec.id in card
