"""The queue as agents and cron use it: the loopback fake, files on disk.

Workers that are raced, killed or detached are real processes, as are the tests marked ``subprocess``;
the rest call main() in-process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from imagegen.contract import error_document
from imagegen.errors import UsageError
from imagegen.models.table import RETIRED_NOTES
from imagegen.queue import execute
from tests.conftest import SCRIPTS, TEST_KEY, assert_one_json
from tests.fake_api import error_reply

QUEUE = "generated/imagegen-queue"


def queue_files(workdir: Path, state: str) -> list[Path]:
    folder = workdir / QUEUE / state
    return sorted(p for p in folder.glob("*.json")) if folder.exists() else []


def result_warnings(workdir: Path) -> list[list[str]]:
    """The warnings of each finished job's result, in file-name order."""
    return [json.loads(path.read_text())["result"]["warnings"] for path in queue_files(workdir, "results")]


def prompts_sent(fake) -> Counter:
    return Counter(r.json["messages"][-1]["content"] for r in fake.requests_for("chat"))


def start_worker(env, workdir, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", QUEUE,
                             "--idle-exit-sec", "0.5", *args], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def write_jobs_file(workdir: Path, count: int) -> Path:
    path = workdir / "jobs.jsonl"
    path.write_text("\n".join(json.dumps({"prompt": f"A lighthouse number {i}", "output_file": f"out/img-{i:03d}.png",
                                          "model": "nanobanana"}) for i in range(count)) + "\n")
    return path


