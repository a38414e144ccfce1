"""The live catalogue: capabilities and per-endpoint prices from OpenRouter's image discovery."""

from __future__ import annotations

import json

from tests.conftest import assert_one_json

PROMPT = "A lighthouse at dusk, oil painting"


def refresh(run) -> dict:
    doc = assert_one_json(result := run("models.py", "--refresh"))
    assert result.code == 0 and doc["refreshed"] is True
    return doc


def test_refresh_reads_discovery_and_each_endpoint(run, fake, base_env):
    doc = refresh(run)
    assert doc["capabilities"] == "3 image models, 3 with endpoint prices"
    assert len(fake.requests_for("image_models")) == 1 and len(fake.requests_for("image_endpoints")) == 3
    cache = json.loads((__import__("pathlib").Path(base_env["XDG_CACHE_HOME"]) / "image-gen" / "models.json")
                       .read_text())
    flux = next(m for m in cache["models"] if m["id"] == "black-forest-labs/flux.2-pro")
    assert flux["supported_parameters"]["seed"] == {"type": "boolean"}
    assert flux["endpoint_pricing"] == [{"billable": "output_image", "unit": "megapixel", "cost_usd": 0.03}]


def test_estimates_use_endpoint_prices_and_say_where_a_price_came_from(run, fake):
    before = assert_one_json(run("generate.py", "--prompt", PROMPT, "--dry-run"))
    assert "built-in price table" in before["cost_estimate_basis"] and before["cost_estimate_usd"] == 0.075
    assert before["warnings"] == []
    refresh(run)
    after = assert_one_json(run("generate.py", "--prompt", PROMPT, "--dry-run"))
    assert after["cost_estimate_usd"] == 0.12 and after["cost_estimate_basis"].endswith("(live price)")
    assert after["warnings"] == []


def test_a_parameter_the_endpoints_do_not_take_is_refused_before_paying(run, fake):
    refresh(run)
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "gpt-5-image",
                                        "--aspect-ratio", "16:9"))
    assert result.code == 2 and doc["error_kind"] == "unsupported" and doc["parameter"] == "aspect_ratio"
    assert "takes 1:1, 2:3, 3:2" in doc["details"] and "black-forest-labs/flux.2-pro" in doc["details"]
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "gpt-5-image", "--seed", "7"))
    assert result.code == 2 and doc["parameter"] == "seed" and "flux.2-pro" in doc["details"]
    assert fake.requests_for("chat") == []


def test_a_model_the_catalogue_does_not_list_is_sent_with_a_warning(run, fake):
    refresh(run)
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "bytedance-seed/seedream-4.5"))
    assert result.code == 0
    assert doc["warnings"] == [
        "bytedance-seed/seedream-4.5 is not in the live catalogue: its parameters were not checked"]


def test_refresh_works_where_discovery_is_missing(run, fake):
    from tests.fake_api import error_reply

    fake.enqueue("image_models", error_reply(404, "Not found"))
    doc = refresh(run)
    assert doc["capabilities"].startswith("not available")
    # the catalogue still lists the model (from /models): it is not "not in the live catalogue"
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "gpt-5-image"))
    assert result.code == 0 and doc["warnings"] == []


def test_preflight_warns_when_a_configured_default_is_not_served(run, fake):
    refresh(run)
    doc = assert_one_json(run("preflight_check.py", "--json",
                              env_extra={"IMAGEGEN_MODEL": "bytedance-seed/seedream-4.5",
                                         "IMAGEGEN_EDIT_MODEL": "gpt-5-image"}))
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["IMAGEGEN_MODEL"]["ok"] is False and "not in the live catalogue" in checks["IMAGEGEN_MODEL"]["detail"]
    assert checks["IMAGEGEN_EDIT_MODEL"]["ok"] is True and checks["IMAGEGEN_MODEL"]["required"] is False


def test_a_cache_over_a_day_old_is_refreshed_after_a_paid_run(run, fake, base_env):
    import os
    import time
    from pathlib import Path

    refresh(run)
    cache = Path(base_env["XDG_CACHE_HOME"]) / "image-gen" / "models.json"
    old = time.time() - 2 * 24 * 3600
    os.utime(cache, (old, old))
    fake.clear()
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--dry-run"))
    assert doc["dry_run"] and fake.requests == [] and doc["warnings"] == []  # a dry run sends nothing, not even this
    assert assert_one_json(run("generate.py", "--prompt", PROMPT))["warnings"] == []
    assert len(fake.requests_for("models")) == 1 and len(fake.requests_for("image_models")) == 1
    assert time.time() - cache.stat().st_mtime < 60


