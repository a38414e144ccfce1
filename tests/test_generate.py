"""generate.py as an agent runs it: loopback fake, one JSON document, files on disk.

In-process through main(); the tests marked ``subprocess`` (and the parallel runs) start real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from imagegen.models.table import RETIRED_NOTES
from tests.conftest import SCRIPTS, TEST_KEY, assert_one_json
from tests.fake_api import (
    Reply,
    chat_error_in_200_reply,
    chat_finish_error_reply,
    chat_image_reply,
    chat_text_only_reply,
    error_reply,
    html_reply,
    make_jpeg_header_only,
    make_png,
)


def user_content(request):
    return request.json["messages"][-1]["content"]


@pytest.mark.subprocess  # as an agent sees it: a real process, its stdout and exit status
def test_flux_default_request_result_and_files(run, fake, workdir):
    result = run("generate.py", "--prompt", "A red fox in snow")
    doc = assert_one_json(result)
    assert result.code == 0
    (request,) = fake.requests_for("chat")
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    body = request.json
    assert body["model"] == "black-forest-labs/flux.2-pro"
    assert body["modalities"] == ["image"]
    assert body["prompt_upsampling"] is True
    assert body["image_config"] == {"aspect_ratio": "1:1", "image_size": "2K"}
    assert body["messages"] == [{"role": "user", "content": "A red fox in snow"}]
    path = Path(doc["path"])
    assert path.parent == (workdir / "data").resolve()
    assert path.name.endswith("-flux-2-pro.png")
    assert doc["all_paths"] == [str(path)]
    assert doc["format"] == "png" and doc["width"] == 2048 and doc["height"] == 2048  # the 2K frame asked for
    assert doc["warnings"] == []
    assert doc["cost_usd"] == 0.04 and doc["generation_id"].startswith("gen-")
    assert doc["image_count"] == 1 and doc["enhanced_prompt"] is None
    assert doc["cost_estimate"].startswith("~$")
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG") and b"iTXt" in data
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert sidecar["request"]["prompt"] == "A red fox in snow"
    assert sidecar["result"]["generation_id"] == doc["generation_id"]
    assert sidecar["image"]["sha256"] and sidecar["image"]["width"] == 2048
    assert not list((workdir / "data").glob(".imagegen-*"))
    assert TEST_KEY not in result.stdout + result.stderr + path.read_bytes().decode("latin-1")


def test_gpt_with_preset_gets_system_message_and_natural_style(run, fake):
    result = run("generate.py", "--prompt", "A lighthouse on a cliff", "--preset", "illustrated-series",
                 "--model", "gpt-5-image", "--aspect-ratio", "3:2")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    body = fake.requests_for("chat")[0].json
    assert body["modalities"] == ["image", "text"]
    assert "prompt_upsampling" not in body
    assert body["messages"][0]["role"] == "system" and "gouache" in body["messages"][0]["content"]
    text = user_content(fake.requests_for("chat")[0])
    assert "Colour palette: #2F4858" in text and "Avoid: photorealism" in text
    assert text.endswith("Scene: A lighthouse on a cliff")
    assert doc["system_message_used"] is True and doc["preset"] == "illustrated-series"
    assert doc["enhanced_prompt"] == text


def test_cli_overrides_preset_and_system_prompt(run, fake):
    result = run("generate.py", "--prompt", "A fox", "--preset", "illustrated-series", "--size", "1K",
                 "--system-prompt", "Only pencil sketches.")
    assert assert_one_json(result)["warnings"] == []
    body = fake.requests_for("chat")[0].json
    assert body["model"] == "google/gemini-3-pro-image"
    assert body["image_config"] == {"aspect_ratio": "3:2", "image_size": "1K"}
    assert body["messages"][0] == {"role": "system", "content": "Only pencil sketches."}
    assert "\nMood: Calm" in user_content(fake.requests_for("chat")[0])  # structured, one label a line


def test_flux_with_preset_sends_json_prompt(run, fake):
    result = run("generate.py", "--prompt", "A harbour", "--preset", "illustrated-series", "--model", "flux.2-pro",
                 "--no-prompt-upsampling", "--system-prompt", "ignored")
    doc = assert_one_json(result)
    body = fake.requests_for("chat")[0].json
    assert body["prompt_upsampling"] is False
    assert [m["role"] for m in body["messages"]] == ["user"]
    structured = json.loads(user_content(fake.requests_for("chat")[0]))
    assert structured["scene"] == "A harbour"
    assert structured["color_palette"][0] == "#2F4858" and "photorealism" in structured["avoid"]
    assert doc["warnings"] == ["flux.2-pro takes no system message; --system-prompt was ignored"]


def test_style_refs_sent_as_data_urls_with_real_mime(run, fake, workdir):
    (workdir / "ref.png").write_bytes(make_jpeg_header_only(40, 30))  # a JPEG with a .png name
    (workdir / "ref2.png").write_bytes(make_png(8, 8))
    result = run("generate.py", "--prompt", "A new scene", "--style-ref", "ref.png", "--style-ref", "ref2.png",
                 "--model", "nanobanana-pro")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    parts = user_content(fake.requests_for("chat")[0])
    assert parts[0]["type"] == "text" and "reference images as the style reference" in parts[0]["text"]
    urls = [p["image_url"]["url"] for p in parts[1:]]
    assert urls[0].startswith("data:image/jpeg;base64,") and urls[1].startswith("data:image/png;base64,")
    assert doc["style_refs"] == [str(workdir / "ref.png"), str(workdir / "ref2.png")]


@pytest.mark.parametrize("args, kind, fragment", [
    (["--model", "flux.2-klein", "--style-ref", "ref.png"], "unsupported", "does not accept"),
    (["--model", "nanobanana"] + ["--style-ref", "ref.png"] * 4, "unsupported", "at most 3"),
    (["--style-ref", "missing.png"], "usage", "not found"),
    (["--style-ref", "notimage.png"], "usage", "not a recognised image"),
    (["--input-image", "."], "usage", "directory"),
    (["--model", "nope"], "unknown_model", "unknown model"),
    (["--model", "flux.2-pro", "--aspect-ratio", "1:4"], "unsupported", "aspect ratio 1:4"),
    (["--model", "flux.2-pro", "--size", "0.5K"], "unsupported", "size 0.5K"),
    (["--n", "11"], "usage", "1 to 10"),
    (["--timeout", "0"], "usage", "greater than 0"),
])
def test_refusals_exit_2_and_send_nothing(run, fake, workdir, args, kind, fragment):
    (workdir / "ref.png").write_bytes(make_png(4, 4))
    (workdir / "notimage.png").write_bytes(b"hello, not an image")
    result = run("generate.py", "--prompt", "A scene", *args)
    doc = assert_one_json(result)
    assert result.code == 2, doc
    assert doc["error_kind"] == kind and fragment in doc["error"] + (doc["details"] or "")
    assert fake.requests_for("chat") == []


def test_oversized_input_is_refused(run, fake, workdir):
    big = workdir / "big.png"
    with open(big, "wb") as handle:
        handle.write(make_png(2, 2))
        handle.truncate(21 * 1024 * 1024)
    doc = assert_one_json(result := run("generate.py", "--prompt", "x y z", "--input-image", "big.png"))
    assert result.code == 2 and "too large" in doc["error"]


@pytest.mark.parametrize("content, field", [
    ("{not json", None),
    ('{"style": null}', "style"),
    ('{"defaults": {"model": "bogus"}}', "defaults.model"),
    ('{"style": {"color_palette": ["#12345G"]}}', "style.color_palette[0]"),
    ('{"style": {"mood": 5}}', "style.mood"),
    ('{"defaults": []}', "defaults"),
    ('[]', "(top level)"),
])
def test_invalid_presets_name_the_field(run, fake, workdir, content, field):
    (workdir / "bad.json").write_text(content)
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", "--preset", "bad.json"))
    assert result.code == 2 and doc["error_kind"] == "preset"
    assert doc["preset_field"] == field
    if field:
        assert f"'{field}'" in doc["error"]
    assert fake.requests_for("chat") == []


def test_preset_search_order_prefers_local_presets_dir(run, fake, workdir):
    (workdir / "presets").mkdir()
    (workdir / "presets" / "default.json").write_text('{"name": "mine", "defaults": {"model": "nanobanana"}}')
    doc = assert_one_json(run("generate.py", "--prompt", "x", "--preset", "default", "--dry-run"))
    assert doc["model"] == "google/gemini-2.5-flash-image" and doc["preset"] == "default"  # as asked
    assert doc["preset_file"] == str((workdir / "presets" / "default.json").resolve())
    assert doc["warnings"] == [RETIRED_NOTES[doc["model"]]]


def test_unknown_preset_lists_available(run, fake):
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", "--preset", "nope"))
    assert result.code == 2 and "illustrated-series" in doc["details"]


@pytest.mark.parametrize("reply, kind, exit_code, calls", [
    (error_reply(401, "bad key"), "auth", 1, 1),
    (error_reply(402, "no credits"), "credits", 1, 1),
    (error_reply(403, "flagged"), "moderation", 1, 1),
    (error_reply(404, "No endpoints found"), "no_endpoint", 1, 1),
    (error_reply(400, "bad params"), "bad_request", 1, 1),
    (error_reply(413, "too large"), "bad_request", 1, 1),
    (error_reply(500, "boom"), "provider_error", 1, 3),
    (html_reply(502), "provider_error", 1, 3),
    (chat_error_in_200_reply("upstream failed"), "provider_error", 1, 1),
    (chat_finish_error_reply("model crashed"), "provider_error", 1, 1),
    (Reply(body=b'{"choices": [{"message": {"content": "x"'), "provider_error", 1, 1),
    (Reply(reset=True), "network", 1, 3),
])
def test_error_kinds(run, fake, reply, kind, exit_code, calls):
    for _ in range(3):
        fake.enqueue("chat", reply)
    result = run("generate.py", "--prompt", "A red fox in snow", "--model", "nanobanana")
    doc = assert_one_json(result)
    assert result.code == exit_code and doc["error_kind"] == kind, doc
    assert doc["model"] == "google/gemini-2.5-flash-image"
    assert isinstance(doc["retryable"], bool) and isinstance(doc["generation_time_ms"], int)
    assert len(fake.requests_for("chat")) == calls
    assert len(doc["details"] or "") <= 500
    assert TEST_KEY not in result.stdout + result.stderr


def test_429_with_retry_after_then_success(run, fake):
    fake.enqueue("chat", error_reply(429, "slow down", retry_after=1))
    result = run("generate.py", "--prompt", "A red fox in snow")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0 and len(fake.requests_for("chat")) == 2
    assert "retry 1/2 in 1.0s" in result.stderr
    assert doc["generation_time_ms"] >= 1000


def test_retry_after_beyond_cap_is_not_waited_for(run, fake):
    fake.enqueue("chat", error_reply(429, "daily limit", retry_after=3600))
    doc = assert_one_json(result := run("generate.py", "--prompt", "x"))
    assert result.code == 1 and doc["error_kind"] == "rate_limited" and doc["retry_after_sec"] == 3600
    assert len(fake.requests_for("chat")) == 1


def test_no_image_keeps_model_text(run, fake, workdir):
    fake.enqueue("chat", chat_text_only_reply("I can't draw that.", native_finish_reason="IMAGE_PROHIBITED_CONTENT"))
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", "--model", "nanobanana"))
    assert result.code == 1 and doc["error_kind"] == "moderation" and doc["retryable"] is False
    assert doc["text_response"] == "I can't draw that." and "safety" in doc["details"]
    assert doc["native_finish_reason"] == "IMAGE_PROHIBITED_CONTENT"
    assert not (workdir / "data").exists() or not any((workdir / "data").iterdir())


@pytest.mark.subprocess
def test_read_timeout_is_not_retried_and_marks_charge_unknown(run, fake):
    fake.enqueue("chat", Reply(delay=3))
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", "--timeout", "1"))
    assert result.code == 1 and doc["error_kind"] == "timeout" and doc["charge_unknown"] is True
    assert len(fake.requests_for("chat")) == 1


@pytest.mark.parametrize("reply", [
    chat_image_reply(images=[b"this is not an image at all"]),
    Reply(json={"choices": [{"message": {"images": [{"image_url": {"url": "data:image/png;base64,@@@"}}]}}]}),
])
def test_bad_image_data_leaves_no_file(run, fake, workdir, reply):
    fake.enqueue("chat", reply)
    doc = assert_one_json(result := run("generate.py", "--prompt", "x"))
    assert result.code == 1 and doc["error_kind"] == "provider_error"
    assert list((workdir / "data").iterdir()) == []


def test_url_images_are_downloaded_and_sniffed(run, fake, workdir):
    url = fake.add_file("out.bin", make_jpeg_header_only(320, 200), content_type="image/jpeg")
    fake.enqueue("chat", chat_image_reply(as_urls=[url]))
    doc = assert_one_json(run("generate.py", "--prompt", "x", "--output-file", "shot.png"))
    assert doc["format"] == "jpeg" and (doc["width"], doc["height"]) == (320, 200)
    assert doc["path"] == str(workdir / "shot.png")
    assert doc["warnings"] == [
        "shot.png holds JPEG data although its name says .png",
        "asked for about 2048x2048 but the provider returned 320x200: its aspect ratio differs and it is smaller "
        "than asked (check the model's supported sizes, or ask again)"]  # the 320x200 JPEG the test serves


def test_missing_url_image_is_an_error(run, fake):
    fake.enqueue("chat", chat_image_reply(as_urls=[fake.url + "/files/nowhere.png"]))
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", "--retries", "0"))
    assert result.code == 1 and doc["error_kind"] == "provider_error" and "download" in doc["error"]


def test_output_file_is_never_silently_overwritten(run, fake, workdir):
    (workdir / "keep.png").write_bytes(b"precious")
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", "--output-file", "keep.png"))
    assert result.code == 2 and doc["error_kind"] == "output_exists" and "--overwrite" in doc["error"]
    assert (workdir / "keep.png").read_bytes() == b"precious" and fake.requests_for("chat") == []
    doc = assert_one_json(run("generate.py", "--prompt", "x", "--output-file", "keep.png", "--overwrite"))
    assert doc["warnings"] == []
    assert (workdir / "keep.png").read_bytes().startswith(b"\x89PNG")


def test_count_makes_several_calls_and_files(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", "x", "--n", "3", "--no-sidecar", "--model", "nanobanana"))
    assert doc["image_count"] == 3 and len(set(doc["all_paths"])) == 3
    assert doc["warnings"] == [RETIRED_NOTES[doc["model"]]]  # the one warning a run on a retired model has
    assert len(fake.requests_for("chat")) == 3 and doc["cost_usd"] == pytest.approx(0.12)
    assert doc["sidecar"] is None and not any(p.endswith(".json") for p in doc["all_paths"])


def test_parallel_runs_never_share_a_name(env, fake, workdir):
    procs = [subprocess.Popen([sys.executable, str(SCRIPTS / "generate.py"), "--prompt", f"fox {i}"],
                              cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(6)]
    paths = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        paths.append(json.loads(out)["path"])
    assert len(set(paths)) == 6
    assert len(list((workdir / "data").glob("*.png"))) == 6


@pytest.mark.subprocess
def test_missing_key_is_a_config_error(run, fake):
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", env_extra={"OPENROUTER_API_KEY_IMAGES": ""}))
    assert result.code == 2 and doc["error_kind"] == "missing_key" and "export" in doc["details"]
    assert fake.requests_for("chat") == []


def test_fallback_key_variable(run, fake):
    fake.keys["openrouter"].add("k2-fallback-key")
    result = run("generate.py", "--prompt", "x",
                 env_extra={"OPENROUTER_API_KEY_IMAGES": "", "OPENROUTER_API_KEY": "k2-fallback-key"})
    assert result.code == 0 and fake.requests_for("chat")[0].headers["authorization"] == "Bearer k2-fallback-key"
    assert assert_one_json(result)["warnings"] == []


def test_dry_run_needs_no_key_and_sends_nothing(run, fake, workdir):
    (workdir / "ref.png").write_bytes(make_png(300, 300, noise=True))
    result = run("generate.py", "--prompt", "x", "--style-ref", "ref.png", "--dry-run",
                 env_extra={"OPENROUTER_API_KEY_IMAGES": ""})
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert doc["dry_run"] is True and fake.requests == []
    assert doc["request"]["url"] == fake.openrouter_url + "/chat/completions"
    url = doc["request"]["body"]["messages"][0]["content"][1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,") and len(url) < 100
    assert doc["target_paths"][0].endswith("-flux-2-pro.png") and len(result.stdout) < 5000


def test_bad_base_url_is_a_config_error(run, fake):
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", env_extra={"OPENROUTER_BASE_URL": "ftp:/x"}))
    assert result.code == 2 and doc["error_kind"] == "config"


def test_unwritable_output_dir_refused_before_paying(run, fake, workdir):
    (workdir / "blocker").write_text("a file, not a folder")
    doc = assert_one_json(result := run("generate.py", "--prompt", "x", "--output-dir", "blocker/sub"))
    assert result.code == 2 and doc["error_kind"] == "output_dir" and fake.requests_for("chat") == []


@pytest.mark.subprocess
def test_help_and_version_print_text(run):
    result = run("generate.py", "--help")
    assert result.code == 0 and "--style-ref" in result.stdout and "--prompt-upsampling" in result.stdout
    result = run("generate.py", "--version")
    assert result.code == 0 and result.stdout.startswith("image-gen ")


@pytest.mark.subprocess  # the file mode comes from the process umask (cached per process)
def test_images_and_sidecars_follow_the_umask(run, fake):
    umask = os.umask(0o022)  # the scripts inherit the test process's umask
    os.umask(umask)
    doc = assert_one_json(run("generate.py", "--prompt", "A red fox in the snow at dawn, photo"))
    assert doc["warnings"] == []
    for path in (doc["path"], doc["sidecar"]):
        assert Path(path).stat().st_mode & 0o777 == 0o666 & ~umask


def test_empty_baseline_is_a_usage_error(run, fake):
    doc = assert_one_json(result := run("generate.py", "--prompt", "Make it darker", "--baseline-image", ""))
    assert result.code == 2 and "--baseline-image is empty" in doc["error"] and fake.requests == []


def test_every_explicit_name_of_a_multi_image_run_is_checked_before_paying(run, fake, workdir):
    (workdir / "shot-2.png").write_bytes(b"an earlier image")
    doc = assert_one_json(result := run("generate.py", "--prompt", "A red fox in the snow at dawn, photo",
                                        "--n", "2", "--output-file", "shot.png"))
    assert result.code == 2 and doc["error_kind"] == "output_exists" and "shot-2.png" in doc["error"]
    assert fake.requests_for("chat") == [] and not (workdir / "shot.png").exists()
