"""The queue and the operations around it as a new user, or cron, meets them (issue 13): dry runs that
spend nothing, collisions refused at enqueue, unknown request ids, cron logging, worker progress lines,
and the small things (idle exit, kept timeouts, mask files, the ledger's script name)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, assert_one_json, ledger_entries
from tests.fake_api import error_reply, make_png
from tests.schema_check import assert_valid

QUEUE = "generated/imagegen-queue"


def test_gitignore_keeps_a_virtualenv_out():
    assert ".venv/" in (ROOT / ".gitignore").read_text().splitlines()


def test_idle_exit_zero_leaves_as_soon_as_the_queue_is_empty(run):
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet",
                                  timeout=10))
    assert summary["status"] == "drained" and summary["elapsed_ms"] < 2000


def test_the_ledger_names_generate_image_py(run, env):
    doc = assert_one_json(run("generate_image.py", "--prompt", "A lighthouse at dusk, oil painting", "--quiet"))
    assert doc["warnings"] == []
    assert [line["script"] for line in ledger_entries(env)] == ["generate_image.py"]


def test_a_drawn_mask_is_not_a_gallery_card(run, workdir):
    folder = workdir / "shots"
    folder.mkdir()
    (folder / "room.png").write_bytes(make_png(8, 8))
    (folder / "room.mask.png").write_bytes(make_png(8, 8))
    page = assert_one_json(run("gallery.py", "--dir", str(folder)))
    assert page["images"] == 1
    assert "room.mask.png" not in Path(page["path"]).read_text()


# -- 1. a dry run queues nothing, starts nothing, sends nothing -------------------------------------

DRY_RUNS = {
    "enqueue_image_job.py": ("--prompt", "A retro crab poster, neon", "--out", "out/crab.png"),
    "enqueue_variants.py": ("--prompt", "A snow crab logo, flat vector", "--count", "3", "--out-dir", "out"),
    "queue_and_return.py": ("--prompt", "A snow crab logo, flat vector", "--count", "3", "--out-dir", "out"),
}


@pytest.mark.parametrize("script", sorted(DRY_RUNS))
def test_a_queue_dry_run_queues_starts_and_sends_nothing(run, fake, workdir, script):
    document = assert_one_json(run(script, *DRY_RUNS[script], "--request-id", "dry-1", "--dry-run"))
    assert document["warnings"] == []
    assert document["status"] == "dry_run" and document["dry_run"] is True
    count = 1 if script == "enqueue_image_job.py" else 3
    assert document["would_queue"] == count and len(document["jobs"]) == count
    assert all(Path(target).parent == workdir / "out" for target in document["targets"])
    assert document["cost_estimate_usd"] > 0 and all(job["model"] for job in document["jobs"])
    assert list(workdir.iterdir()) == []  # no queue folder, no output folder, no manifest, no log
    assert fake.requests == []
    assert_valid(document, "queue.dry_run")
    if script == "queue_and_return.py":
        assert document["worker"]["state"] == "not_spawned"


@pytest.mark.parametrize("script", ["enqueue_variants.py", "queue_and_return.py"])
@pytest.mark.parametrize("flag", ["--output-dir", "--output-file", "--out"])
def test_variant_scripts_do_not_offer_single_output_flags(run, script, flag):
    helped = run(script, "--help")
    assert helped.code == 0 and "--output-dir" not in helped.stdout and "--output-file" not in helped.stdout
    refused = run(script, "--prompt", "A snow crab logo, flat vector", flag, "x", "--dry-run")
    assert refused.code == 2 and refused.json["error_kind"] == "usage"


# -- 2. a taken output is refused at enqueue, the same way everywhere -------------------------------

def test_enqueue_refuses_an_existing_output_file(run, workdir):
    (workdir / "out").mkdir()
    (workdir / "out" / "crab.png").write_bytes(make_png(8, 8))
    refused = run("enqueue_image_job.py", "--prompt", "A retro crab poster, neon", "--out", "out/crab.png")
    assert refused.code == 2 and refused.json["error_kind"] == "output_exists"
    assert "--overwrite" in refused.json["error"] and not (workdir / QUEUE).exists()
    variants = run("enqueue_variants.py", "--prompt", "A snow crab logo, flat vector", "--count", "1",
                   "--out-dir", "out", "--prefix", "crab", "--start-index", "1")
    (workdir / "out" / "crab-01.png").write_bytes(make_png(8, 8))
    assert variants.code == 0  # (before the file existed)
    again = run("enqueue_variants.py", "--prompt", "A snow crab logo, flat vector", "--count", "1",
                "--out-dir", "out", "--prefix", "crab", "--request-id", "other")
    assert again.code == 2 and again.json["error_kind"] == "output_exists"
    forced = assert_one_json(run("enqueue_image_job.py", "--prompt", "A retro crab poster, neon",
                                 "--out", "out/crab.png", "--overwrite"))
    assert forced["status"] == "queued"


def test_a_request_may_enqueue_again_onto_its_own_finished_output(run, workdir):
    args = ("enqueue_image_job.py", "--prompt", "A retro crab poster, neon", "--out", "out/crab.png",
            "--request-id", "mine")
    assert_one_json(run(*args))
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet"))
    assert (workdir / "out" / "crab.png").is_file()
    again = assert_one_json(run(*args))
    assert again["jobs"][0]["created"] is False and again["jobs"][0]["state"] == "results"


# -- 8. --timeout and --retries given at enqueue time are the job's ---------------------------------

def test_enqueue_timeout_and_retries_are_kept_for_the_job(run, fake, workdir):
    ack = assert_one_json(run("enqueue_image_job.py", "--prompt", "A lighthouse at dusk, oil painting",
                              "--out", "out/l.png", "--retries", "0", "--timeout", "7.5"))
    (job_file,) = (workdir / QUEUE / "pending").glob("*.json")
    job = json.loads(job_file.read_text())
    assert (job["timeout"], job["retries"]) == (7.5, 0) and ack["jobs"][0]["created"]
    fake.enqueue("chat", error_reply(500, "boom"), error_reply(500, "boom"), error_reply(500, "boom"))
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet",
                        "--max-attempts", "1", "--retries", "2"))
    assert len(fake.requests_for("chat")) == 1  # the job's --retries 0, not the worker's 2


def test_a_job_file_with_an_unusable_timeout_is_corrupt(run, workdir):
    assert_one_json(run("enqueue_image_job.py", "--prompt", "A lighthouse at dusk, oil painting", "--out", "l.png"))
    (job_file,) = (workdir / QUEUE / "pending").glob("*.json")
    job_file.write_text(json.dumps({**json.loads(job_file.read_text()), "timeout": float("nan")}))
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet"))
    assert summary["corrupt"] == 1


# -- 3. an unknown request id is exit 2 with the ids that exist nearby -------------------------------

def test_waiting_on_a_mistyped_request_id_fails_fast_and_names_the_real_ones(run, monkeypatch):
    from imagegen.queue import status

    monkeypatch.setattr(status, "UNKNOWN_REQUEST_GRACE_SEC", 0.3)
    for request in ("discord-1234", "nightly"):
        assert_one_json(run("enqueue_image_job.py", "--prompt", "A lighthouse at dusk, oil painting",
                            "--request-id", request))
    started = time.monotonic()
    waited = run("queue_status.py", "--request-id", "discord-1243", "--wait", "--timeout", "60")
    assert time.monotonic() - started < 5
    assert waited.code == 2 and waited.json["error_kind"] == "usage"
    assert waited.json["request_ids_nearby"][0] == "discord-1234" and "discord-1234" in waited.json["details"]
    assert run("queue_status.py", "--request-id", "discord-1243").code == 2
    gallery = run("gallery.py", "--request-id", "nope")
    assert gallery.code == 2 and set(gallery.json["request_ids_nearby"]) == {"discord-1234", "nightly"}


def test_wait_gives_a_racing_enqueue_a_moment(run, workdir):
    import threading

    assert_one_json(run("enqueue_image_job.py", "--prompt", "A lighthouse at dusk, oil painting", "--dry-run"))
    (workdir / QUEUE / "pending").mkdir(parents=True)  # a queue exists, the request not yet
    for state in ("running", "results", "failed"):
        (workdir / QUEUE / state).mkdir()
    late = threading.Timer(0.5, lambda: (workdir / QUEUE / "index" / "late" ).mkdir(parents=True) or
                           (workdir / QUEUE / "index" / "late" / "0000").write_text('{"job_id": "late--0000"}'))
    late.start()
    waited = run("queue_status.py", "--request-id", "late", "--wait", "--timeout", "0.8")
    late.join()
    assert waited.code == 0 and waited.json["total"] == 1 and waited.json["timed_out"] is True


# -- 7. progress lines count consistently and name the file -----------------------------------------

def test_worker_progress_lines_count_in_order_and_name_each_file(run, fake, workdir):
    lines = "".join(json.dumps({"prompt": f"A lighthouse number {i}, oil painting", "out": f"out/l-{i}.png"}) + "\n"
                    for i in range(6))
    (workdir / "jobs.jsonl").write_text(lines)
    assert_one_json(run("enqueue_image_job.py", "--jobs-file", "jobs.jsonl", "--request-id", "six"))
    fake.latency = 0.05
    fake.enqueue("chat", error_reply(401, "bad key"))
    drained = run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--concurrency", "3")
    progress = [line for line in drained.stderr.splitlines() if line.startswith("[")]
    assert [line.split("]")[0] for line in progress] == [f"[{n}/6" for n in range(1, 7)], drained.stderr
    assert sorted(line.split()[2] for line in progress) == [f"l-{i}.png" for i in range(6)]
    (failed,) = [line for line in progress if " failed " in line]
    assert "(job six--" in failed and "auth" in failed


# -- scale: what grows with the batch and the folder (bench/run.py measures the times) ---------------

def test_a_jobs_file_reads_the_request_index_once(run, workdir, monkeypatch):
    from imagegen.queue import store

    reads = []
    original = store.request_index
    monkeypatch.setattr(store, "request_index", lambda *a: reads.append(a) or original(*a))
    lines = "".join(json.dumps({"prompt": f"A lighthouse number {i}, oil painting", "out": f"out/l-{i}.png"}) + "\n"
                    for i in range(40))
    (workdir / "jobs.jsonl").write_text(lines + lines.splitlines(keepends=True)[0])  # the last line repeats the first
    ack = assert_one_json(run("enqueue_image_job.py", "--jobs-file", "jobs.jsonl", "--request-id", "many"))
    assert len(reads) == 1 and len(set(ack["job_ids"])) == 40 and ack["job_ids"][-1] == ack["job_ids"][0]
    assert [job["created"] for job in ack["jobs"]] == [True] * 40 + [False]


def test_a_worker_lists_a_full_output_folder_once_not_per_job(run, workdir, monkeypatch):
    from imagegen import fsutil
    from imagegen.images import writer

    lines = "".join(json.dumps({"prompt": f"A lighthouse number {i}, oil painting", "out": f"out/l-{i}.png"}) + "\n"
                    for i in range(5))
    (workdir / "jobs.jsonl").write_text(lines)
    assert_one_json(run("enqueue_image_job.py", "--jobs-file", "jobs.jsonl", "--request-id", "five"))
    listed = []
    original = fsutil.sweep_abandoned
    for module in (fsutil, writer):
        monkeypatch.setattr(module, "sweep_abandoned", lambda folder: listed.append(Path(folder)) or original(folder))
    assert assert_one_json(run("run_image_queue.py", "--idle-exit-sec", "0", "--quiet"))["done"] == 5
    assert listed.count(workdir / "out") == 1