def test_preflight_online_says_which_openai_image_models_the_key_can_use(run, fake):
    doc = assert_one_json(run("preflight_check.py", "--json", "--online"))
    check = next(c for c in doc["checks"] if c["name"] == "openai_models")
    assert check["ok"] is True and check["info"]["image_models"] == ["gpt-image-2", "gpt-image-2.5-flare"]
    doc = assert_one_json(run("preflight_check.py", "--json", "--online",
                              env_extra={"IMAGEGEN_OPENAI_EDIT_MODEL": "gpt-image-2.6-flare"}))
    check = next(c for c in doc["checks"] if c["name"] == "openai_models")
    assert check["ok"] is False and "IMAGEGEN_OPENAI_EDIT_MODEL=gpt-image-2" in check["fixup"]


def _endpoints_without_output_price(record):
    """The endpoints document of one model that prices only its input images (callable reply)."""
    from tests.fake_api import Reply

    model_id = record.path[len("/api/v1/images/models/"):-len("/endpoints")]
    if model_id != "black-forest-labs/flux.2-pro":
        return None
    endpoint = {"provider_name": "Black Forest Labs", "provider_slug": "black-forest-labs",
                "provider_tag": "black-forest-labs", "supported_parameters": {"seed": {"type": "boolean"}},
                "allowed_passthrough_parameters": [], "supports_streaming": False,
                "pricing": [{"billable": "input_image", "unit": "image", "cost_usd": 0.01}]}
    return Reply(json={"id": model_id, "endpoints": [endpoint]})


def test_refresh_counts_only_endpoints_that_price_an_output_image(run, fake):
    fake.enqueue("image_endpoints", *[_endpoints_without_output_price] * 3)
    doc = refresh(run)
    assert doc["capabilities"] == "3 image models, 2 with endpoint prices"
    # flux.2-pro's endpoint prices no output image: its price comes from GET /models (image_output),
    # and its parameters are the endpoint's definitive set (seed only), not the listing's union.
    models = {m["id"]: m for m in assert_one_json(run("models.py"))["models"]}
    assert models["black-forest-labs/flux.2-pro"]["pricing"]["first_mp_usd"] == 0.03
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--api", "images", "--n", "2",
                                        "--dry-run"))
    assert result.code == 2 and doc["error_kind"] == "unsupported" and doc["parameter"] == "n"


def test_an_endpoints_document_in_a_data_wrapper_is_still_read(run, fake):
    from tests.fake_api import Reply, image_endpoints_reply

    def wrapped(record):
        model_id = record.path[len("/api/v1/images/models/"):-len("/endpoints")]
        return Reply(json={"data": image_endpoints_reply(model_id).json})

    fake.enqueue("image_endpoints", *[wrapped] * 3)
    assert refresh(run)["capabilities"] == "3 image models, 3 with endpoint prices"


def test_a_token_priced_endpoint_prices_the_estimate(run, fake):
    refresh(run)
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, "--model", "gpt-5-image", "--dry-run"))
    assert "$40/M" in doc["cost_estimate_basis"] and doc["cost_estimate_basis"].endswith("(live price)")
    assert "warning" not in result.stderr and doc["warnings"] == []


def test_the_price_of_an_input_image_is_never_read_as_an_output_price(run, fake):
    from tests.fake_api import Reply

    entry = {"id": "black-forest-labs/flux.2-pro", "name": "FLUX.2 Pro",
             "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["image"]},
             "pricing": {"prompt": "0", "completion": "0", "image": "0.5"}}
    token = {"id": "openai/gpt-5-image", "name": "GPT-5 Image",
             "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["image", "text"]},
             "pricing": {"prompt": "0.00001", "completion": "0.00001", "image": "0.0001", "image_token": "0.00002"}}
    fake.enqueue("models", Reply(json={"data": [entry, token]}))
    fake.enqueue("image_models", Reply(json={"data": []}))
    refresh(run)
    models = {m["id"]: m for m in assert_one_json(run("models.py"))["models"]}
    assert models["black-forest-labs/flux.2-pro"]["pricing"]["source"] == "builtin"  # 0.5 is per input image
    assert models["openai/gpt-5-image"]["pricing"]["per_million_image_tokens_usd"] == 20.0  # image_token


def test_parameter_descriptors_are_read_as_documented():
    from imagegen.models.catalogue import accepts

    assert accepts({"type": "enum", "values": ["512", "1K"]}, "512") and not accepts({"type": "enum"}, "1K")
    assert accepts({"type": "enum", "values": ["1", "2"]}, 2)  # EnumCapability values are strings
    assert accepts({"type": "range", "min": 1, "max": 4}, 4) and not accepts({"type": "range", "min": 1, "max": 4}, 5)
    assert not accepts({"type": "range", "min": 0, "max": 1}, True) and not accepts({"type": "range"}, "2")
    assert accepts({"type": "boolean"}, 7) and accepts({"type": "boolean"}, None)  # present: accepted
    assert not accepts(None, 1)
