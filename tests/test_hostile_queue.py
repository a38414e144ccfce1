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
    assert requests[0]["fallback_model"] == "google/gemini-3.1-flash-image-preview"  # generate_image.py's default
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
