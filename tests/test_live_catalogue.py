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
    refresh(run)
    after = assert_one_json(run("generate.py", "--prompt", PROMPT, "--dry-run"))
    assert after["cost_estimate_usd"] == 0.12 and after["cost_estimate_basis"].endswith("(live price)")


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
    assert any("not in the live catalogue" in w for w in doc["warnings"])


def test_refresh_works_where_discovery_is_missing(run, fake):
    from tests.fake_api import error_reply

    fake.enqueue("image_models", error_reply(404, "Not found"))
    doc = refresh(run)
    assert doc["capabilities"].startswith("not available")


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
    assert doc["dry_run"] and fake.requests == []  # a dry run sends nothing, not even this
    assert_one_json(run("generate.py", "--prompt", PROMPT))
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
