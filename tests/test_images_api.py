"""generate.py --api images: OpenRouter's Images API, same contract as the chat path."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from imagegen.models.table import RETIRED_NOTES
from tests.conftest import TEST_KEY, assert_one_json
from tests.fake_api import Reply, error_reply, html_reply, images_reply, make_png, make_webp


def test_images_api_request_result_and_sidecar(run, fake, workdir):
    result = run("generate.py", "--prompt", "A fox sticker", "--api", "images", "--model", "nanobanana",
                 "--aspect-ratio", "16:9", "--size", "1K", "--seed", "7", "--quality", "high",
                 "--output-format", "png", "--background", "transparent")
    doc = assert_one_json(result)
    assert result.code == 0 and fake.requests_for("chat") == []
    assert doc["warnings"] == [RETIRED_NOTES["google/gemini-2.5-flash-image"]]  # and not a word on the 1344x768 frame
    (request,) = fake.requests_for("images")
    assert request.path == "/api/v1/images" and request.headers["authorization"] == f"Bearer {TEST_KEY}"
    assert request.json == {"model": "google/gemini-2.5-flash-image", "prompt": "A fox sticker", "resolution": "1K",
                            "aspect_ratio": "16:9", "quality": "high", "output_format": "png",
                            "background": "transparent", "seed": 7, "n": 1}
    path = Path(doc["path"])
    assert path.exists() and path.name.endswith("-nanobanana.png") and doc["format"] == "png"
    assert doc["cost_usd"] == 0.04 and doc["api"] == "images" and doc["background"] == "transparent"
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert sidecar["request"]["api"] == "images" and sidecar["request"]["quality"] == "high"
    assert sidecar["request"]["prompt_upsampling"] is None


def test_defaults_and_references(run, fake, workdir):
    (workdir / "ref.png").write_bytes(make_png(8, 8))
    doc = assert_one_json(run("generate.py", "--prompt", "A harbour", "--api", "images", "--style-ref", "ref.png"))
    assert doc["warnings"] == []
    body = fake.requests_for("images")[0].json
    assert body["model"] == "black-forest-labs/flux.2-pro" and body["resolution"] == "2K"
    assert body["aspect_ratio"] == "1:1" and body["n"] == 1
    assert "quality" not in body and "prompt_upsampling" not in body and "modalities" not in body
    assert body["input_references"] == [
        {"type": "image_url",
         "image_url": {"url": "data:image/png;base64," + base64.b64encode(make_png(8, 8)).decode()}}]


def test_count_is_one_call_with_n(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", "x", "--api", "images", "--n", "3", "--no-sidecar"))
    assert doc["warnings"] == []
    (request,) = fake.requests_for("images")
    assert request.json["n"] == 3 and doc["image_count"] == 3 and len(set(doc["all_paths"])) == 3


def test_fewer_images_than_asked_is_a_warning(run, fake):
    fake.enqueue("images", images_reply([make_png(4, 4)]))
    doc = assert_one_json(run("generate.py", "--prompt", "x", "--api", "images", "--n", "2"))
    assert doc["image_count"] == 1 and doc["warnings"] == [
        "asked for about 2048x2048 but the provider returned 4x4: it is smaller than asked (check the model's "
        "supported sizes, or ask again)", "asked for 2 images, the Images API returned 1"]


def test_webp_reply_is_saved_as_webp(run, fake):
    webp = make_webp(2048, 2048) + b"\x00" * 16
    fake.enqueue("images", images_reply([webp], media_type="image/webp"))
    doc = assert_one_json(run("generate.py", "--prompt", "x", "--api", "images", "--output-format", "webp"))
    assert doc["format"] == "webp" and doc["path"].endswith(".webp") and (doc["width"], doc["height"]) == (2048, 2048)
    assert doc["warnings"] == []


@pytest.mark.parametrize("args, fragment", [
    (["--quality", "high"], "--quality only applies to the Images API"),
    (["--background", "transparent", "--output-format", "webp"], "--output-format, --background only apply"),
    (["--api", "images", "--background", "transparent", "--output-format", "jpeg"], "cannot be saved as JPEG"),
    (["--api", "other"], "invalid choice"),
    (["--api", "images", "--quality", "ultra"], "invalid choice"),
])
def test_refusals(run, fake, args, fragment):
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", *args))
    assert result.code == 2 and fragment in doc["error"] and fake.requests == []


def test_system_message_and_upsampling_flags_warn(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", "x", "--api", "images", "--model", "gpt-5-image",
                              "--system-prompt", "Watercolour only.", "--prompt-upsampling"))
    body = fake.requests_for("images")[0].json
    assert "system" not in json.dumps(body) and doc["system_message_used"] is False
    assert doc["warnings"] == ["prompt upsampling is a FLUX feature; ignored for gpt-5-image",
                               "the Images API takes no system message; it was not sent (use --api chat for it)",
                               "the Images API takes no prompt_upsampling; the flag was ignored"]


def test_dry_run_shows_the_images_request(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", "x", "--api", "images", "--quality", "low", "--dry-run",
                              env_extra={"OPENROUTER_API_KEY_IMAGES": ""}))
    assert doc["warnings"] == []
    assert fake.requests == [] and doc["dry_run"] is True
    assert doc["request"]["url"] == fake.openrouter_url + "/images"
    assert doc["request"]["body"] == {"model": "black-forest-labs/flux.2-pro", "prompt": "x", "resolution": "2K",
                                      "aspect_ratio": "1:1", "quality": "low", "n": 1}


@pytest.mark.parametrize("reply, kind, calls", [
    (error_reply(502, "generation failed"), "provider_error", 3),
    (html_reply(502), "provider_error", 3),
    (error_reply(400, "bad resolution"), "bad_request", 1),
    (error_reply(402, "no credits"), "credits", 1),
])
def test_images_api_failures(run, fake, reply, kind, calls):
    for _ in range(3):
        fake.enqueue("images", reply)
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", "--api", "images"))
    assert result.code == 1 and doc["error_kind"] == kind and len(fake.requests_for("images")) == calls


def test_reply_with_no_data_is_no_image(run, fake, workdir):
    fake.enqueue("images", Reply(json={"created": 1, "data": [], "usage": {"cost": 0}}))
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", "--api", "images"))
    assert result.code == 1 and doc["error_kind"] == "no_image"
