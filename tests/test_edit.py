"""edit.py as an agent runs it: both modes against the loopback fake, masks checked and drawn."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import OPENAI_TEST_KEY, TEST_KEY, assert_one_json
from tests.fake_api import (
    Reply,
    edits_reply,
    encode_png,
    make_gif,
    make_jpeg_header_only,
    make_picture,
    make_png,
    openai_error_reply,
    read_png_rgba,
)


@pytest.fixture
def photo(workdir: Path) -> Path:
    """A 300x200 PNG at ./data/input.png, where the seed's examples look for it."""
    (workdir / "data").mkdir(exist_ok=True)
    path = workdir / "data" / "input.png"
    path.write_bytes(make_png(300, 200))
    return path


@pytest.fixture
def mask(workdir: Path) -> Path:
    path = workdir / "data" / "mask.png"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(make_png(300, 200, rgba=True, color=(0, 0, 0, 0)))
    return path


def content_of(request) -> list:
    return request.json["messages"][-1]["content"]


# -- the seed's command lines ------------------------------------------------------------------

def test_seed_chat_edit_command(run, fake, photo, workdir):
    result = run("edit.py", "--mode", "openrouter", "--input-image", "./data/input.png",
                 "--prompt", "Change the background to a sunset beach", "--model", "gpt-5-image",
                 "--output-dir", "./data/")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0
    (request,) = fake.requests_for("chat")
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    body = request.json
    assert body["model"] == "openai/gpt-5-image" and body["modalities"] == ["image", "text"]
    text, image = content_of(request)
    assert text == {"type": "text", "text": "Change the background to a sunset beach"}
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(photo.read_bytes()).decode()
    assert body["image_config"]["aspect_ratio"] == "3:2"  # nearest the 300x200 input, not a square
    out = Path(doc["path"])
    assert out.parent == (workdir / "data").resolve() and out.name.endswith("-gpt-5-image-edit.png")
    assert doc["mode"] == "openrouter" and doc["model"] == "openai/gpt-5-image"
    parent = {"path": str(photo.resolve()), "sha256": hashlib.sha256(photo.read_bytes()).hexdigest()}
    assert {k: doc["parent"][k] for k in parent} == parent
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert {k: sidecar["request"]["parent"][k] for k in parent} == parent
    assert sidecar["request"]["mode"] == "openrouter"


def test_seed_chat_edit_with_nanobanana_pro(run, fake, photo):
    doc = assert_one_json(run("edit.py", "--mode", "openrouter", "--input-image", str(photo),
                              "--prompt", "Change the background to a sunset beach", "--model", "nanobanana-pro"))
    assert doc["warnings"] == []
    assert doc["model"] == "google/gemini-3-pro-image"
    assert fake.requests_for("chat")[0].json["model"] == "google/gemini-3-pro-image"