@pytest.mark.subprocess  # as an agent and cron see it: real processes, stdout and exit status
def test_enqueue_then_foreground_drain(run, fake, workdir):
    ack = assert_one_json(run("enqueue_image_job.py", "--prompt", "A retro 80s crab poster",
                              "--output-file", "./generated/crab-01.png", "--request-id", "discord-1"))
    assert ack["status"] == "queued" and ack["job_ids"] == ["discord-1--0000"]
    assert fake.requests == []  # enqueueing never calls the provider
    summary = assert_one_json(result := run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 1 and summary["failed"] == 0
    assert "[1/1] ok crab-01.png" in result.stderr
    (record_path,) = queue_files(workdir, "results")
    record = json.loads(record_path.read_text())
    assert record["status"] == "done" and record["attempts"] == 1
    assert record["result"]["path"] == str(workdir / "generated/crab-01.png") and record["result"]["warnings"] == []
    assert record["handoff_mode"] == "foreground" and record["same_turn_drain_detected"] is True
    assert record["provider"]["generation_id"].startswith("gen-")
    assert (workdir / "generated/crab-01.png").read_bytes().startswith(b"\x89PNG")


def test_reenqueue_is_idempotent(run, fake, workdir):
    first = assert_one_json(run("enqueue_image_job.py", "--prompt", "x y z", "--output-file", "a.png",
                                "--request-id", "r1"))
    again = assert_one_json(run("enqueue_image_job.py", "--prompt", "x y z", "--output-file", "a.png",
                                "--request-id", "r1"))
    other = assert_one_json(run("enqueue_image_job.py", "--prompt", "x y z", "--output-file", "b.png",
                                "--request-id", "r1"))
    assert first["job_ids"] == again["job_ids"] == ["r1--0000"] and again["jobs"][0]["created"] is False
    assert other["job_ids"] == ["r1--0001"]
    assert len(queue_files(workdir, "pending")) == 2


def test_completed_output_is_not_paid_for_twice(run, fake, workdir):
    assert_one_json(run("enqueue_image_job.py", "--prompt", "x y z", "--output-file", "a.png", "--request-id", "r1"))
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    # Simulate a worker that died after writing the image but before recording the result.
    (result_path,) = queue_files(workdir, "results")
    job = json.loads(result_path.read_text())
    job.pop("result")
    job["attempts"] = 1
    (workdir / QUEUE / "pending" / result_path.name).write_text(json.dumps(job))
    result_path.unlink()
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 1 and len(fake.requests_for("chat")) == 1
    record = json.loads(queue_files(workdir, "results")[0].read_text())
    assert record["result"]["recovered_from_previous_attempt"] is True
    assert record["result"]["warnings"] == [
        "the image from an earlier attempt was found complete; no second call was made"]


@pytest.mark.parametrize("request_id", ["../escape", "a/b", "..", ".hidden", "x" * 200, ""])
def test_unsafe_request_ids_are_refused(run, fake, workdir, request_id):
    doc = assert_one_json(result := run("enqueue_image_job.py", "--prompt", "x y z", "--request-id", request_id))
    assert result.code == 2 and "request id" in doc["error"]
    assert not (workdir / "escape").exists() and queue_files(workdir, "pending") == []


def test_refused_job_is_never_queued(run, fake, workdir):
    doc = assert_one_json(result := run("enqueue_image_job.py", "--prompt", "x", "--model", "flux.2-klein",
                                        "--style-ref", "missing.png", "--request-id", "r1"))
    assert result.code == 2 and doc["error_kind"] == "unsupported" and queue_files(workdir, "pending") == []


def test_jobs_file_batch_and_bad_line(run, fake, workdir):
    path = write_jobs_file(workdir, 3)
    doc = assert_one_json(run("enqueue_image_job.py", "--jobs-file", str(path), "--request-id", "nightly"))
    assert len(doc["job_ids"]) == 3
    bad = workdir / "bad.jsonl"
    bad.write_text('{"prompt": "fine prompt here"}\n{"prompt": "x", "aspect_ratio": "7:7"}\n')
    doc = assert_one_json(result := run("enqueue_image_job.py", "--jobs-file", str(bad), "--request-id", "n2"))
    assert result.code == 2 and "bad.jsonl:2" in doc["error"]
    assert len(queue_files(workdir, "pending")) == 3  # the bad batch added nothing


def test_malformed_job_files_fail_with_reason_and_worker_carries_on(run, fake, workdir):
    write_jobs_file(workdir, 2)
    assert_one_json(run("enqueue_image_job.py", "--jobs-file", "jobs.jsonl", "--request-id", "ok"))
    pending = workdir / QUEUE / "pending"
    (pending / "broken--0000.json").write_text('{"job_id": "broken--0000", "args": {"pro')
    (pending / "weird--0000.json").write_text('["not", "a", "job"]')
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 2
    failed = {p.name: json.loads(p.read_text()) for p in queue_files(workdir, "failed")}
    assert set(failed) == {"broken--0000.json", "weird--0000.json"}
    assert all(f["error_kind"] == "corrupt_job" and f["error"] for f in failed.values())


@pytest.mark.subprocess
def test_variants_manifest_and_no_overwrite_of_earlier_batch(run, fake, workdir):
    doc = assert_one_json(run("enqueue_variants.py", "--prompt", "A minimalist snow crab logo", "--count", "4",
                              "--out-dir", "./generated", "--prefix", "crab-logo", "--request-id", "d-1"))
    assert [Path(t).name for t in doc["targets"]] == [f"crab-logo-0{i}.png" for i in range(1, 5)]
    manifest = json.loads(Path(doc["manifest"]).read_text())
    deltas = [v["delta"]["delta"] for v in manifest["batches"][0]["variants"]]
    assert len(set(deltas)) == 4 and manifest["prompt"] == "A minimalist snow crab logo"
    assert manifest["job_ids"] == doc["job_ids"]
    # the same command again is idempotent
    again = assert_one_json(run("enqueue_variants.py", "--prompt", "A minimalist snow crab logo", "--count", "4",
                                "--out-dir", "./generated", "--prefix", "crab-logo", "--request-id", "d-1"))
    assert again["job_ids"] == doc["job_ids"] and len(queue_files(workdir, "pending")) == 4
    # another request may not take over the manifest or the files
    clash = assert_one_json(result := run("enqueue_variants.py", "--prompt", "Other", "--count", "2",
                                          "--out-dir", "./generated", "--prefix", "crab-logo", "--request-id", "d-2"))
    assert result.code == 2 and clash["error_kind"] == "output_exists"
    # continuing the numbering with --start-index extends the same request's manifest
    more = assert_one_json(run("enqueue_variants.py", "--prompt", "A minimalist snow crab logo", "--count", "2",
                               "--start-index", "5", "--out-dir", "./generated", "--prefix", "crab-logo",
                               "--request-id", "d-1"))
    assert [Path(t).name for t in more["targets"]] == ["crab-logo-05.png", "crab-logo-06.png"]
    assert len(json.loads(Path(doc["manifest"]).read_text())["outputs"]) == 6
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 6
    texts = [r.json["messages"][-1]["content"] for r in fake.requests_for("chat")]
    assert all("Variation" in t for t in texts) and len(set(texts)) == 6
    assert result_warnings(workdir) == [[]] * 6


@pytest.mark.subprocess  # spawns a detached worker; the ack time includes start-up
def test_queue_and_return_acks_fast_and_detached_worker_drains(run, fake, workdir, env):
    fake.latency = 0.3
    started = time.monotonic()
    ack = assert_one_json(run("queue_and_return.py", "--prompt", "A minimalist snow crab logo", "--count", "4",
                              "--request-id", "discord-9", "--out-dir", "./generated", "--prefix", "crab-logo",
                              "--queue-dir", QUEUE))
    elapsed = time.monotonic() - started
    assert ack["status"] == "queued" and ack["worker"]["state"] == "spawned"
    assert elapsed < 1.0  # includes interpreter start-up of the test's own subprocess
    assert Path(ack["worker"]["log"]).parent == (workdir / QUEUE / "logs")
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "discord-9",
                                 "--wait", "--timeout", "30"))
    assert status["done"] is True and len(status["attachments"]) == 4 and status["failures"] == []
    assert status["cost_usd"] == pytest.approx(0.16)
    record = json.loads(queue_files(workdir, "results")[0].read_text())
    assert record["handoff_mode"] == "background" and record["same_turn_drain_detected"] is False
    assert result_warnings(workdir) == [[]] * 4


