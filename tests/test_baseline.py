"""Baseline images through generate.py as an agent calls it: consent, file rules, URL rules, rails."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from imagegen.errors import UsageError
from imagegen.prompt import baseline
from tests.conftest import assert_one_json
from tests.fake_api import make_gif, make_jpeg_header_only, make_png, make_webp

EDIT = ["--prompt", "Make the sky darker and stormy", "--model", "nanobanana-2"]
CONSENT = "--confirm-external-upload"


def content(fake) -> list:
    (request,) = fake.requests_for("chat")
    return request.json["messages"][-1]["content"]


@pytest.fixture
def base(workdir: Path) -> Path:
    path = workdir / "base.png"
    path.write_bytes(make_png(16, 12))
    return path


def refused(result, fake, kind: str, exit_code: int = 2) -> dict:
    doc = assert_one_json(result)
    assert result.code == exit_code and doc["error_kind"] == kind, doc
    assert fake.requests == []
    return doc


# -- consent -----------------------------------------------------------------------------------

def test_local_baseline_needs_consent_and_names_the_host(run, fake, base):
    doc = refused(run("generate.py", *EDIT, "--baseline-image", "base.png"), fake, "upload_consent_required")
    assert "base.png" in doc["error"] and "127.0.0.1" in doc["error"] and CONSENT in doc["error"]
    assert doc["upload_host"] == "127.0.0.1"


def test_a_missing_file_is_reported_before_asking_for_consent(run, fake):
    doc = refused(run("generate.py", *EDIT, "--baseline-image", "nope.png"), fake, "baseline_file")
    assert "not found: nope.png" in doc["error"]


def test_consent_is_also_required_for_dry_run(run, fake, base):
    refused(run("generate.py", *EDIT, "--baseline-image", "base.png", "--dry-run"), fake, "upload_consent_required")


def test_consent_message_names_the_real_provider_host(run, fake, base):
    result = run("generate.py", *EDIT, "--baseline-image", "base.png", "--dry-run",
                 env_extra={"OPENROUTER_BASE_URL": ""})
    assert "openrouter.ai" in assert_one_json(result)["error"]


# -- local files -------------------------------------------------------------------------------

def test_baseline_is_the_first_image_with_rails_and_diagnostics(run, fake, workdir, base):
    (workdir / "style.png").write_bytes(make_jpeg_header_only(10, 10))
    result = run("generate.py", *EDIT, "--baseline-image", "base.png", CONSENT, "--style-ref", "style.png",
                 "--baseline-source-kind", "current_attachment")
    doc = assert_one_json(result)
    assert doc["warnings"] == []
    assert result.code == 0, doc
    parts = content(fake)
    text = parts[0]["text"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert parts[2]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert text.startswith("The first attached image is the baseline.")
    assert "keep everything else exactly as it is" in text and "colour palette" in text and "composition" in text
    assert "after the baseline is style reference" in text and text.endswith("Request: Make the sky darker and stormy")
    assert doc["baseline_applied"] is True and doc["baseline_source"] == str(base)
    assert doc["baseline_source_kind"] == "current_attachment"
    assert doc["baseline_resolution_policy"] == "current_attachment>reply_attachment>clarify"
    assert doc["edit_intent_detected"] is True and doc["edit_intent_phrase"]
    assert doc["rails_applied"] == {
        "variation_strength": "low", "lock_palette": True, "lock_composition": True, "must_keep": [],
        "defaulted": ["variation_strength", "lock_palette", "lock_composition"], "requested": [],
        "provider_parameters": {},
    }
    assert doc["clarify_hints"] == [] and doc["instructions"][0].startswith("The first attached image")
    sidecar = json.loads(Path(doc["sidecar"]).read_text())["request"]
    for key in ("edit_intent_detected", "baseline_applied", "baseline_source", "baseline_source_kind",
                "baseline_resolution_policy", "rails_applied", "clarify_hints", "instructions"):
        assert sidecar[key] == doc[key], key
    assert sidecar["baseline"]["sha256"] and sidecar["baseline"]["format"] == "png"
    assert (sidecar["baseline"]["width"], sidecar["baseline"]["height"]) == (16, 12)


@pytest.mark.parametrize("name, data", [("base.jpg", make_jpeg_header_only(8, 8)), ("base.webp", make_webp(8, 8))],
                         ids=["jpeg", "webp"])
def test_jpeg_and_webp_baselines_are_accepted(run, fake, workdir, name, data):
    (workdir / name).write_bytes(data)
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", name, CONSENT))
    assert doc["warnings"] == []
    assert doc["success"] and content(fake)[1]["image_url"]["url"].startswith(f"data:image/{name.split('.')[1]}"
                                                                                .replace("jpg", "jpeg"))


def test_symlinked_file_is_refused(run, fake, workdir, base):
    (workdir / "link.png").symlink_to(base)
    doc = refused(run("generate.py", *EDIT, "--baseline-image", "link.png", CONSENT), fake, "baseline_file")
    assert "symbolic link" in doc["error"]


def test_symlink_to_outside_is_refused_even_with_absolute_path(run, fake, workdir, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(make_png(4, 4))
    (workdir / "innocent.png").symlink_to(secret)
    doc = refused(run("generate.py", *EDIT, "--baseline-image", str(workdir / "innocent.png"), CONSENT), fake,
                  "baseline_file")
    assert "symbolic link" in doc["error"]


def test_symlinked_folder_leading_outside_is_refused(run, fake, workdir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "photo.png").write_bytes(make_png(4, 4))
    (workdir / "shared").symlink_to(outside)
    doc = refused(run("generate.py", *EDIT, "--baseline-image", "shared/photo.png", CONSENT), fake, "baseline_file")
    assert "symlinked folder" in doc["error"]


def test_symlinked_folder_inside_the_workspace_is_allowed(run, fake, workdir):
    (workdir / "real").mkdir()
    (workdir / "real" / "photo.png").write_bytes(make_png(4, 4))
    (workdir / "alias").symlink_to(workdir / "real")
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", "alias/photo.png", CONSENT))
    assert doc["warnings"] == []
    assert doc["success"] and doc["baseline_source"] == str(workdir / "real" / "photo.png")


@pytest.mark.parametrize("where", ["../outside.png", "{tmp}/outside.png", "sub/../../outside.png"])
def test_files_outside_the_workspace_are_refused(run, fake, workdir, tmp_path, where):
    (tmp_path / "outside.png").write_bytes(make_png(4, 4))
    (workdir / "sub").mkdir()
    doc = refused(run("generate.py", *EDIT, "--baseline-image", where.format(tmp=tmp_path), CONSENT), fake,
                  "baseline_file")
    assert "outside the workspace root" in doc["error"] and "--workspace-root" in doc["details"]


def test_workspace_root_flag_narrows_and_widens(run, fake, workdir, tmp_path, base):
    (workdir / "assets").mkdir()
    doc = refused(run("generate.py", *EDIT, "--baseline-image", "base.png", CONSENT, "--workspace-root", "assets"),
                  fake, "baseline_file")
    assert "outside the workspace root" in doc["error"]
    (tmp_path / "outside.png").write_bytes(make_png(4, 4))
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", "../outside.png", CONSENT,
                              "--workspace-root", str(tmp_path)))
    assert doc["warnings"] == []
    assert doc["success"], doc


@pytest.mark.parametrize("name, data, fragment", [
    ("fake.png", b"just some text, not an image", "not a recognised image"),
    ("anim.png", make_gif(4, 4), "a GIF file; expected png/jpeg/webp"),
    ("empty.png", b"", "not a recognised image"),
], ids=["text", "gif", "empty"])
def test_wrong_magic_bytes_are_refused(run, fake, workdir, name, data, fragment):
    (workdir / name).write_bytes(data)
    doc = refused(run("generate.py", *EDIT, "--baseline-image", name, CONSENT), fake, "usage")
    assert fragment in doc["error"]


def test_oversized_baseline_is_refused(run, fake, workdir):
    with open(workdir / "big.png", "wb") as handle:
        handle.write(make_png(2, 2))
        handle.truncate(3 * 1024 * 1024)
    doc = refused(run("generate.py", *EDIT, "--baseline-image", "big.png", CONSENT, "--max-baseline-mb", "2"),
                  fake, "usage")
    assert "too large" in doc["error"] and "limit is 2 MB" in doc["error"]
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", "big.png", CONSENT, "--dry-run"))
    assert doc["success"] and doc["warnings"] == []


def test_default_size_limit_is_10_mb(run, fake, workdir):
    with open(workdir / "big.png", "wb") as handle:
        handle.write(make_png(2, 2))
        handle.truncate(11 * 1024 * 1024)
    doc = refused(run("generate.py", *EDIT, "--baseline-image", "big.png", CONSENT), fake, "usage")
    assert "limit is 10 MB" in doc["error"]


@pytest.mark.parametrize("setup, fragment", [
    (lambda w: None, "not found"),
    (lambda w: (w / "missing.png").mkdir(), "a directory"),
    (lambda w: os.mkfifo(w / "missing.png"), "not a regular file"),
])
def test_missing_directories_and_fifos_are_refused(run, fake, workdir, setup, fragment):
    setup(workdir)
    doc = refused(run("generate.py", *EDIT, "--baseline-image", "missing.png", CONSENT), fake, "baseline_file")
    assert fragment in doc["error"]


def test_model_without_image_input_refuses_a_baseline_before_consent(run, fake, base):
    doc = refused(run("generate.py", "--prompt", "Make the sky darker", "--model", "flux.2-klein",
                      "--baseline-image", "base.png"), fake, "unsupported")
    assert "baseline" in doc["error"]


# -- URLs --------------------------------------------------------------------------------------

PUBLIC_URL = "https://93.184.216.34/images/base.png"


def test_public_https_url_is_sent_as_a_link_without_consent(run, fake):
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", PUBLIC_URL,
                              "--baseline-source-kind", "reply_attachment"))
    assert doc["success"], doc
    assert content(fake)[1] == {"type": "image_url", "image_url": {"url": PUBLIC_URL}}
    assert doc["baseline_source"] == PUBLIC_URL and doc["baseline_source_kind"] == "reply_attachment"
    assert doc["warnings"] == ["the baseline's size is not known here; asking for 1:1 (pass --aspect-ratio to keep "
                               "its frame)"]
    assert json.loads(Path(doc["sidecar"]).read_text())["request"]["baseline"]["url"] == PUBLIC_URL


@pytest.mark.parametrize("url, fragment", [
    ("http://93.184.216.34/a.png", "only https"),
    ("ftp://93.184.216.34/a.png", "only https"),
    ("file:///etc/passwd", "only https"),
    ("https://127.0.0.1/a.png", "loopback"),
    ("https://127.8.9.10:8443/a.png", "loopback"),
    ("https://[::1]/a.png", "loopback"),
    ("https://[::ffff:127.0.0.1]/a.png", "loopback"),
    ("https://localhost/a.png", "this machine"),
    ("https://LOCALHOST./a.png", "this machine"),
    ("https://api.localhost/a.png", "this machine"),
    ("https://10.0.0.5/a.png", "private"),
    ("https://172.16.3.4/a.png", "private"),
    ("https://192.168.1.20/a.png", "private"),
    ("https://[fd00::1]/a.png", "private"),
    ("https://169.254.169.254/latest/meta-data", "link-local"),
    ("https://[fe80::1]/a.png", "link-local"),
    ("https://0.0.0.0/a.png", "unspecified"),
    ("https://100.64.0.1/a.png", "non-public"),
    ("https://user:secret@93.184.216.34/a.png", "user name or password"),
    ("https:///a.png", "no host"),
])
def test_unsafe_urls_are_refused(run, fake, url, fragment):
    result = run("generate.py", *EDIT, "--baseline-image", url)
    doc = refused(result, fake, "baseline_url")
    assert fragment in doc["error"]
    assert "secret" not in result.stdout + result.stderr


def fake_resolver(*addresses: str):
    def resolve(host, port, **_):
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in addresses]
    return resolve


def test_names_are_checked_on_every_address_they_resolve_to():
    assert baseline.check_url("https://cdn.example/x.png", resolver=fake_resolver("93.184.216.34")) \
        == "https://cdn.example/x.png"
    with pytest.raises(UsageError, match="private"):
        baseline.check_url("https://cdn.example/x.png", resolver=fake_resolver("93.184.216.34", "10.1.2.3"))
    with pytest.raises(UsageError, match="link-local"):
        baseline.check_url("https://metadata.example/", resolver=fake_resolver("fe80::1%eth0"))


def test_unresolvable_names_are_refused():
    def failing(host, port, **_):
        raise socket.gaierror(-2, "Name or service not known")
    with pytest.raises(UsageError, match="does not resolve"):
        baseline.check_url("https://nowhere.invalid/x.png", resolver=failing)


# -- rails -------------------------------------------------------------------------------------

def test_explicit_rails_are_recorded_as_requested(run, fake, base):
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", "base.png", CONSENT,
                              "--variation-strength", "high", "--no-lock-palette", "--must-keep", "title placement",
                              "--must-keep", "logo mark", "--must-keep", "logo  mark"))
    assert doc["warnings"] == []
    text = content(fake)[0]["text"]
    assert "bold changes are welcome" in text and "The colour palette may change." in text
    assert "Keep the baseline's composition" in text
    assert "These must stay exactly as they are in the baseline: title placement; logo mark." in text
    rails_doc = doc["rails_applied"]
    assert rails_doc["variation_strength"] == "high" and rails_doc["lock_palette"] is False
    assert rails_doc["lock_composition"] is True and rails_doc["must_keep"] == ["title placement", "logo mark"]
    assert rails_doc["requested"] == ["variation_strength", "lock_palette", "must_keep"]
    assert rails_doc["defaulted"] == ["lock_composition"]


def test_unlocked_composition_is_said_only_when_asked(run, fake, base):
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", "base.png", CONSENT,
                              "--no-lock-composition", "--lock-palette", "--variation-strength", "medium"))
    assert doc["warnings"] == []
    text = content(fake)[0]["text"]
    assert "The composition may change." in text and "moderate changes" in text
    assert "Keep the baseline's colour palette" in text


@pytest.mark.parametrize("flags", [["--lock-palette"], ["--must-keep", "logo"], ["--variation-strength", "low"],
                                   ["--no-lock-composition"]])
def test_rails_without_a_baseline_are_refused(run, fake, flags):
    doc = refused(run("generate.py", "--prompt", "A lighthouse on a cliff, oil painting", *flags), fake, "usage")
    assert "--baseline-image" in doc["error"]


def test_empty_must_keep_is_refused(run, fake, base):
    result = run("generate.py", *EDIT, "--baseline-image", "base.png", CONSENT, "--must-keep", "  ")
    doc = refused(result, fake, "usage")
    assert "--must-keep is empty" in doc["error"]


def test_flux_low_variation_edit_turns_upsampling_off_unless_asked(run, fake, base):
    args = ["--prompt", "Make the sky darker and stormy", "--model", "flux.2-pro",
            "--baseline-image", "base.png", CONSENT]
    doc = assert_one_json(run("generate.py", *args))
    assert doc["warnings"] == []
    assert fake.requests_for("chat")[0].json["prompt_upsampling"] is False
    assert doc["rails_applied"]["provider_parameters"] == {"prompt_upsampling": False}
    fake.clear()
    doc = assert_one_json(run("generate.py", *args, "--prompt-upsampling"))
    assert doc["warnings"] == []
    assert fake.requests_for("chat")[0].json["prompt_upsampling"] is True
    assert doc["rails_applied"]["provider_parameters"] == {}


@pytest.mark.parametrize("flag, value", [("--variation-strength", "extreme"), ("--baseline-source-kind", "email"),
                                         ("--max-baseline-mb", "0")])
def test_bad_flag_values_fail_at_parse_time(run, fake, flag, value):
    refused(run("generate.py", "--prompt", "x", flag, value), fake, "usage")


# -- the file checked is the file sent -----------------------------------------------------------

def swap_after_lstat(monkeypatch, action):
    real_lstat = os.lstat

    def lstat_then_swap(path, *args, **kwargs):
        result = real_lstat(path, *args, **kwargs)
        action(Path(path))
        return result

    monkeypatch.setattr(baseline.os, "lstat", lstat_then_swap)


def test_a_file_replaced_by_a_symlink_after_the_checks_is_not_followed(tmp_path, monkeypatch):
    (tmp_path / "photo.png").write_bytes(make_png(4, 4))
    (tmp_path / "elsewhere.png").write_bytes(make_png(4, 4))

    def to_symlink(path: Path) -> None:
        path.unlink()
        path.symlink_to(tmp_path / "elsewhere.png")

    swap_after_lstat(monkeypatch, to_symlink)
    with pytest.raises(UsageError, match="cannot be opened safely"):
        baseline.load_local(str(tmp_path / "photo.png"), root=tmp_path)


def test_a_file_replaced_by_another_file_after_the_checks_is_refused(tmp_path, monkeypatch):
    (tmp_path / "photo.png").write_bytes(make_png(4, 4))
    (tmp_path / "other.png").write_bytes(make_png(5, 5))
    swap_after_lstat(monkeypatch, lambda path: os.replace(tmp_path / "other.png", path))
    with pytest.raises(UsageError, match="changed while it was being opened"):
        baseline.load_local(str(tmp_path / "photo.png"), root=tmp_path)


def test_folders_are_walked_without_following_links(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "photo.png").write_bytes(make_png(4, 4))
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UsageError, match="cannot be opened safely"):
        baseline._open_beneath(str(tmp_path), "link", "photo.png", "link/photo.png")
    os.close(baseline._open_beneath(str(tmp_path), "real", "photo.png", "real/photo.png"))


# -- the baseline's frame -------------------------------------------------------------------------

def test_a_variation_keeps_the_baselines_frame(run, fake, workdir):
    """An 84x48 banner is asked for at the nearest ratio the model takes, not the square default."""
    (workdir / "banner.png").write_bytes(make_png(84, 48))
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", "banner.png", CONSENT))
    assert doc["success"] and doc["aspect_ratio"] == "16:9" and doc["warnings"] == [], doc
    (request,) = fake.requests_for("chat")
    assert request.json["image_config"]["aspect_ratio"] == "16:9"
    tall = workdir / "tall.png"
    tall.write_bytes(make_png(48, 84))
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", "tall.png", CONSENT, "--dry-run"))
    assert doc["aspect_ratio"] == "9:16" and doc["request"]["body"]["image_config"]["aspect_ratio"] == "9:16"


def test_an_asked_ratio_wins_over_the_baselines_frame(run, fake, workdir):
    (workdir / "banner.png").write_bytes(make_png(84, 48))
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", "banner.png", CONSENT,
                              "--aspect-ratio", "1:1", "--dry-run"))
    assert doc["aspect_ratio"] == "1:1" and doc["warnings"] == []


def test_a_linked_baselines_frame_is_unknown_and_the_run_says_so(run, fake):
    doc = assert_one_json(run("generate.py", *EDIT, "--baseline-image", PUBLIC_URL, "--dry-run"))
    assert doc["aspect_ratio"] == "1:1" and doc["warnings"] == [
        "the baseline's size is not known here; asking for 1:1 (pass --aspect-ratio to keep its frame)"]


@pytest.mark.parametrize("size, ratios, expected", [
    ((84, 48), ("1:1", "16:9", "4:3"), "16:9"), ((48, 84), ("1:1", "16:9", "9:16"), "9:16"),
    ((100, 100), ("16:9", "1:1"), "1:1"), ((300, 100), ("1:1", "2:3", "3:2"), "3:2")])
def test_nearest_ratio(size, ratios, expected):
    assert baseline.nearest_ratio(*size, ratios) == expected


def test_an_input_image_keeps_its_frame_unless_a_ratio_is_asked_for(run, fake, workdir):
    (workdir / "banner.png").write_bytes(make_png(84, 48))
    doc = assert_one_json(run("generate.py", "--prompt", "A fox in this style", "--input-image", "banner.png",
                              "--dry-run"))
    assert doc["aspect_ratio"] == "16:9" and doc["request"]["body"]["image_config"]["aspect_ratio"] == "16:9"
    assert doc["warnings"] == []
    doc = assert_one_json(run("generate.py", "--prompt", "A fox in this style", "--input-image", "banner.png",
                              "--aspect-ratio", "1:1", "--dry-run"))
    assert doc["aspect_ratio"] == "1:1" and doc["warnings"] == []