@pytest.mark.subprocess  # as an agent sees it: a real process, its stdout and exit status
@pytest.mark.parametrize("extra", [["--output-dir", "./data/"], []])
def test_seed_mask_edit_command(run, fake, photo, mask, workdir, extra):
    result = run("edit.py", "--mode", "openai", "--input-image", "./data/input.png", "--mask", "./data/mask.png",
                 "--prompt", "Replace masked area with a small bonsai tree", "--openai-size", "1024x1024", *extra)
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0
    (request,) = fake.requests_for("edits")
    assert request.headers["authorization"] == f"Bearer {OPENAI_TEST_KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert [(p.name, p.filename, p.content_type) for p in request.parts] == [
        ("prompt", None, None), ("model", None, None), ("n", None, None), ("size", None, None),
        ("image", "input.png", "image/png"), ("mask", "mask.png", "image/png"),
    ]
    assert request.form == {"prompt": "Replace masked area with a small bonsai tree", "model": "gpt-image-2",
                            "n": "1", "size": "1024x1024"}
    assert request.part("image").data == photo.read_bytes() and request.part("mask").data == mask.read_bytes()
    assert doc["mode"] == "openai" and doc["model"] == "gpt-image-2" and doc["image_count"] == 1
    assert Path(doc["path"]).name.endswith("-gpt-image-2-edit.png") and Path(doc["path"]).exists()
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert sidecar["request"]["parent"]["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert sidecar["request"]["mask"]["generated"] is False
    # gpt-image-2's rates: $5/M text in, $8/M image in, $30/M image out; no quality sent is auto, which
    # the fake bills at high: 7024 image tokens at 1024x1024
    assert doc["cost_usd"] == pytest.approx((50 * 5 + 150 * 8 + 7024 * 30) / 1e6)
    assert OPENAI_TEST_KEY not in result.stdout + result.stderr


# -- OpenRouter mode ---------------------------------------------------------------------------

def test_real_mime_and_requested_ratio_and_size(run, fake, workdir):
    (workdir / "shot.png").write_bytes(make_jpeg_header_only(640, 480))  # a JPEG with a .png name
    doc = assert_one_json(run("edit.py", "--input-image", "shot.png", "--prompt", "Make it night",
                              "--aspect-ratio", "16:9", "--size", "1K", "--n", "2", "--no-sidecar"))
    assert doc["warnings"] == []
    requests = fake.requests_for("chat")
    assert len(requests) == 2 and doc["image_count"] == 2
    assert content_of(requests[0])[1]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert requests[0].json["image_config"] == {"aspect_ratio": "16:9", "image_size": "1K"}


def test_style_ref_preset_and_system_prompt(run, fake, photo, workdir):
    (workdir / "ref.png").write_bytes(make_png(8, 8))
    doc = assert_one_json(run("edit.py", "--input-image", str(photo), "--prompt", "Add a red kite in the sky",
                              "--style-ref", "ref.png", "--preset", "illustrated-series",
                              "--system-prompt", "Keep the gouache look."))
    assert doc["warnings"] == []
    body = fake.requests_for("chat")[0].json
    assert body["model"] == "google/gemini-3-pro-image"  # the preset's model
    assert body["image_config"]["aspect_ratio"] == "3:2"  # the preset's ratio
    assert body["messages"][0] == {"role": "system", "content": "Keep the gouache look."}
    text, first, second = content_of(fake.requests_for("chat")[0])
    assert "first attached image is the image to edit" in text["text"]
    assert text["text"].endswith("Scene: Add a red kite in the sky")
    assert first["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(photo.read_bytes()).decode()
    assert second["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(make_png(8, 8)).decode()
    assert doc["style_refs"] == [str(workdir / "ref.png")] and doc["system_message_used"] is True


def test_images_api_edit_uses_input_references(run, fake, photo):
    doc = assert_one_json(run("edit.py", "--input-image", str(photo), "--prompt", "Make it winter",
                              "--api", "images", "--quality", "high", "--output-format", "webp"))
    assert doc["warnings"] == []
    assert fake.requests_for("chat") == []
    body = fake.requests_for("images")[0].json
    assert body["model"] == "openai/gpt-5-image" and body["prompt"] == "Make it winter"
    assert body["quality"] == "high" and body["output_format"] == "webp" and body["aspect_ratio"] == "3:2"
    assert body["input_references"] == [{"type": "image_url", "image_url": {
        "url": "data:image/png;base64," + base64.b64encode(photo.read_bytes()).decode()}}]
    assert doc["api"] == "images" and doc["parent"]["path"] == str(photo.resolve())


def test_chat_edit_dry_run_needs_no_key(run, fake, workdir):
    (workdir / "big.png").write_bytes(make_png(400, 400, noise=True))
    result = run("edit.py", "--input-image", "big.png", "--prompt", "Make it night", "--dry-run",
                 env_extra={"OPENROUTER_API_KEY_IMAGES": ""})
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert doc["dry_run"] is True and fake.requests == [] and len(result.stdout) < 5000
    assert doc["request"]["url"] == fake.openrouter_url + "/chat/completions"
    text, image = doc["request"]["body"]["messages"][0]["content"]
    assert text["text"] == "Make it night" and image["image_url"]["url"].startswith("data:image/png;base64,")
    assert doc["target_paths"][0].endswith("-gpt-5-image-edit.png") and doc["aspect_ratio"] == "1:1"


@pytest.mark.parametrize("args, kind, fragment", [
    (["--model", "flux.2-klein"], "unsupported", "does not accept"),
    (["--mode", "openrouter", "--mask", "m.png"], "usage", "--mask only works with --mode openai"),
    (["--mode", "openrouter", "--mask-rect", "0,0,5,5"], "usage", "--mode openai"),
    (["--openai-size", "1024x1024"], "usage", "--openai-size only works with --mode openai"),
    (["--quality", "high"], "usage", "Images API"),
    (["--mode", "openai", "--model", "gpt-5-image"], "usage", "use --openai-model instead of --model"),
    (["--mask-rect", "0,0,5,5", "--size", "1K", "--openai-model", "gpt-image-2.5-flare"], "unsupported",
     "use --openai-size 1024x1024"),
    (["--mode", "openai", "--api", "images"], "usage", "--api images only works with --mode openrouter"),
    (["--mode", "openai", "--preset", "default"], "usage", "--preset"),
    (["--mode", "openai", "--seed", "0"], "usage", "--seed only works with --mode openrouter"),
    (["--mode", "openai", "--background", "transparent", "--output-format", "jpeg"], "usage", "JPEG"),
    (["--input-image", "anim.gif", "--mode", "openai"], "usage", "expected png/jpeg/webp"),
    (["--mode", "nope"], "usage", "invalid choice"),
])
def test_refusals_send_nothing(run, fake, photo, workdir, args, kind, fragment):
    (workdir / "anim.gif").write_bytes(make_gif(4, 4))
    result = run("edit.py", "--input-image", str(photo), "--prompt", "x", *args)
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == kind, doc
    assert fragment in doc["error"] + (doc["details"] or "")
    assert fake.requests == []


# -- OpenAI mode: the form ---------------------------------------------------------------------

def test_every_openai_option_and_no_response_format(run, fake, photo, workdir):
    fake.enqueue("edits", edits_reply([make_picture(1536, 1024), make_picture(1536, 1024)]))
    doc = assert_one_json(run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "Add a hat",
                              "--openai-model", "gpt-image-2.5-flare", "--openai-size", "1536x1024",
                              "--openai-quality", "high", "--n", "2", "--output-format", "png",
                              "--background", "transparent", "--input-fidelity", "high"))
    request = fake.requests_for("edits")[0]
    assert request.form == {"prompt": "Add a hat", "model": "gpt-image-2.5-flare", "n": "2", "size": "1536x1024",
                            "quality": "high", "output_format": "png", "background": "transparent",
                            "input_fidelity": "high"}
    assert b"response_format" not in request.body
    assert request.part("mask") is None
    assert doc["image_count"] == 2 and len(set(doc["all_paths"])) == 2 and doc["warnings"] == []
    # the 2.x rates are assumed, and say so; the reply's token counts price it at them
    assert doc["cost_estimate_is_guess"] is True and "assumed rates" in doc["cost_estimate_basis"]
    assert isinstance(doc["cost_usd"], float)


def test_several_images_go_as_image_array_with_real_types(run, fake, photo, workdir):
    (workdir / "b.webp").write_bytes(b"RIFF" + b"\x00" * 4 + b"WEBPVP8X" + b"\x00" * 20)
    (workdir / "c.png").write_bytes(make_jpeg_header_only(10, 10))  # JPEG named .png
    doc = assert_one_json(run("edit.py", "--mode", "openai", "--input-image", str(photo), "--input-image", "b.webp",
                              "--input-image", "c.png", "--prompt", "Combine them"))
    assert doc["warnings"] == []
    request = fake.requests_for("edits")[0]
    assert request.parts_named("image") == []
    assert [(p.filename, p.content_type) for p in request.parts_named("image[]")] == [
        ("input.png", "image/png"), ("b.webp", "image/webp"), ("c.jpg", "image/jpeg")]


def test_awkward_file_names_and_prompt_survive_the_form(run, fake, workdir):
    name = 'my "best"\nshot – café\\.png'
    (workdir / name).write_bytes(make_png(20, 20))
    prompt = 'Write "SALE" on it\r\nthen add ünïcödé ✓ and a line with --boundary-- in it'
    result = run("edit.py", "--mode", "openai", "--input-image", name, "--prompt", prompt)
    assert result.code == 0, result.stdout
    assert assert_one_json(result)["warnings"] == []
    request = fake.requests_for("edits")[0]
    assert [p.name for p in request.parts] == ["prompt", "model", "n", "image"]
    assert request.form["prompt"] == prompt
    assert request.part("image").filename == "my %22best%22%0Ashot – café%5C.png"
    assert request.part("image").data == make_png(20, 20)


# -- OpenAI mode: mask checks ------------------------------------------------------------------

def _png_with_trns(width: int, height: int) -> bytes:
    data = make_png(width, height, color=(0, 0, 0))  # black is the transparent colour: every pixel is edited
    trns = b"\x00\x00\x00\x06tRNS" + b"\x00\x00" * 3
    import zlib
    trns += zlib.crc32(trns[4:]).to_bytes(4, "big")
    return data[:33] + trns + data[33:]


def _grey_alpha_png(width: int, height: int) -> bytes:
    png = encode_png(width, height, b"\x00\x00\x00\x00" * width * height, rgba=True)
    import struct
    import zlib
    header = struct.pack(">IIBBBBB", width, height, 8, 4, 0, 0, 0)
    ihdr = b"IHDR" + header
    # the colour type is all the check reads; the pixel data need not match it
    return png[:8] + struct.pack(">I", 13) + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:]


@pytest.mark.parametrize("mask_bytes, fragment", [
    (make_jpeg_header_only(300, 200), "is a JPEG file; the mask must be a PNG"),
    (make_png(300, 200), "has no alpha channel (PNG colour type 2, RGB)"),
    (make_png(200, 300, rgba=True), "is 200x300 but the image input.png is 300x200"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 30, "not a readable PNG"),
], ids=["jpeg", "rgb-png", "wrong-size", "broken-png"])
def test_bad_masks_exit_2_before_upload(run, fake, photo, workdir, mask_bytes, fragment):
    (workdir / "m.png").write_bytes(mask_bytes)
    result = run("edit.py", "--mode", "openai", "--input-image", str(photo), "--mask", "m.png", "--prompt", "x")
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "mask", doc
    assert fragment in doc["error"] and "--mask-rect" in doc["details"]
    assert fake.requests == []


def test_mask_of_4_mb_is_refused(run, fake, workdir):
    (workdir / "big.png").write_bytes(make_png(1024, 1024))
    (workdir / "m.png").write_bytes(make_png(1024, 1024, rgba=True, noise=True))
    doc = assert_one_json(result := run("edit.py", "--input-image", "big.png", "--mask", "m.png", "--prompt", "x"))
    assert result.code == 2 and doc["error_kind"] == "mask" and "under 4 MB" in doc["error"]
    assert fake.requests == []


@pytest.mark.parametrize("mask_bytes", [_png_with_trns(300, 200), _grey_alpha_png(300, 200)],
                         ids=["trns", "grey-alpha"])
def test_masks_with_trns_or_grey_alpha_pass(run, fake, photo, workdir, mask_bytes):
    (workdir / "m.png").write_bytes(mask_bytes)
    result = run("edit.py", "--input-image", str(photo), "--mask", "m.png", "--prompt", "x")
    assert result.code == 0, result.stdout
    assert assert_one_json(result)["warnings"] == []
    assert fake.requests_for("edits")[0].part("mask").data == mask_bytes


def test_input_image_over_50_mb_is_refused(run, fake, workdir):
    with open(workdir / "huge.png", "wb") as handle:
        handle.write(make_png(2, 2))
        handle.truncate(51 * 1024 * 1024)
    doc = assert_one_json(result := run("edit.py", "--mode", "openai", "--input-image", "huge.png", "--prompt", "x"))
    assert result.code == 2 and "limit is 50 MB" in doc["error"] and fake.requests == []


# -- OpenAI mode: drawn masks ------------------------------------------------------------------

def alpha_rows(data: bytes) -> list[bytes]:
    width, height, rows = read_png_rgba(data)
    return [row[3::4] for row in rows]


def test_mask_rect_in_pixels_draws_the_hole(run, fake, photo, workdir):
    doc = assert_one_json(run("edit.py", "--input-image", str(photo), "--mask-rect", "10,20,30,40",
                              "--prompt", "A bonsai tree", "--output-file", "out/edited.png"))
    assert doc["warnings"] == []
    assert doc["mode"] == "openai"
    mask_path = Path(doc["mask_path"])
    assert mask_path == (workdir / "out" / "edited.mask.png").resolve()
    uploaded = fake.requests_for("edits")[0].part("mask")
    assert uploaded.data == mask_path.read_bytes() and uploaded.content_type == "image/png"
    alphas = alpha_rows(uploaded.data)
    assert len(alphas) == 200 and len(alphas[0]) == 300
    for y, row in enumerate(alphas):
        for x in (0, 9, 10, 39, 40, 299):
            inside = 20 <= y < 60 and 10 <= x < 40
            assert row[x] == (0 if inside else 255), (x, y)
    assert doc["mask"]["rects"] == [[10, 20, 30, 40]] and doc["mask"]["edit_fraction"] == pytest.approx(1200 / 60000)
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert sidecar["request"]["mask"]["path"] == str(mask_path)
    assert not list((workdir / "out").glob(".imagegen-*"))


def test_mask_rect_percentages_union_and_invert(run, fake, photo):
    doc = assert_one_json(run("edit.py", "--input-image", str(photo), "--prompt", "x",
                              "--mask-rect", "0%,0%,50%,50%", "--mask-rect", "25%,25%,50%,50%", "--mask-invert"))
    assert doc["warnings"] == []
    alphas = alpha_rows(Path(doc["mask_path"]).read_bytes())
    assert doc["mask"]["rects"] == [[0, 0, 150, 100], [75, 50, 150, 100]]
    assert alphas[0][0] == 255 and alphas[60][100] == 255 and alphas[149][224] == 255  # rectangles are kept
    assert alphas[0][299] == 0 and alphas[199][0] == 0 and alphas[150][225] == 0  # the rest is edited
    assert Path(doc["mask_path"]).parent == Path(doc["path"]).parent


def test_rect_beyond_the_edge_is_clipped(run, fake, photo):
    doc = assert_one_json(run("edit.py", "--input-image", str(photo), "--prompt", "x",
                              "--mask-rect", "250,150,500,500"))
    assert doc["warnings"] == []
    assert doc["mask"]["rects"] == [[250, 150, 50, 50]]


@pytest.mark.parametrize("args, fragment", [
    (["--mask-rect", "1,2,3"], "expected X,Y,W,H"),
    (["--mask-rect", "a,0,5,5"], "X must be a number"),
    (["--mask-rect", "0,0,0,5"], "W must be greater than 0"),
    (["--mask-rect", "0,0,150%,5"], "more than 100%"),
    (["--mask-rect", "1.5,0,5,5"], "whole number"),
    (["--mask-rect", "400,0,5,5"], "covers no pixel of the 300x200 image"),
    (["--mask-rect", "0,0,5,5", "--mask", "data/input.png"], "cannot be combined"),
    (["--mode", "openai", "--mask-invert"], "--mask-invert needs --mask-rect"),
])
def test_mask_rect_errors(run, fake, photo, args, fragment):
    doc = assert_one_json(result := run("edit.py", "--input-image", str(photo), "--prompt", "x", *args))
    assert result.code == 2 and fragment in doc["error"] + (doc["details"] or ""), doc
    assert fake.requests == []


def test_dry_run_shows_the_form_and_writes_nothing(run, fake, photo, workdir):
    result = run("edit.py", "--input-image", str(photo), "--prompt", "x", "--mask-rect", "0,0,10,10",
                 "--openai-quality", "low", "--dry-run", env_extra={"OPENAI_API_KEY": ""})
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert doc["dry_run"] is True and fake.requests == []
    assert doc["request"]["url"] == fake.openai_url + "/images/edits"
    assert doc["request"]["fields"] == {"prompt": "x", "model": "gpt-image-2", "n": "1", "quality": "low"}
    assert [f["field"] for f in doc["request"]["files"]] == ["image", "mask"]
    assert doc["mask_path"].endswith(".mask.png") and not Path(doc["mask_path"]).exists()
    assert sorted(p.name for p in (workdir / "data").iterdir()) == ["input.png"]


# -- OpenAI mode: failures ---------------------------------------------------------------------

def test_openai_error_is_typed(run, fake, photo):
    fake.enqueue("edits", openai_error_reply(400, "Invalid value for 'size'."))
    doc = assert_one_json(result := run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "x"))
    assert result.code == 1 and doc["error_kind"] == "bad_request" and "Invalid value for 'size'" in doc["error"]
    assert doc["mode"] == "openai" and doc["model"] == "gpt-image-2" and doc["http_status"] == 400


