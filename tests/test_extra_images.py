"""Nothing paid is thrown away: images a reply brings beyond those asked for are saved under the
run's next free names (never over a file, at most ten a call), listed in ``extra_paths``, and
named in a warning with what they cost."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import assert_one_json
from tests.fake_api import chat_image_reply, make_picture, make_png
from tests.schema_check import assert_valid


def test_an_extra_image_is_saved_and_its_cost_named(run, fake, env):
    fake.extra_images = 1  # what a Gemini reply through OpenRouter did, billed for both
    doc = assert_one_json(result := run("generate.py", "--prompt", "A fox", "--size", "1K"))
    assert result.code == 0 and doc["image_count"] == 1 and len(doc["all_paths"]) == 1
    (extra,) = doc["extra_paths"]
    assert Path(extra).is_file() and extra != doc["path"] and Path(extra + ".json").is_file()
    # and no "estimated at" warning: each image cost what was estimated
    assert doc["warnings"] == ["the provider returned 1 more image(s) than the 1 asked for, billed at about $0.0400; "
                               "1 saved beside the others (extra_paths)"]
    assert doc["cost_usd"] == 0.08
    (line,) = [json.loads(text) for text in (Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl")
               .read_text().splitlines()]
    assert line["images"] == 2 and line["cost_usd"] == 0.08
    assert_valid(doc, "generate.success")


def test_extras_of_an_explicit_output_never_replace_a_file(run, fake, workdir):
    (workdir / "fox-2.png").write_bytes(b"mine")
    fake.extra_images = 2
    doc = assert_one_json(run("generate.py", "--prompt", "A fox", "--size", "1K", "--output-file", "fox.png",
                              "--overwrite"))
    assert doc["path"] == str((workdir / "fox.png").resolve())
    assert doc["extra_paths"] == [str((workdir / name).resolve()) for name in ("fox-3.png", "fox-4.png")]
    assert doc["warnings"] == ["the provider returned 2 more image(s) than the 1 asked for, billed at about $0.0800; "
                               "2 saved beside the others (extra_paths)"]
    assert (workdir / "fox-2.png").read_bytes() == b"mine"


def test_at_most_ten_extras_a_call_are_kept(run, fake, workdir):
    fake.enqueue("chat", chat_image_reply([make_picture(64, 64)] * 13, cost=0.52))
    doc = assert_one_json(run("generate.py", "--prompt", "A fox", "--size", "1K", "--output-dir", "out"))
    assert len(doc["extra_paths"]) == 10 and len(list((workdir / "out").glob("*.png"))) == 11
    assert doc["warnings"] == [
        "the provider returned 12 more image(s) than the 1 asked for, billed at about $0.4000; 10 saved beside the "
        "others (extra_paths), 2 beyond 10 a call dropped",
        "asked for about 1024x1024 but the provider returned 64x64: it is smaller than asked (check the model's "
        "supported sizes, or ask again)"]  # the 64x64 pictures the test sends


def test_extras_of_an_edit_are_saved_too(run, fake, workdir):
    (workdir / "room.png").write_bytes(make_png(64, 64))
    fake.extra_images = 1
    doc = assert_one_json(run("edit.py", "--input-image", "room.png", "--mask-rect", "0,0,8,8", "--prompt", "x"))
    assert len(doc["extra_paths"]) == 1 and doc["warnings"] == [
        "the provider returned 1 more image(s) than the 1 asked for, billed at about $0.2114; 1 saved beside the "
        "others (extra_paths)"]


def test_queue_status_lists_a_jobs_extra_images_and_attaches_them(run, fake, workdir):
    fake.extra_images = 1
    assert_one_json(run("enqueue_image_job.py", "--prompt", "A fox", "--size", "1K", "--request-id", "ex-1"))
    assert_one_json(run("run_image_queue.py", "--idle-exit-sec", "0.05"))
    status = assert_one_json(run("queue_status.py", "--request-id", "ex-1"))
    assert_valid(status, "queue_status.request")
    (job,) = status["jobs"]
    (extra,) = job["extra_paths"]
    assert Path(extra).is_file() and extra not in job["paths"]
    assert status["attachments"] == job["paths"] + [extra]
