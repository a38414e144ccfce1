"""Operations as people meet them: cron without a key, idle logs and their rotation, a person at a
terminal, progress on long waits, queue names across requests, what queue_status.py shows per job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_json
from tests.schema_check import assert_valid

QUEUE = "generated/imagegen-queue"
PROMPT = "A lighthouse at dusk, oil painting"
NO_KEY = {"OPENROUTER_API_KEY_IMAGES": None, "OPENROUTER_API_KEY": None}


def names(workdir: Path, state: str) -> list[str]:
    folder = workdir / QUEUE / state
    return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []


# -- cron without a key ---------------------------------------------------------------------------

def test_without_a_key_a_job_waits_in_pending_and_the_run_fails_with_one_line(run, fake, workdir):
    queued = assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--quiet",
                                 env_extra=NO_KEY))
    (job_id,) = queued["job_ids"]
    result = run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet",
                 "--handoff-mode", "cron", env_extra=NO_KEY)
    doc = assert_one_json(result)
    assert result.code == 2 and doc["success"] is False and doc["error_kind"] == "missing_key", doc
    assert_valid(doc, "run_image_queue.success")
    assert doc["missing_key"]["jobs_waiting"] == [job_id] and "export OPENROUTER_API_KEY" in doc["details"]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "is not set" in lines[0] and "export OPENROUTER_API_KEY_IMAGES" in lines[0], lines
    assert names(workdir, "pending") == [job_id] and names(workdir, "failed") == [] and fake.requests == []
    job = json.loads((workdir / QUEUE / "pending" / f"{job_id}.json").read_text())
    assert job["deferred_limit"] == "missing_key" and job["attempts"] == 0
    # the key is set: the next worker runs the job at once, without waiting for the deferral to pass
    done = assert_one_json(result := run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0",
                                          "--quiet"))
    assert result.code == 0 and done["done"] == 1 and "missing_key" not in done and result.stderr == ""
    assert names(workdir, "results") == [job_id]


def test_without_a_key_under_log_file_the_one_line_still_reaches_cron(run, fake, workdir):
    run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--quiet", env_extra=NO_KEY)
    result = run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--log-file", "logs/q.log",
                 env_extra=NO_KEY)
    assert result.code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "is not set" in result.stderr
    logged = (workdir / "logs" / "q.log").read_text().splitlines()
    assert json.loads(logged[-1])["error_kind"] == "missing_key"


def test_an_idle_run_logs_one_short_line(run, fake, workdir):
    for _ in range(3):
        result = run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--log-file", "q.log")
        assert result.code == 0 and result.stdout == "" and result.stderr == ""
    lines = (workdir / "q.log").read_text().splitlines()
    assert len(lines) == 3 and all("idle: nothing to run" in line and len(line) < 120 for line in lines), lines
    run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--quiet")
    run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--log-file", "q.log")
    document = json.loads((workdir / "q.log").read_text().splitlines()[-1])  # a run that did something: the JSON
    assert document["done"] == 1


def test_the_log_file_rotates_by_size_keeping_a_few(run, fake, workdir):
    from imagegen.cli import logfile

    log = workdir / "q.log"
    for generation in range(logfile.KEEP + 2):
        log.write_text(f"generation {generation}\n" + "x" * logfile.MAX_BYTES)
        run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--log-file", "q.log")
    assert len(log.read_text().splitlines()) == 1  # the last run's line, in a fresh file
    kept = sorted(p.name for p in workdir.glob("q.log.*"))
    assert kept == [f"q.log.{n}" for n in range(1, logfile.KEEP + 1)]
    assert (workdir / "q.log.1").read_text().startswith(f"generation {logfile.KEEP + 1}\n")
    small = workdir / "small.log"
    small.write_text("a line\n")
    logfile.rotate(small)
    assert small.read_text() == "a line\n" and not (workdir / "small.log.1").exists()


# -- queue names across requests -------------------------------------------------------------------

def test_two_requests_without_a_prefix_never_share_names(run, fake, workdir):
    """The second request is not refused as output_exists: each request's names are its own."""
    first = assert_one_json(run("enqueue_variants.py", "--prompt", "A minimalist snow crab logo", "--count", "2",
                                "--quiet"))
    second = assert_one_json(result := run("enqueue_variants.py", "--prompt", "A minimalist snow crab logo",
                                           "--count", "3", "--quiet"))
    assert result.code == 0, second
    assert not set(first["targets"]) & set(second["targets"])
    for doc in (first, second):
        tag = doc["request_id"].rsplit("-", 1)[1]
        assert all(Path(t).name.startswith(f"minimalist-snow-crab-logo-{tag}-") for t in doc["targets"]), doc
    named = assert_one_json(run("queue_and_return.py", "--prompt", "A fox", "--count", "2", "--request-id",
                                "chat-77", "--dry-run"))
    assert [Path(t).name for t in named["targets"]] == ["chat-77-01.png", "chat-77-02.png"]
    again = assert_one_json(run("enqueue_variants.py", "--prompt", "A fox", "--count", "2", "--request-id",
                                "chat-77", "--quiet"))
    assert [Path(t).name for t in again["targets"]] == ["chat-77-01.png", "chat-77-02.png"]
    assert Path(again["manifest"]).name == "chat-77-manifest.json"