def test_openai_5xx_is_retried_with_the_same_form(run, fake, photo):
    fake.enqueue("edits", openai_error_reply(500, "boom"))
    doc = assert_one_json(run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "x"))
    assert doc["warnings"] == []
    first, second = fake.requests_for("edits")
    assert doc["success"] is True and first.body == second.body


def test_failed_request_still_reports_the_drawn_mask(run, fake, photo):
    fake.enqueue("edits", openai_error_reply(401, "bad key"))
    doc = assert_one_json(run("edit.py", "--input-image", str(photo), "--prompt", "x", "--mask-rect", "0,0,5,5"))
    assert doc["error_kind"] == "auth" and Path(doc["mask_path"]).exists()


@pytest.mark.subprocess
def test_missing_openai_key(run, fake, photo):
    doc = assert_one_json(result := run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "x",
                                        env_extra={"OPENAI_API_KEY": ""}))
    assert result.code == 2 and doc["error_kind"] == "missing_key" and "OPENAI_API_KEY" in doc["error"]
    assert fake.requests == []


def test_reply_without_images(run, fake, photo):
    fake.enqueue("edits", Reply(json={"created": 1, "data": []}))
    doc = assert_one_json(result := run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "x"))
    assert result.code == 1 and doc["error_kind"] == "no_image"


