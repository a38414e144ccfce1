"""--preset-set and --save-preset: a preset changed from the command line, checked as a file is, kept
as a user preset in one command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_one_json

PROMPT = "A harbour at dawn, fishing boats, gouache"
SERIES = ["--prompt", PROMPT, "--preset", "illustrated-series"]
BUILTIN = ROOT / "presets" / "illustrated-series.json"


def prompt_sent(fake) -> str:
    (request,) = fake.requests_for("chat")
    content = request.json["messages"][-1]["content"]
    return content if isinstance(content, str) else " ".join(part.get("text", "") for part in content)


def user_presets(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "image-gen" / "presets"


def test_a_palette_for_one_run_is_sent_and_recorded(run, fake, workdir):
    before = BUILTIN.read_text()
    doc = assert_one_json(result := run("generate.py", *SERIES, "--preset-set", "palette=#112233, #445566",
                                        "--preset-set", "mood=Quiet and cold", "--preset-set", "camera.angle=low"))
    assert doc["warnings"] == []
    assert result.code == 0 and doc["preset"] == "illustrated-series", doc
    assert doc["preset_changed"] == ["style.color_palette", "style.mood", "style.camera.angle"]
    sent = prompt_sent(fake)
    assert "#112233, #445566" in sent and "Quiet and cold" in sent and "angle low" in sent
    assert "#2F4858" not in sent  # the preset's palette is replaced, not added to
    sidecar = json.loads(Path(doc["sidecar"]).read_text())
    assert sidecar["request"]["preset_changed"] == doc["preset_changed"]
    assert BUILTIN.read_text() == before  # the file itself is left alone


def test_a_queued_job_keeps_its_preset_changes(run, fake, workdir):
    queued = assert_one_json(run("enqueue_image_job.py", *SERIES, "--preset-set", "palette=#112233",
                                 "--out", "out/a.png", "--quiet"))
    (job_id,) = queued["job_ids"]
    job = json.loads((workdir / queued["queue_dir"] / "pending" / f"{job_id}.json").read_text())
    assert job["request"]["preset_set"] == ["palette=#112233"]
    drained = assert_one_json(run("run_image_queue.py", "--queue-dir", queued["queue_dir"], "--idle-exit-sec", "0",
                                  "--quiet"))
    assert drained["done"] == 1 and "#112233" in prompt_sent(fake)


@pytest.mark.parametrize("setting, fragment", [
    ("palette=red", "--preset-set style.color_palette[0]: 'red' is not a HEX colour"),
    ("defaults.size=9K", "--preset-set defaults.size: unknown size '9K'"),
    ("defaults.model=nanobannana", "did you mean nanobanana?"),
    ("pallete=#123456", "a preset has no field 'pallete'"),
    ("style.camera.BadKey=x", "a preset has no field"),
    ("name=other", "a preset has no field 'name'"),
])
def test_a_change_is_checked_as_the_preset_file_would_be(run, fake, setting, fragment):
    doc = assert_one_json(result := run("generate.py", *SERIES, "--preset-set", setting, "--dry-run"))
    assert result.code == 2 and doc["error_kind"] == "preset", doc
    assert fragment in doc["error"] + " " + (doc["details"] or ""), doc
    assert fake.requests == []


@pytest.mark.parametrize("args, fragment", [
    (["--preset-set", "palette"], "is not FIELD=VALUE"),
    (["--preset-set", "palette=#112233"], "no --preset was given"),
    (["--save-preset", "mine"], "none was given"),
])
def test_changes_need_a_preset_and_a_field(run, fake, args, fragment):
    doc = assert_one_json(result := run("generate.py", "--prompt", PROMPT, *args, "--dry-run"))
    assert result.code == 2 and fragment in doc["error"], doc


def test_save_preset_keeps_the_changed_preset_for_the_next_run(run, fake, workdir, env):
    doc = assert_one_json(result := run("generate.py", *SERIES, "--preset-set", "palette=#112233,#445566",
                                        "--save-preset", "harbour-series", "--dry-run"))
    assert doc["warnings"] == []
    assert result.code == 0 and fake.requests == []
    saved = user_presets(env) / "harbour-series.json"
    assert doc["preset_saved"] == str(saved)
    document = json.loads(saved.read_text())
    assert document["name"] == "harbour-series" and document["style"]["color_palette"] == ["#112233", "#445566"]
    assert document["style"]["mood"] == json.loads(BUILTIN.read_text())["style"]["mood"]
    again = assert_one_json(run("generate.py", "--prompt", PROMPT, "--preset", "harbour-series"))
    assert again["warnings"] == []
    assert again["preset_file"] == str(saved) and "#112233, #445566" in prompt_sent(fake)
    refused = assert_one_json(result := run("generate.py", *SERIES, "--save-preset", "harbour-series", "--dry-run"))
    assert result.code == 2 and refused["error_kind"] == "output_exists" and "preset exists" in refused["error"]
    bad = assert_one_json(result := run("generate.py", *SERIES, "--save-preset", "../up", "--dry-run"))
    assert result.code == 2 and bad["error_kind"] == "preset" and not (user_presets(env).parent / "up.json").exists()


def test_a_saved_presets_reference_images_still_resolve(run, fake, workdir, env):
    from tests.fake_api import make_png

    folder = workdir / "mine"
    folder.mkdir()
    (folder / "golden.png").write_bytes(make_png(32, 32))
    (folder / "look.json").write_text(json.dumps({"style": {"mood": "calm", "reference_images": ["golden.png"]}}))
    doc = assert_one_json(run("generate.py", "--prompt", PROMPT, "--preset", "mine/look.json",
                              "--save-preset", "look-copy", "--dry-run"))
    assert doc["warnings"] == []
    saved = json.loads(Path(doc["preset_saved"]).read_text())
    assert saved["style"]["reference_images"] == [str((folder / "golden.png").resolve())]
    again = assert_one_json(run("generate.py", "--prompt", PROMPT, "--preset", "look-copy", "--dry-run"))
    assert again["warnings"] == []
    assert again["success"], again


@pytest.mark.parametrize("name", ["series\n", "series\r\n", "series\n.json"])
def test_a_preset_name_with_a_final_newline_is_refused(name, tmp_path):
    from imagegen.errors import UsageError
    from imagegen.prompt import preset_edits

    with pytest.raises(UsageError, match="is not a preset name"):
        preset_edits.save({"name": "x"}, name)


def test_a_palette_colour_with_a_final_newline_is_refused():
    from imagegen.prompt import presets

    assert presets.HEX_COLOUR.match("#1A2B3C") and not presets.HEX_COLOUR.match("#1A2B3C\n")