@pytest.mark.parametrize("prompt, request_id, expected", [
    ("A minimalist snow crab logo", "req-20261206-085446-5d00e5", "minimalist-snow-crab-logo-5d00e5"),
    ("The fox", "req-20261206-085446-00aa11", "fox-00aa11"),
    ("雪の中の狐", "req-20261206-085446-00aa11", "image-00aa11"),
    ("A fox", "discord-1234", "discord-1234"),
    ("A fox", "<chat> 7", "chat-7"),
    ("A fox", "((", "request"),
])
def test_default_prefix(prompt, request_id, expected):
    from imagegen.queue.variants import default_prefix

    assert default_prefix(prompt, request_id) == expected


# -- queue_status.py per job --------------------------------------------------------------------------

def test_queue_status_shows_each_jobs_model_cost_warnings_and_image(run, fake, workdir):
    run("enqueue_variants.py", "--prompt", PROMPT, "--count", "2", "--request-id", "r-7", "--quiet",
        "--model", "nanobanana")  # a retired model: its note is a warning of the run
    waiting = assert_one_json(run("queue_status.py", "--request-id", "r-7"))
    assert all(job["model"] == "google/gemini-2.5-flash-image" and job["cost_estimate_usd"] > 0
               for job in waiting["jobs"]), waiting["jobs"]
    run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet")
    doc = assert_one_json(run("queue_status.py", "--request-id", "r-7"))
    assert_valid(doc, "queue_status.request")
    for job in doc["jobs"]:
        assert job["state"] == "results" and job["model"] == "google/gemini-2.5-flash-image"
        assert job["cost_usd"] == pytest.approx(0.04)
        assert any("discontinued" in w for w in job["warnings"])
        image = job["image"]
        assert image["width"] > 0 and image["height"] > 0 and image["format"] == "png"
        assert image["bytes"] == Path(job["paths"][0]).stat().st_size
        assert json.loads(Path(job["sidecar"]).read_text())["image"]["bytes"] == image["bytes"]


def test_queue_status_reads_a_recorded_result_as_hostile(run, fake, workdir):
    run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--request-id", "r-8", "--quiet")
    run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet")
    (path,) = (workdir / QUEUE / "results").glob("*.json")
    job = json.loads(path.read_text())
    job["result"].update(model=["x"], cost_usd=1e9, warnings=["w" * 5000, 7],
                         width=True, height=-3, path="/dev/null", sidecar=5)
    path.write_text(json.dumps(job))
    doc = assert_one_json(result := run("queue_status.py", "--request-id", "r-8"))
    assert result.code == 0, doc
    (shown,) = doc["jobs"]
    assert shown["model"] is None and shown["cost_usd"] is None and shown["sidecar"] is None
    assert [len(w) for w in shown["warnings"]] == [300]
    assert shown["image"] == {"width": None, "height": None, "format": "png", "bytes": None}