@pytest.mark.subprocess
def test_help_lists_every_seed_flag(run):
    result = run("edit.py", "--help")
    for flag in ("--mode", "--input-image", "--prompt", "--mask", "--model", "--openai-model", "--openai-size",
                 "--openai-quality", "--output-dir", "--output-file", "--mask-rect", "--mask-invert"):
        assert flag in result.stdout


def test_console_entry_points_resolve():
    tomllib = pytest.importorskip("tomllib")
    import importlib

    from tests.conftest import ROOT

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"image-gen-edit", "image-gen-review"} <= set(scripts)
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_a_shut_down_openai_model_is_never_sent_its_successor_is(run, fake, photo, env):
    doc = assert_one_json(result := run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "x",
                                        "--openai-model", "gpt-image-1"))
    assert result.code == 0 and doc["model"] == "gpt-image-2"
    assert doc["warnings"] == ["OpenAI shut gpt-image-1 down on 2026-10-23; its successor gpt-image-2 was used instead"]
    (request,) = fake.requests_for("edits")
    assert request.form["model"] == "gpt-image-2"


def test_options_a_model_does_not_take_are_refused_before_paying(run, fake, photo):
    doc = assert_one_json(result := run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "x",
                                        "--input-fidelity", "high"))
    assert result.code == 2 and doc["error_kind"] == "unsupported" and "--input-fidelity" in doc["error"]
    assert doc["fallback_models"] and "gpt-image-2" not in doc["fallback_models"]
    assert fake.requests_for("edits") == []