def test_dry_run_worker_spawns_nothing(run, fake, workdir):
    ack = assert_one_json(run("queue_and_return.py", "--prompt", "A crab", "--request-id", "r", "--dry-run-worker"))
    assert ack["worker"]["state"] == "not_spawned"
    time.sleep(0.5)
    assert len(queue_files(workdir, "pending")) == 1 and fake.requests == []


def test_slots_are_respected(run, fake, workdir, env):
    fake.latency = 0.5
    write_jobs_file(workdir, 12)
    assert_one_json(run("enqueue_image_job.py", "--jobs-file", "jobs.jsonl", "--request-id", "many"))
    workers = [start_worker(env, workdir, "--max-background-workers", "2", "--concurrency", "2") for _ in range(3)]
    summaries = [json.loads(w.communicate(timeout=60)[0]) for w in workers]
    statuses = Counter(s["status"] for s in summaries)
    assert statuses == Counter({"drained": 2, "no_free_slot": 1})
    assert fake.peak_concurrency <= 4
    assert sum(s.get("done", 0) for s in summaries) == 12 and len(fake.requests_for("chat")) == 12
    retired = RETIRED_NOTES["google/gemini-2.5-flash-image"]
    assert result_warnings(workdir) == [[retired]] * 12  # the jobs ask for nanobanana


