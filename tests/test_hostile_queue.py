"""The queue under hostile conditions: racing enqueuers, planted job files, lines of a jobs file.

Racing enqueuers are real processes (only processes race for the request index as cron and agents
do); the rest call main() in-process against the loopback fake.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS, assert_one_json

QUEUE = "q"

RACER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from imagegen.queue import store
from imagegen.queue.layout import QueueDirs
dirs = QueueDirs.at(sys.argv[2]).ensure()
start = float(sys.argv[3])
while time.time() < start:
    pass
for number in range(int(sys.argv[4])):
    store.enqueue(dirs, {"request_id": "race", "output": f"/o/{number}.png", "request": {"prompt": "x"}}, None)
"""


def pending_jobs(queue: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((queue / "pending").glob("*.json"))]


def test_racing_enqueues_of_one_output_make_one_job(tmp_path):
    """Five processes enqueue the same 40 outputs of one request at the same moment: 40 jobs, not more."""
    queue = tmp_path / "queue"
    start = time.time() + 0.4
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(SCRIPTS), str(queue), str(start), "40"])
              for _ in range(5)]
    assert [racer.wait(timeout=60) for racer in racers] == [0] * 5
    outputs = Counter(job["output"] for job in pending_jobs(queue))
    assert len(outputs) == 40 and set(outputs.values()) == {1}, outputs


def test_racing_enqueue_scripts_return_the_one_job(env, workdir):
    commands = [[sys.executable, str(SCRIPTS / "enqueue_image_job.py"), "--prompt", "A lighthouse at dusk",
                 "--out", "out/a.png", "--request-id", "same", "--queue-dir", QUEUE] for _ in range(5)]
    processes = [subprocess.Popen(c, cwd=workdir, env=env, stdout=subprocess.PIPE, text=True) for c in commands]
    acks = [json.loads(p.communicate(timeout=60)[0]) for p in processes]
    assert {tuple(ack["job_ids"]) for ack in acks} == {("same--0000",)}
    assert sum(ack["jobs"][0]["created"] for ack in acks) == 1
    assert len(pending_jobs(workdir / QUEUE)) == 1


# -- jobs-file lines are data, never flags ------------------------------------------------------

def enqueue_lines(run, workdir, *lines: object, request_id: str = "batch"):
    path = workdir / "jobs.jsonl"
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return run("enqueue_image_job.py", "--jobs-file", str(path), "--request-id", request_id, "--queue-dir", QUEUE)


GOOD_LINE = {"prompt": "A lighthouse at dusk, watercolour", "out": "out/a.png"}


@pytest.mark.parametrize("line, named", [
    ({"help": True}, "help"),
    ({"version": True}, "version"),
    ({"prompt": "A fox", "h": True}, "'h'"),
    ({"prompt": "A fox in snow", "out": "out/b.png", "overw": True}, "overw"),  # an abbreviation of --overwrite
    ({"prompt": "A fox in snow", "dry_run": True}, "dry_run"),
    ({"prompt": "A fox in snow", "queue_dir": "/tmp/elsewhere"}, "queue_dir"),
    ({"prompt": "A fox in snow", "instructions": ["ignore the rails"]}, "instructions"),
    ({"prompt": "A fox in snow", "size": "1K", "image_size": "low"}, "size"),
    ({"prompt": "A fox in snow", "n": 2, "count": 3}, "count"),
    ({"prompt": "A fox in snow", "n": 40}, "'n'"),
    ({"prompt": "A fox in snow", "seed": "--version"}, "seed"),
])
def test_a_line_can_trigger_no_parser_action(run, fake, workdir, line, named):
    doc = assert_one_json(result := enqueue_lines(run, workdir, GOOD_LINE, line))
    assert result.code == 2 and doc["error_kind"] == "usage", doc
    assert "jobs.jsonl:2" in doc["error"] and named in doc["error"], doc
    assert pending_jobs(workdir / QUEUE) == []  # the good line was not queued alone either


@pytest.mark.parametrize("prompt", ["--help", "-h", "--version", "--prompt=x", "-"])
def test_a_prompt_that_looks_like_a_flag_is_a_prompt(run, fake, workdir, prompt):
    doc = assert_one_json(enqueue_lines(run, workdir, {"prompt": prompt, "allow_no_baseline_on_edit_intent": True}))
    assert doc["status"] == "queued"
    (job,) = pending_jobs(workdir / QUEUE)
    assert job["request"]["prompt"] == prompt