def test_a_model_outside_the_price_table_has_no_estimate(run, fake, photo):
    doc = assert_one_json(run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "x",
                              "--openai-model", "gpt-image-9-preview"))
    assert doc["warnings"] == []
    assert doc["cost_usd"] is None and doc["cost_estimate"] == "unknown"  # no price list for this model


def test_markup_goes_to_gpt_image_2_5_and_nowhere_else(run, fake, photo, workdir):
    (workdir / "marks.png").write_bytes(make_png(8, 8, rgba=True, color=(255, 0, 0, 128)))
    doc = assert_one_json(run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "Add a hat here",
                              "--openai-model", "gpt-image-2.5-sunburst", "--markup", "marks.png"))
    assert doc["warnings"] == []
    (request,) = fake.requests_for("edits")
    assert request.part("markup") is not None and request.part("markup").content_type == "image/png"
    assert doc["markup"]["path"].endswith("marks.png")
    doc = assert_one_json(result := run("edit.py", "--mode", "openai", "--input-image", str(photo), "--prompt", "x",
                                        "--markup", "marks.png"))
    assert result.code == 2 and doc["error_kind"] == "unsupported" and "gpt-image-2.5" in doc["details"]
    doc = assert_one_json(result := run("edit.py", "--input-image", str(photo), "--prompt", "x", "--markup",
                                        "marks.png", "--mask-rect", "0,0,4,4", "--openai-model", "gpt-image-2.5-flare"))
    assert result.code == 2 and "cannot be combined with a mask" in doc["error"]
    assert len(fake.requests_for("edits")) == 1