@pytest.mark.slow
def test_four_workers_and_cron_process_100_jobs_exactly_once(run, fake, workdir, env):
    fake.latency = 0.05
    write_jobs_file(workdir, 100)
    assert_one_json(run("enqueue_image_job.py", "--jobs-file", "jobs.jsonl", "--request-id", "hundred"))
    workers = [start_worker(env, workdir, "--max-background-workers", "4") for _ in range(4)]
    time.sleep(0.3)
    workers.append(start_worker(env, workdir, "--max-background-workers", "4", "--handoff-mode", "cron"))
    for worker in workers:
        worker.communicate(timeout=120)
    sent = prompts_sent(fake)
    assert len(sent) == 100 and set(sent.values()) == {1}
    assert len(queue_files(workdir, "results")) == 100
    assert queue_files(workdir, "pending") == queue_files(workdir, "running") == queue_files(workdir, "failed") == []


def test_kill_9_mid_job_then_new_worker_finishes_everything_once(run, fake, workdir, env):
    fake.latency = 1.0
    write_jobs_file(workdir, 6)
    assert_one_json(run("enqueue_image_job.py", "--jobs-file", "jobs.jsonl", "--request-id", "crash"))
    victim = start_worker(env, workdir, "--concurrency", "3")
    deadline = time.monotonic() + 10
    while len(list((workdir / QUEUE / "running").glob("*.lease"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    fake.latency = 0.0  # the slow replies only had to keep the victim mid-job
    assert len(list((workdir / QUEUE / "running").glob("*.json"))) >= 1
    summary = json.loads(start_worker(env, workdir, "--concurrency", "3").communicate(timeout=60)[0])
    assert {a["action"] for a in summary["recovered"]} <= {"requeued", "released_lease", "already_finished"}
    results = queue_files(workdir, "results")
    assert len(results) == 6
    assert queue_files(workdir, "pending") == queue_files(workdir, "running") == queue_files(workdir, "failed") == []
    assert not list((workdir / QUEUE / "running").glob("*.lease"))
    assert not list((workdir / "out").glob(".imagegen-*"))
    images = sorted(p.name for p in (workdir / "out").glob("*.png"))
    assert images == [f"img-{i:03d}.png" for i in range(6)]


def test_429_storm_slows_the_worker_without_losing_jobs(run, fake, workdir):
    write_jobs_file(workdir, 4)
    assert_one_json(run("enqueue_image_job.py", "--jobs-file", "jobs.jsonl", "--request-id", "storm"))
    for _ in range(8):
        fake.enqueue("chat", error_reply(429, "slow down", retry_after=0.2))
    started = time.monotonic()
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05",
                                  "--retries", "1"))
    assert summary["done"] == 4 and summary["failed"] == 0
    assert time.monotonic() - started >= 0.4
    assert len(queue_files(workdir, "results")) == 4


def test_permanent_failure_goes_to_failed_with_kind(run, fake, workdir):
    assert_one_json(run("enqueue_image_job.py", "--prompt", "x y z", "--request-id", "f"))
    fake.enqueue("chat", error_reply(402, "no credits"))
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["failed"] == 1
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "f"))
    assert status["done"] is True and status["failures"][0]["error_kind"] == "credits"


@pytest.mark.parametrize("raised", [ZeroDivisionError("division by zero"),
                                    UsageError("a kind no agent knows", kind="made_up", details="fix it")])
def test_a_job_that_fails_unforeseen_is_filed_as_the_cli_would_show_it(run, fake, workdir, monkeypatch, raised):
    """The worker turns what a job raised into its failure with the same translation as the command
    line and the MCP server (contract.as_error): a bug is internal, an unlisted kind is internal too."""
    def broken(job, **options):
        raise raised

    monkeypatch.setattr(execute, "execute", broken)
    assert_one_json(run("enqueue_image_job.py", "--prompt", "x y z", "--request-id", "bug"))
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["failed"] == 1 and not fake.requests_for("chat")
    (record_path,) = queue_files(workdir, "failed")
    record = json.loads(record_path.read_text())
    shown = error_document(raised)
    assert shown["error_kind"] == "internal"
    assert [record[key] for key in ("error_kind", "error", "details")] == [shown[key] for key in
                                                                          ("error_kind", "error", "details")]


