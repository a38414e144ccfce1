"""Typed requests: built from flags, round-tripped through JSON, and held to the flags' rules when read
back (the queue's job files). The package's layering rules are tests/test_layering.py's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagegen.cli import from_flags
from imagegen.commands import edit, generate, review
from imagegen.requests import EditRequest, GenerateRequest, InvalidRequest, ReviewRequest
from tests.conftest import assert_one_json


@pytest.mark.parametrize("command, build, argv", [
    (generate, from_flags.generate_request,
     ["--prompt", "A fox", "--style-ref", "a.png", "--style-ref", "b.png", "--n", "3", "--seed", "0",
      "--must-keep", "the logo", "--api", "images", "--quality", "high", "--max-cost", "0.5"]),
    (edit, from_flags.edit_request,
     ["--input-image", "a.png", "--input-image", "b.png", "--prompt", "Night", "--mask-rect", "10%,10%,50%,50%",
      "--openai-size", "1024x1536", "--mask-invert"]),
    (review, from_flags.review_request, ["--image", "a.png", "--compare", "b.png", "--auto", "--request-id", "r-1"]),
])
def test_a_request_from_flags_round_trips_through_json(command, build, argv):
    request = build(command.build_parser().parse_args(argv))
    text = json.dumps(request.to_json())
    again = type(request).from_json(json.loads(text))
    assert again == request and again.to_json() == request.to_json()


def test_flags_fill_the_request_fields():
    request = from_flags.generate_request(generate.build_parser().parse_args(
        ["--prompt", "A fox", "--style-ref", "a.png", "--input-image", "in.png", "--image-size", "high"]))
    assert request.style_refs == ("a.png",) and request.input_images == ("in.png",) and request.size == "4K"
    assert request.output_dir == "data" and request.sidecar is True and request.n == 1


@pytest.mark.parametrize("field, value, message", [
    ("aspect_ratio", "7:3", "unknown aspect ratio"),
    ("size", 2, "unknown size"),
    ("n", 11, "from 1 to 10"),
    ("n", True, "not a whole number"),
    ("seed", "x", "not a whole number"),
    ("max_cost", -1, "0 or more"),
    ("max_cost", float("inf"), "0 or more"),
    ("prompt", ["a"], "not text"),
    ("prompt", "a\x00b", "NUL"),
    ("style_refs", "a.png", "not a list"),
    ("style_refs", [1], "not text"),
    ("overwrite", "yes", "not true or false"),
    ("request_id", "a/b", "not a usable id"),
    ("api", "video", "not one of"),
    ("baseline_source_kind", None, "may not be null"),
])
def test_a_stored_request_is_checked_like_its_flags(field, value, message):
    with pytest.raises(InvalidRequest) as caught:
        GenerateRequest.from_json({"prompt": "A fox", field: value})
    assert field in caught.value.message and message in caught.value.message


def test_unknown_fields_and_missing_prompt_are_refused():
    with pytest.raises(InvalidRequest, match="unknown fields: evil"):
        GenerateRequest.from_json({"prompt": "A fox", "evil": 1})
    with pytest.raises(InvalidRequest, match="has no 'prompt'"):
        GenerateRequest.from_json({})
    with pytest.raises(InvalidRequest, match="JSON object"):
        GenerateRequest.from_json(["prompt"])
    with pytest.raises(InvalidRequest, match="mask_rects"):
        EditRequest.from_json({"prompt": "x", "input_images": ["a.png"], "mask_rects": ["1,2,3"]})
    with pytest.raises(InvalidRequest, match="has no 'image'"):
        ReviewRequest.from_json({"auto": True})


def test_relative_paths_become_absolute_and_urls_stay(tmp_path):
    request = GenerateRequest(prompt="x", style_refs=("a.png",), baseline_image="https://example.com/b.png",
                              output_file="out/c.png")
    stored = request.with_absolute_paths(tmp_path)
    assert stored.style_refs == (str(tmp_path / "a.png"),) and stored.output_file == str(tmp_path / "out/c.png")
    assert stored.baseline_image == "https://example.com/b.png" and stored.prompt == "x"


# -- job files are input: the request inside is checked as flags are ---------------------------------

QUEUE = "generated/imagegen-queue"


def _plant(workdir: Path, job: dict) -> None:
    pending = workdir / QUEUE / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    (pending / f"{job['job_id']}.json").write_text(json.dumps(job))


@pytest.mark.parametrize("request_doc", [
    {"prompt": "A fox", "n": 10**9},
    {"prompt": "A fox", "output_dir": ["not", "a", "path"]},
    {"prompt": "A fox", "aspect_ratio": "../../etc"},
    {"prompt": "A fox", "unexpected": True},
    {"prompt": {"nested": "object"}},
])
def test_a_hostile_request_in_a_job_file_is_corrupt_job_and_nothing_is_sent(run, fake, workdir, request_doc):
    _plant(workdir, {"job_id": "planted--0000", "request_id": "planted", "format": 2, "kind": "generate",
                     "request": request_doc})
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.3"))
    assert summary["failed"] == 1 and not fake.requests
    failed = json.loads((workdir / QUEUE / "failed" / "planted--0000.json").read_text())
    assert failed["error_kind"] == "corrupt_job" and "request" in failed["error"]


def test_a_job_of_another_kind_is_refused(run, fake, workdir):
    _plant(workdir, {"job_id": "old--0000", "request_id": "old", "kind": "edit", "args": {"prompt": "x"}})
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.3"))
    failed = json.loads((workdir / QUEUE / "failed" / "old--0000.json").read_text())
    assert summary["failed"] == 1 and failed["error_kind"] == "corrupt_job" and not fake.requests


def test_a_job_written_in_the_previous_format_still_runs(run, fake, workdir):
    """Format 1 stored argparse's flags under "args"; such a job in a user's queue is not lost."""
    out = workdir / "legacy.png"
    _plant(workdir, {"job_id": "legacy--0000", "request_id": "legacy", "schema": 1, "kind": "generate",
                     "variation": "Variation 1 of a set of 2: vary the lighting; keep everything else as described.",
                     "args": {"prompt": "A lighthouse", "model": None, "style_ref": [], "input_image": None,
                              "output_file": str(out), "output_dir": str(workdir / "data"), "n": 1,
                              "sidecar": True, "overwrite": False, "api": "chat", "max_cost": None,
                              "fallback_model": "google/gemini-3.1-flash-image-preview", "timeout": 180.0}})
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.3"))
    assert summary["done"] == 1 and out.exists()
    sent = fake.requests_for("chat")[0].json
    assert sent["model"] == "google/gemini-3.1-flash-image-preview"
    assert "Variation 1 of a set of 2" in json.dumps(sent["messages"])


def test_enqueue_stores_the_request_not_the_flags(run, fake, workdir):
    done = assert_one_json(run("enqueue_image_job.py", "--prompt", "A lighthouse", "--out", "a.png",
                               "--request-id", "q"))
    job = json.loads((workdir / QUEUE / "pending" / f"{done['job_ids'][0]}.json").read_text())
    assert job["format"] == 2 and "args" not in job and job["status"] == "pending"
    assert GenerateRequest.from_json(job["request"]).output_file == str(workdir / "a.png")
    assert "timeout" not in job["request"] and "dry_run" not in job["request"]