def test_documented_line_shapes_keep_working(run, fake, workdir):
    from tests.fake_api import make_png

    (workdir / "ref.png").write_bytes(make_png(16, 16))
    doc = assert_one_json(enqueue_lines(
        run, workdir,
        {"prompt": "A retro 80s crab poster", "out": "out/crab.png"},
        {"prompt": "A lighthouse at dusk", "output-file": "out/l.png", "image_size": "low", "count": 2,
         "no_sidecar": True, "style_ref": "ref.png", "model": "nanobanana", "lock_palette": False, "seed": "7"},
        {"prompt": "A fox in snow", "output_file": "out/f.png", "system_prompt": "Be exact.", "size": "1k",
         "clarify_hints": True, "max_cost": 1, "strict_clarify": False, "n": None},
        {"name": "hero", "prompt": "A lighthouse on a basalt cliff at blue hour", "preset": "cinematic-still"},
    ))
    assert doc["status"] == "queued" and len(doc["job_ids"]) == 4
    requests = [job["request"] for job in pending_jobs(workdir / QUEUE)]
    assert requests[0]["output_file"] == str(workdir / "out/crab.png")
    assert requests[0]["fallback_model"] == "nanobanana-2"  # generate_image.py's default
    second = requests[1]
    assert (second["size"], second["n"], second["sidecar"], second["seed"]) == ("1K", 2, False, 7)
    assert second["style_refs"] == [str(workdir / "ref.png")] and second["lock_palette"] is None  # false: not given
    assert requests[2]["system_prompt"] == "Be exact." and requests[2]["max_cost"] == 1
    assert requests[3]["output_file"] == str(workdir / "data/hero.png")


def test_the_example_batch_file_queues(run, fake, workdir):
    from tests.conftest import ROOT

    doc = assert_one_json(run("enqueue_image_job.py", "--jobs-file", str(ROOT / "examples/batch/prompts.jsonl"),
                              "--request-id", "example", "--queue-dir", QUEUE))
    assert len(doc["job_ids"]) == 5
    assert [Path(j["target"]).name for j in doc["jobs"]] == ["hero.png", "mug.png", "icon-cloud.png",
                                                              "icon-lock.png", "poster.png"]


# -- a planted job runs only inside the worker's roots ------------------------------------------

PROMPT = "A lighthouse at dusk, watercolour"


def plant(workdir: Path, request: dict, name: str = "planted--0000", **fields) -> Path:
    pending = workdir / QUEUE / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    job = {"job_id": name, "request_id": name.rsplit("--", 1)[0], "format": 2, "kind": "generate",
           "request": {"prompt": PROMPT, **request}, **fields}
    path = pending / f"{name}.json"
    path.write_text(json.dumps(job))
    return path


def drain(run, *args: str, timeout: float = 30):
    return run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--retries", "0", *args,
               timeout=timeout)


def failed_record(workdir: Path, name: str = "planted--0000") -> dict:
    return json.loads((workdir / QUEUE / "failed" / f"{name}.json").read_text())


def assert_refused(result, workdir, fake, kind: str) -> dict:
    summary = assert_one_json(result)
    assert result.code == 0 and "errors" not in summary, summary
    assert summary["failed"] == 1 and summary["corrupt"] == 1 and summary["done"] == 0, summary
    record = failed_record(workdir)
    assert record["error_kind"] == kind and record["retryable"] is False, record
    assert fake.requests == []
    return record


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the work folder, outside the worker's roots, holding a private image and a file to protect."""
    from tests.fake_api import make_png

    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "private.png").write_bytes(make_png(16, 16))
    (folder / "victim.txt").write_text("keep me\n")
    return folder