@pytest.mark.parametrize("failures, outcome", [(2, "results"), (3, "failed")])
def test_retryable_failures_are_retried_up_to_max_attempts(run, fake, workdir, failures, outcome):
    assert_one_json(run("enqueue_image_job.py", "--prompt", "x y z", "--request-id", "flaky"))
    for _ in range(failures):
        fake.enqueue("chat", error_reply(500, "boom"))
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--retries", "0"))
    (record_path,) = queue_files(workdir, outcome)
    record = json.loads(record_path.read_text())
    assert len(fake.requests_for("chat")) == min(failures + 1, 3) == record["attempts"]
    assert [h["error_kind"] for h in record["history"]] == ["provider_error"] * min(failures, 3)
    if outcome == "failed":
        assert record["error_kind"] == "provider_error" and record["retryable"] is True


@pytest.mark.subprocess
def test_status_of_whole_queue_and_missing_queue(run, fake, workdir):
    doc = assert_one_json(result := run("queue_status.py", "--queue-dir", "nowhere"))
    assert result.code == 2 and doc["error_kind"] == "queue_dir"
    assert_one_json(run("enqueue_image_job.py", "--prompt", "x y z", "--request-id", "s"))
    doc = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE))
    assert doc["counts"] == {"pending": 1, "running": 0, "submitted": 0, "results": 0, "failed": 0}
    assert doc["busy_slots"] == []


@pytest.mark.subprocess  # spawns a detached worker
def test_no_secret_in_any_queue_file(run, fake, workdir):
    assert_one_json(run("queue_and_return.py", "--prompt", "A crab", "--count", "2", "--request-id", "sec",
                        "--out-dir", "out", "--prefix", "p"))
    assert_one_json(run("queue_status.py", "--request-id", "sec", "--wait", "--timeout", "30"))
    for path in workdir.rglob("*"):
        if path.is_file():
            assert TEST_KEY.encode() not in path.read_bytes(), path


SEED_REQUEST = "discord-<message-id>"


def test_seed_enqueue_line_then_drain_uses_the_seed_default_model(run, fake, workdir):
    ack = assert_one_json(result := run(
        "enqueue_image_job.py", "--prompt", "A retro 80s crab poster", "--model",
        "google/gemini-3.1-flash-image-preview", "--image-size", "low", "--clarify-hints",
        "--out", "./generated/crab-01.png", "--request-id", SEED_REQUEST))
    assert result.code == 0 and ack["job_ids"] == [f"{SEED_REQUEST}--0000"]
    assert_one_json(run("run_image_queue.py", "--queue-dir", "./generated/imagegen-queue", "--idle-exit-sec", "0.05"))
    body = fake.requests_for("chat")[0].json
    assert body["model"] == "google/gemini-3.1-flash-image-preview"
    assert body["image_config"]["image_size"] == "1K"
    assert (workdir / "generated/crab-01.png").exists() and result_warnings(workdir) == [[]]


def test_queue_default_model_is_nano_banana_2(run, fake, workdir):
    assert_one_json(run("queue_and_return.py", "--max-background-workers", "2", "--orphan-timeout-sec", "1800",
                        "--prompt", "A minimalist snow crab logo", "--request-id", "qr", "--dry-run-worker"))
    (job_path,) = queue_files(workdir, "pending")
    job = json.loads(job_path.read_text())
    assert job["format"] == 2 and job["request"]["fallback_model"] == "nanobanana-2"
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert fake.requests_for("chat")[0].json["model"] == "google/gemini-3.1-flash-image"
    assert result_warnings(workdir) == [[]]