@pytest.mark.parametrize("request_doc", [
    {"output_file": "{outside}/victim.txt", "overwrite": True},  # /etc/passwd, with its passwd.json
    {"output_file": "sub/../../outside/escaped.png"},
    {"output_dir": "../outside"},
    {"output_dir": "{outside}", "output_file": None},
    {"output_file": "link/escaped.png"},  # a symlink in the work folder that leads out
    {"output_file": "q/pending/evil--0000.json"},  # inside the queue: it would plant a job
    {"output_file": "out/a.png", "input_images": ["{outside}/private.png"]},
    {"output_file": "out/a.png", "input_images": ["link/private.png"]},
    {"output_file": "out/a.png", "style_refs": ["{outside}/private.png"]},
    {"prompt": "Make the sky darker", "output_file": "out/a.png", "baseline_image": "{outside}/private.png",
     "confirm_external_upload": True, "workspace_root": "/"},
    {"prompt": "Make the sky darker", "output_file": "out/a.png", "baseline_image": "link/private.png",
     "confirm_external_upload": True, "workspace_root": "link"},
    {"output_file": "out/a.png", "preset": "{outside}/preset.json"},
], ids=["overwrite-outside", "dotdot-file", "dotdot-dir", "absolute-dir", "symlink-out", "into-queue",
        "input-image", "input-through-link", "style-ref", "workspace-root-slash", "workspace-through-link",
        "preset-outside"])
def test_planted_job_paths_outside_the_roots_are_refused(run, fake, workdir, outside, request_doc):
    (workdir / "link").symlink_to(outside)
    (outside / "preset.json").write_text(json.dumps({"name": "p", "style": {"mood": "calm"}}))
    doc = {k: (v.replace("{outside}", str(outside)) if isinstance(v, str) else
               [i.replace("{outside}", str(outside)) for i in v] if isinstance(v, list) else v)
           for k, v in request_doc.items()}
    plant(workdir, {k: v for k, v in doc.items() if v is not None})
    record = assert_refused(drain(run), workdir, fake, "outside_roots")
    assert "outside the folders" in record["error"] or "inside the queue" in record["error"]
    assert "--allow-root" in record["details"]
    assert (outside / "victim.txt").read_text() == "keep me\n"
    assert sorted(p.name for p in outside.iterdir()) == ["preset.json", "private.png", "victim.txt"]
    assert not (workdir / QUEUE / "pending" / "evil--0000.json").exists()


def test_a_preset_in_the_roots_may_not_pull_reference_images_from_outside(run, fake, workdir, outside):
    (workdir / "presets").mkdir()
    (workdir / "presets" / "sly.json").write_text(json.dumps(
        {"name": "sly", "style": {"reference_images": [str(outside / "private.png")]}}))
    plant(workdir, {"output_file": "out/a.png", "preset": str(workdir / "presets" / "sly.json"),
                    "model": "nanobanana"})
    record = assert_refused(drain(run), workdir, fake, "outside_roots")
    assert "private.png" in record["error"]


@pytest.mark.parametrize("how", ["flag", "config"])
def test_more_roots_come_from_the_worker_never_the_job(run, fake, workdir, outside, how, env):
    plant(workdir, {"output_file": str(outside / "made.png"), "input_images": [str(outside / "private.png")],
                    "model": "nanobanana"})
    if how == "flag":
        result = drain(run, "--allow-root", str(outside))
    else:
        config = Path(env["XDG_CONFIG_HOME"]) / "image-gen" / "config.json"
        config.parent.mkdir(parents=True)
        config.write_text(json.dumps({"allow_roots": [str(outside)]}))
        result = drain(run)
    summary = assert_one_json(result)
    assert summary["done"] == 1 and summary["corrupt"] == 0 and (outside / "made.png").exists()


@pytest.mark.subprocess  # the detached worker must get the roots queue_and_return was given
def test_queue_and_return_hands_its_allowed_roots_to_the_worker(run, fake, workdir, outside):
    ack = assert_one_json(run("queue_and_return.py", "--prompt", PROMPT, "--request-id", "far", "--out-dir",
                              str(outside), "--prefix", "far", "--queue-dir", QUEUE, "--allow-root", str(outside)))
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "far", "--wait",
                                 "--timeout", "30"))
    assert ack["worker"]["state"] == "spawned" and status["failures"] == [], status
    assert (outside / "far-01.png").exists()


def test_an_allowed_root_that_is_not_a_folder_stops_the_worker(run, fake, workdir, env):
    config = Path(env["XDG_CONFIG_HOME"]) / "image-gen" / "config.json"
    config.parent.mkdir(parents=True)
    config.write_text(json.dumps({"allow_roots": "/"}))
    doc = assert_one_json(result := drain(run))
    assert result.code == 2 and doc["error_kind"] == "config" and "allow_roots" in doc["error"]
    config.unlink()
    doc = assert_one_json(result := drain(run, "--allow-root", str(workdir / "missing")))
    assert result.code == 2 and "missing" in doc["error"]


def test_a_job_asking_for_40_images_is_refused_by_request_validation(run, fake, workdir):
    plant(workdir, {"output_file": "out/a.png", "n": 40})
    record = assert_refused(drain(run), workdir, fake, "corrupt_job")
    assert "'n'" in record["error"] and "1 to 10" in record["error"]


@pytest.mark.parametrize("field, value", [
    ("request_id", 5), ("request_id", "someone-else"), ("enqueued_by", "me"), ("variation", 5),
    ("history", {}), ("kind", ["generate"]), ("output", 7), ("format", "2"), ("charge_unknown", "yes"),
    ("variant", True),
])
def test_wrong_types_in_a_job_are_corrupt_not_internal(run, fake, workdir, field, value):
    plant(workdir, {"output_file": "out/a.png"}, **{field: value})
    record = assert_refused(drain(run), workdir, fake, "corrupt_job")
    assert field in record["error"]


def test_a_job_path_the_file_system_refuses_fails_the_job_not_as_internal(run, fake, workdir):
    plant(workdir, {"output_file": "x" * 5000})
    summary = assert_one_json(drain(run))
    record = failed_record(workdir)
    assert summary["failed"] == 1 and "errors" not in summary and fake.requests == []
    assert record["error_kind"] == "usage" and "File name too long" in record["error"], record


def test_a_job_file_over_the_size_cap_is_corrupt(run, fake, workdir):
    plant(workdir, {"output_file": "out/a.png"}, padding="x" * (1024 * 1024))
    record = assert_refused(drain(run), workdir, fake, "corrupt_job")
    assert "bytes" in record["error"]


def test_a_job_file_that_is_a_link_or_a_fifo_is_corrupt(run, fake, workdir, tmp_path):
    import os

    real = plant(workdir, {"output_file": "out/a.png"})
    real.rename(tmp_path / "real.json")
    real.symlink_to(tmp_path / "real.json")
    os.mkfifo(workdir / QUEUE / "pending" / "fifo--0000.json")
    summary = assert_one_json(drain(run, timeout=20))
    assert summary["corrupt"] == 2 and summary["failed"] == 2 and fake.requests == []
    assert {failed_record(workdir, n)["error_kind"] for n in ("planted--0000", "fifo--0000")} == {"corrupt_job"}


@pytest.mark.parametrize("folder", ["pending", "running", "results", "failed", "index", "workers", "logs"])
def test_a_symlinked_queue_folder_is_refused(run, fake, workdir, tmp_path, folder):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (workdir / QUEUE).mkdir()
    (workdir / QUEUE / folder).symlink_to(elsewhere)
    doc = assert_one_json(result := drain(run))
    assert result.code == 2 and doc["error_kind"] == "queue_dir" and "symbolic link" in doc["error"], doc
    doc = assert_one_json(result := run("enqueue_image_job.py", "--prompt", PROMPT, "--queue-dir", QUEUE))
    assert result.code == 2 and doc["error_kind"] == "queue_dir"
    assert list(elsewhere.iterdir()) == [] and fake.requests == []


def test_a_folder_swapped_for_a_link_mid_run_stops_the_worker(env, fake, workdir, tmp_path):
    fake.latency = 0.8
    plant(workdir, {"output_file": "out/a.png"})
    worker = subprocess.Popen([sys.executable, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", QUEUE,
                               "--idle-exit-sec", "0.05"], cwd=workdir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while not list((workdir / QUEUE / "running").glob("*.lease")) and time.monotonic() < deadline:
        time.sleep(0.02)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (workdir / QUEUE / "results").rename(workdir / QUEUE / "results.real")
    (workdir / QUEUE / "results").symlink_to(elsewhere)
    out, err = worker.communicate(timeout=30)
    summary = json.loads(out)
    assert any("symbolic link" in e for e in summary["errors"]) and "symbolic link" in err
    assert list(elsewhere.iterdir()) == []
    assert (workdir / QUEUE / "running" / "planted--0000.json").exists()  # left for the next worker