def test_seed_variants_line_needs_upload_consent_for_a_local_baseline(run, fake, workdir):
    from tests.fake_api import make_png

    (workdir / "generated").mkdir()
    (workdir / "generated/base-logo.png").write_bytes(make_png(64, 64))
    seed_line = ["--prompt", "A minimalist snow crab logo", "--count", "4",
                 "--baseline-image", "./generated/base-logo.png", "--variation-strength", "low",
                 "--lock-palette", "--lock-composition", "--must-keep", "wordmark placement",
                 "--must-keep", "icon silhouette", "--out-dir", "./generated", "--prefix", "crab-logo",
                 "--request-id", SEED_REQUEST]
    doc = assert_one_json(result := run("enqueue_variants.py", *seed_line))
    assert result.code == 2 and doc["error_kind"] == "upload_consent_required"
    assert queue_files(workdir, "pending") == []
    doc = assert_one_json(run("enqueue_variants.py", *seed_line, "--confirm-external-upload", "--max-jobs", "3"))
    assert len(doc["job_ids"]) == 3
    manifest = json.loads(Path(doc["manifest"]).read_text())
    assert manifest["request"]["baseline"]["sha256"]
    assert manifest["constraints"]["rails_applied"]["lock_palette"] is True
    deltas = [v["delta"]["aspect"] for v in manifest["batches"][0]["variants"]]
    assert "palette" not in deltas and "framing" not in deltas and "pose" not in deltas
    more = assert_one_json(run("enqueue_variants.py", *seed_line, "--confirm-external-upload", "--count", "1",
                               "--start-index", "5"))
    assert [Path(t).name for t in more["targets"]] == ["crab-logo-05.png"]
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    sent = [r.json for r in fake.requests_for("chat")]
    assert len(sent) == 4
    for body in sent:
        parts = body["messages"][-1]["content"]
        assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
        assert "wordmark placement" in parts[0]["text"] and "Variation" in parts[0]["text"]
    results = [json.loads(p.read_text()) for p in queue_files(workdir, "results")]
    assert all(r["baseline_applied"] is True and r["edit_intent_detected"] is False for r in results)


@pytest.mark.subprocess
@pytest.mark.parametrize("args, code, kind", [
    (["--prompt", "Make it darker and keep the logo"], 4, "edit_intent_without_baseline"),
    (["--prompt", "cat", "--strict-clarify"], 3, "clarify"),
    (["--prompt", "A poster", "--aspect-ratio", "7:7"], 2, "usage"),
])
def test_refusals_at_enqueue_time_match_generate(run, fake, workdir, args, code, kind):
    queued = assert_one_json(result := run("enqueue_image_job.py", *args, "--request-id", "r"))
    direct = assert_one_json(run("generate_image.py", *args))
    assert result.code == code and queued["error_kind"] == direct["error_kind"] == kind
    assert queue_files(workdir, "pending") == [] and fake.requests == []


def test_variant_instructions_never_trip_edit_intent(run, fake, workdir):
    prompt = "A red-and-white lighthouse on a rocky point at dusk, watercolour illustration"
    doc = assert_one_json(result := run("queue_and_return.py", "--prompt", prompt, "--count", "6",
                                        "--request-id", "v", "--strict-clarify", "--dry-run-worker"))
    assert result.code == 0 and len(doc["job_ids"]) == 6
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert len(queue_files(workdir, "results")) == 6 and queue_files(workdir, "failed") == []
    assert result_warnings(workdir) == [[]] * 6


def test_jobs_record_inputs_by_path_and_hash_never_bytes(run, fake, workdir):
    from tests.fake_api import make_png

    (workdir / "ref.png").write_bytes(make_png(32, 32, noise=True))
    assert_one_json(run("enqueue_image_job.py", "--prompt", "A lighthouse at dusk in gouache", "--model",
                        "nanobanana", "--style-ref", "ref.png", "--request-id", "refs"))
    (job_path,) = queue_files(workdir, "pending")
    job = json.loads(job_path.read_text())
    (ref,) = job["inputs"]["style_refs"]
    assert ref["path"] == str(workdir / "ref.png") and len(ref["sha256"]) == 64
    assert len(job_path.read_bytes()) < 5000  # no image data in the job file
