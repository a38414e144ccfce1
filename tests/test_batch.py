"""Batch mode: jobs queued --via batch go to Gemini Batch Mode or OpenAI's Batch API, and later
drains poll, collect and file them: saved as the synchronous path saves them, at the batch price,
never submitted twice (not even after kill -9 between the provider's answer and our record)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS, assert_one_json, ledger_entries
from tests.fake_api import GEMINI_TEST_KEY, Reply, gemini_error_reply
from tests.schema_check import assert_valid

GEMINI_KEY = GEMINI_TEST_KEY  # the key the fake accepts
PROMPT = "A product shot of a red enamel kettle on white, soft studio light"
QUEUE = "generated/imagegen-queue"


@pytest.fixture
def env(env):
    return {**env, "GEMINI_API_KEY": GEMINI_KEY}


def enqueue(run, *args: str, count: int = 2, model: str = "nanobanana-2", request: str = "shots") -> dict:
    result = run("enqueue_variants.py", "--prompt", PROMPT, "--model", model, "--count", str(count), "--via", "batch",
                 "--request-id", request, "--out-dir", "out", "--prefix", request, "--quiet", *args)
    assert result.code == 0, result.stdout
    return assert_one_json(result)


def drain(run, *args: str, env_extra: dict[str, str] | None = None) -> dict:
    result = run("run_image_queue.py", "--quiet", "--idle-exit-sec", "0", *args, env_extra=env_extra)
    assert result.code == 0, result.stdout + result.stderr
    document = assert_one_json(result)
    assert_valid(document, "run_image_queue.success")
    return document


def status(run, request: str = "shots") -> dict:
    document = assert_one_json(run("queue_status.py", "--request-id", request))
    assert_valid(document, "queue_status.request")
    return document


def queue(workdir: Path, state: str) -> list[str]:
    folder = workdir / QUEUE / state
    return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []


# -- enqueueing ---------------------------------------------------------------------------------

def test_batch_jobs_are_priced_at_half_and_stored_on_the_provider_that_makes_the_model(run, workdir):
    queued = enqueue(run)
    assert [job["cost_estimate_usd"] for job in queued["jobs"]] == [0.0505, 0.0505]  # 2K $0.101, halved
    job = json.loads((workdir / QUEUE / "pending" / "shots--0001.json").read_text())
    assert job["via"] == "batch" and job["request"]["provider"] == "google"


@pytest.mark.parametrize("args, words", [
    (("--model", "flux.2-pro"), "no batch engine"),
    (("--model", "nanobanana-2", "--provider", "openrouter"), "not OpenRouter's"),
    (("--model", "nanobanana-2", "--enhance"), "--enhance"),
])
def test_what_no_batch_engine_can_take_is_refused_at_enqueue(run, workdir, args, words):
    result = run("enqueue_image_job.py", "--prompt", PROMPT, "--via", "batch", "--out", "a.png", *args)
    document = assert_one_json(result)
    assert result.code == 2 and words in document["error"]
    assert queue(workdir, "pending") == []


def test_a_dry_run_names_the_batch_price_and_queues_nothing(run, workdir, fake):
    result = run("enqueue_image_job.py", "--prompt", PROMPT, "--model", "gpt-image-2", "--quality", "low", "--via",
                 "batch", "--out", "a.png", "--dry-run")
    document = assert_one_json(result)
    assert document["warnings"] == []
    # gpt-image-2 low at 1024x1024: 196 image tokens at $30/M (about $0.006), halved
    assert document["would_queue"] == 1 and document["cost_estimate_usd"] == pytest.approx(30 * 196 / 1e6 / 2, abs=1e-4)
    assert queue(workdir, "pending") == [] and fake.requests == []


# -- Gemini -------------------------------------------------------------------------------------

def test_gemini_batch_is_submitted_once_polled_and_collected_like_a_synchronous_run(run, fake, env, workdir):
    enqueue(run)
    first = drain(run)
    assert first["batches"]["submitted"][0]["jobs"] == 2
    (created,) = fake.requests_for("gemini_batch_create")
    assert created.headers["x-goog-api-key"] == GEMINI_KEY and "key=" not in created.path + json.dumps(created.query)
    batch = created.json["batch"]
    assert batch["displayName"].startswith("imagegen-")
    keys = [item["metadata"]["key"] for item in batch["inputConfig"]["requests"]["requests"]]
    assert keys == ["shots--0001", "shots--0002"]
    request = batch["inputConfig"]["requests"]["requests"][0]["request"]
    assert request["generationConfig"]["imageConfig"] == {"aspectRatio": "1:1", "imageSize": "2K"}
    assert queue(workdir, "submitted") == ["shots--0001", "shots--0002"]

    running = drain(run)  # the batch is still running: nothing is submitted again
    assert running["batches"]["in_flight"][0]["batch_state"] == "running"
    shown = status(run)
    assert shown["states"] == {"submitted": 2}
    assert shown["batches"][0]["provider"] == "google" and shown["batches"][0]["batch_state"] == "running"
    assert {job["batch"] for job in shown["jobs"]} == {shown["batches"][0]["record"]}

    fake.gemini_batches.finish()
    collected = drain(run)
    assert collected["done"] == 2 and collected["cost_usd"] == pytest.approx(0.101)
    assert fake.gemini_batches.creates == 1
    records = [json.loads(p.read_text()) for p in (workdir / QUEUE / "results").glob("*.json")]
    assert len(records) == 2 and [r["result"]["warnings"] for r in records] == [[], []]  # the 2K frame, as asked
    for name in ("shots-01.png", "shots-02.png"):
        sidecar = json.loads((workdir / "out" / (name + ".json")).read_text())
        assert sidecar["request"]["via"] == "batch" and sidecar["request"]["job_id"].startswith("shots--")
    lines = ledger_entries(env)
    assert [line["outcome"] for line in lines] == ["batch_submitted"] * 2 + ["success"] * 2
    assert [line["cost_usd"] for line in lines[2:]] == [0.0505, 0.0505]
    assert {line["batch_id"] for line in lines} == {collected["batches"]["collected"][0]["batch_id"]}
    assert status(run)["done"] is True and queue(workdir, "submitted") == []
    assert list((workdir / QUEUE / "batches").glob("*.json")) == []


def test_a_large_gemini_batch_goes_as_an_uploaded_file_and_results_come_back_as_a_file(run, fake, workdir,
                                                                                       monkeypatch):
    from imagegen.providers import gemini_batch

    monkeypatch.setattr(gemini_batch, "INLINE_LIMIT", 10)
    enqueue(run)
    drain(run)
    start, finish = fake.requests_for("gemini_upload")
    assert start.headers["x-goog-upload-command"] == "start" and "x-goog-api-key" not in finish.headers
    (created,) = fake.requests_for("gemini_batch_create")
    assert created.json["batch"]["inputConfig"]["fileName"].startswith("files/")
    fake.gemini_batches.finish()
    assert drain(run)["done"] == 2
    assert fake.requests_for("gemini_download")


def test_partly_failed_gemini_batch_files_blocks_and_requeues_what_retrying_can_fix(run, fake, env, workdir):
    enqueue(run, count=3)
    drain(run)
    fake.gemini_batches.outcome = {"shots--0001": None, "shots--0002": "safety", "shots--0003": "error"}.get
    fake.gemini_batches.finish()
    result = drain(run)
    assert result["batches"]["collected"][0] == {**result["batches"]["collected"][0], "saved": 1, "failed": 1,
                                                 "requeued": 1}
    failed = json.loads((workdir / QUEUE / "failed" / "shots--0002.json").read_text())
    assert failed["error_kind"] == "moderation" and failed["retryable"] is False
    # the request Google failed on its side went back, and the same drain submitted it again, alone
    assert fake.gemini_batches.creates == 2 and queue(workdir, "submitted") == ["shots--0003"]
    outcomes = [(line["job_id"], line["outcome"]) for line in ledger_entries(env)]
    assert ("shots--0002", "error") in outcomes and ("shots--0001", "success") in outcomes


def test_an_expired_gemini_batch_puts_its_jobs_back_until_the_attempts_run_out(run, fake, workdir):
    enqueue(run, count=1)
    drain(run, "--max-attempts", "2")
    fake.gemini_batches.expire()
    drain(run, "--max-attempts", "2")  # back in pending, and submitted again
    assert fake.gemini_batches.creates == 2 and queue(workdir, "submitted") == ["shots--0001"]
    for batch_id in fake.gemini_batches.batches:
        fake.gemini_batches.expire(batch_id)
    drain(run, "--max-attempts", "2")
    failed = json.loads((workdir / QUEUE / "failed" / "shots--0001.json").read_text())
    assert failed["error_kind"] == "batch_expired" and fake.gemini_batches.creates == 2


def test_a_failed_gemini_batch_fails_its_jobs_with_the_providers_reason(run, fake, workdir):
    enqueue(run, count=1)
    drain(run)
    fake.gemini_batches.fail()
    drain(run)
    failed = json.loads((workdir / QUEUE / "failed" / "shots--0001.json").read_text())
    assert failed["error_kind"] == "batch_failed" and "contents is not specified" in failed["error"]


def test_a_refused_submission_puts_the_jobs_back_or_fails_them(run, fake, workdir):
    enqueue(run, count=1)
    fake.enqueue("gemini_batch_create", gemini_error_reply(400, "* imageConfig.aspectRatio: bad value"))
    drain(run)
    failed = json.loads((workdir / QUEUE / "failed" / "shots--0001.json").read_text())
    assert failed["error_kind"] == "bad_request" and "aspectRatio" in failed["provider_message"]
    assert list((workdir / QUEUE / "batches").glob("*.json")) == []


def test_a_rate_limited_submission_waits_and_is_sent_again_later(run, fake, workdir):
    enqueue(run, count=1)
    fake.enqueue("gemini_batch_create", *[gemini_error_reply(429, "Resource has been exhausted")] * 3)
    drain(run, "--retries", "0")
    job = json.loads((workdir / QUEUE / "pending" / "shots--0001.json").read_text())
    assert job["not_before"] > time.time() and "batch" not in job
    assert fake.gemini_batches.creates == 0


# -- OpenAI -------------------------------------------------------------------------------------

def test_openai_batch_uploads_jsonl_and_collects_output_and_error_files(run, fake, env, workdir):
    enqueue(run, "--quality", "low", count=2, model="gpt-image-2")
    drain(run)
    (upload,) = fake.requests_for("openai_file_create")
    assert upload.form["purpose"] == "batch"
    lines = [json.loads(line) for line in upload.part("file").data.splitlines()]
    assert [line["custom_id"] for line in lines] == ["shots--0001", "shots--0002"]
    assert lines[0]["url"] == "/v1/images/generations" and lines[0]["body"]["quality"] == "low"
    assert "response_format" not in lines[0]["body"]
    (created,) = fake.requests_for("openai_batch_create")
    assert created.json["endpoint"] == "/v1/images/generations" and created.json["completion_window"] == "24h"
    fake.openai_batches.outcome = {"shots--0001": None, "shots--0002": "safety"}.get
    fake.openai_batches.finish()
    result = drain(run)
    assert result["done"] == 1
    (done,) = (workdir / QUEUE / "results").glob("*.json")
    assert json.loads(done.read_text())["result"]["warnings"] == []
    success = [line for line in ledger_entries(env) if line["outcome"] == "success"]
    # low at 1024x1024: 196 image tokens at $30/M plus 44 text tokens at $5/M (gpt-image-2's rates), halved
    assert success[0]["cost_usd"] == pytest.approx((196 * 30 + 44 * 5) / 1e6 / 2)
    failed = json.loads((workdir / QUEUE / "failed" / "shots--0002.json").read_text())
    assert failed["error_kind"] == "moderation"


def test_an_expired_openai_batch_requeues_the_requests_it_did_not_reach(run, fake, env, workdir):
    enqueue(run, count=1, model="gpt-image-2")
    drain(run)
    fake.openai_batches.expire()
    drain(run)
    assert fake.openai_batches.creates == 2 and queue(workdir, "submitted") == ["shots--0001"]
    job = json.loads((workdir / QUEUE / "submitted" / "shots--0001.json").read_text())
    assert "expired" in job["history"][-1]["error"]
    assert [line["outcome"] for line in ledger_entries(env)] == ["batch_submitted", "batch_expired", "batch_submitted"]


# -- cancelling ---------------------------------------------------------------------------------

def test_cancel_stops_the_batch_at_the_provider_and_files_the_jobs(run, fake, workdir):
    enqueue(run, count=2, model="gpt-image-2")
    drain(run)
    run("enqueue_image_job.py", "--prompt", PROMPT, "--model", "gpt-image-2", "--via", "batch", "--request-id",
        "shots", "--out", "late.png", "--quiet")
    cancelled = assert_one_json(run("queue_status.py", "--cancel", "shots"))
    assert_valid(cancelled, "queue_status.cancel")
    assert cancelled["batches"][0]["cancel"] == "sent" and cancelled["jobs_cancelled"] == ["shots--0003"]
    assert len(fake.requests_for("openai_batch_cancel")) == 1
    drain(run)
    assert queue(workdir, "failed") == ["shots--0001", "shots--0002", "shots--0003"]
    assert {json.loads((workdir / QUEUE / "failed" / f"{j}.json").read_text())["error_kind"]
            for j in queue(workdir, "failed")} == {"cancelled"}
    assert fake.openai_batches.creates == 1


def test_cancel_of_a_finished_request_says_nothing_was_cancelled(run, fake, workdir):
    enqueue(run, count=1)
    drain(run)
    fake.gemini_batches.finish()
    drain(run)
    assert queue(workdir, "results") == ["shots--0001"]
    answer = assert_one_json(run("queue_status.py", "--cancel", "shots"))
    assert_valid(answer, "queue_status.cancel")
    assert answer["status"] == "nothing_to_cancel" and answer["jobs_cancelled"] == [] and answer["batches"] == []
    assert "every job has finished" in answer["note"] and fake.requests_for("gemini_batch_cancel") == []
    assert queue(workdir, "results") == ["shots--0001"]


def test_cancel_of_an_unknown_request_names_the_known_ones(run, workdir):
    enqueue(run, count=1)
    result = run("queue_status.py", "--cancel", "nope")
    assert result.code == 2 and "shots" in assert_one_json(result)["details"]


# -- crashes and hostile files ------------------------------------------------------------------

@pytest.mark.subprocess
def test_kill_9_between_submission_and_record_never_submits_twice(run, fake, env, workdir):
    enqueue(run, count=2)
    arrived = threading.Event()

    def accept_then_hang(record):
        reply = fake.gemini_batches.create(record)  # the provider has the batch ...
        arrived.set()
        time.sleep(4)  # ... but its answer never reaches the worker, killed meanwhile
        return reply

    fake.enqueue("gemini_batch_create", accept_then_hang)
    worker = subprocess.Popen([sys.executable, str(SCRIPTS / "run_image_queue.py"), "--quiet", "--idle-exit-sec", "0"],
                              cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert arrived.wait(30)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(30)
    (record,) = [json.loads(p.read_text()) for p in (workdir / QUEUE / "batches").glob("*.json")]
    assert record["state"] == "submitting" and record["batch_id"] is None
    recovered = drain(run)
    assert recovered["batches"]["recovered"][0]["record"] == record["name"]
    assert fake.gemini_batches.creates == 1 and queue(workdir, "submitted") == ["shots--0001", "shots--0002"]
    fake.gemini_batches.finish()
    assert drain(run)["done"] == 2 and fake.gemini_batches.creates == 1


def test_a_submission_that_never_arrived_is_sent_once_after_the_crash(run, fake, workdir):
    enqueue(run, count=1)
    fake.enqueue("gemini_batch_create", Reply(reset=True))  # the connection drops: did it arrive?
    drain(run, "--retries", "0")
    assert queue(workdir, "submitted") == ["shots--0001"] and fake.gemini_batches.creates == 0
    drain(run)  # the provider has no batch of the record's name: the job goes back and is sent once
    assert fake.gemini_batches.creates == 1 and len(fake.requests_for("gemini_batch_list")) == 1


def test_planted_batch_records_are_left_alone_and_reported(run, fake, workdir):
    enqueue(run, count=1)
    folder = workdir / QUEUE / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "imagegen-20261201T000000-deadbeef.json").write_text(json.dumps({
        "name": "imagegen-20261201T000000-deadbeef", "provider": "google", "model": "m", "state": "submitted",
        "jobs": [{"job_id": "../../etc/passwd"}], "batch_id": "batches/x"}))
    result = drain(run)
    assert any("not a batch record" in e for e in result["batches"]["errors"])
    assert fake.requests_for("gemini_batch_get") == []


def test_a_provider_batch_name_that_is_no_name_is_never_put_in_a_url(run, fake, workdir):
    enqueue(run, count=1)
    fake.enqueue("gemini_batch_create", Reply(json={"name": "batches/../../v1beta/models", "metadata": {}}))
    drain(run)
    assert queue(workdir, "submitted") == ["shots--0001"]  # kept for the next drain to look for by name
    assert all("/v1beta/models" not in r.path or r.method == "POST" for r in fake.requests)


def test_a_completed_openai_batch_with_an_output_file_id_that_is_no_id_is_filed_as_failed(run, fake, env, workdir):
    """The id is rightly never put in a URL; the batch must still reach a final state, not stay running forever."""
    enqueue(run, count=2, model="gpt-image-2")
    drain(run)
    fake.openai_batches.finish()
    fake.openai_batches.only()["output_file_id"] = "../../v1/models"
    result = drain(run)
    assert result["batches"]["collected"][0]["failed"] == 2, result
    assert queue(workdir, "submitted") == [] and queue(workdir, "failed") == ["shots--0001", "shots--0002"]
    failed = json.loads((workdir / QUEUE / "failed" / "shots--0001.json").read_text())
    assert failed["error_kind"] == "batch_failed" and "cannot be read" in failed["error"], failed
    assert not list((workdir / QUEUE / "batches").glob("*.json"))
    after = [line["outcome"] for line in ledger_entries(env) if line["outcome"] != "batch_submitted"]
    assert after == ["charge_unknown", "charge_unknown"]  # completed: the provider may have billed them
    assert status(run)["done"] is True
    assert not any("/v1/models" in r.path for r in fake.requests)


class Killed(BaseException):
    """A kill -9 at one exact point: nothing after it runs, no handler catches it."""


def test_a_kill_between_saving_and_filing_never_saves_the_image_twice(run, fake, env, workdir, monkeypatch):
    from imagegen.queue import store

    enqueue(run, count=1, model="gpt-image-2")
    drain(run)
    fake.openai_batches.finish()
    real = store.finish

    def killed(dirs, job, state, *args, **kwargs):
        if state == "results":
            raise Killed()
        return real(dirs, job, state, *args, **kwargs)

    monkeypatch.setattr(store, "finish", killed)
    run("run_image_queue.py", "--quiet", "--idle-exit-sec", "0")
    assert len(list((workdir / "out").glob("*.png"))) == 1 and queue(workdir, "submitted") == ["shots--0001"]
    monkeypatch.setattr(store, "finish", real)
    result = drain(run)
    assert result["done"] == 1, result
    assert len(list((workdir / "out").glob("*.png"))) == 1 and queue(workdir, "results") == ["shots--0001"]
    assert [line["outcome"] for line in ledger_entries(env)].count("success") == 1
    record = json.loads((workdir / QUEUE / "results" / "shots--0001.json").read_text())
    assert record["result"]["recovered_from_previous_attempt"] is True


# -- money --------------------------------------------------------------------------------------

def test_submitted_batch_holds_the_daily_budget_until_collected(run, fake, env, workdir):
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0.06"}
    enqueue(run, count=1)
    drain(run, env_extra=budget)
    assert fake.gemini_batches.creates == 1
    # $0.0505 is held by the batch: a second batch job does not fit today and waits for the reset
    enqueue(run, count=1, request="more")
    deferred = drain(run, env_extra=budget)
    assert any(j["status"] == "deferred" for j in deferred["jobs"]) and fake.gemini_batches.creates == 1, deferred
    job = json.loads((workdir / QUEUE / "pending" / "more--0001.json").read_text())
    assert job["deferred_limit"] == "daily_budget"
    fake.gemini_batches.finish()
    drain(run, env_extra=budget)
    assert [line["outcome"] for line in ledger_entries(env)] == ["batch_submitted", "success"]


def test_a_budget_deferred_batch_job_is_recorded_as_a_synchronous_one_is(run, fake, env, workdir):
    """One transition for both drains: the deferral says until when, and the history says why."""
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0.01"}
    enqueue(run, count=1, request="slow")
    sync = run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/sync.png", "--request-id", "fast", "--quiet")
    assert sync.code == 0, sync.stdout
    drain(run, env_extra=budget)
    assert fake.gemini_batches.creates == 0 and not fake.requests
    batch_job = json.loads((workdir / QUEUE / "pending" / "slow--0001.json").read_text())
    sync_job = json.loads((workdir / QUEUE / "pending" / "fast--0000.json").read_text())
    for job in (batch_job, sync_job):
        assert job["status"] == "pending" and job["deferred_limit"] == "daily_budget", job
        assert job["deferred_until"] and job["not_before"] > time.time() and job["deferred_reason"].startswith("budget")
        assert [entry["error_kind"] for entry in job["history"]] == ["budget"]
        assert job["history"][0]["deferred_until"] == job["deferred_until"]
        assert job.get("attempts", 0) == 0
    shown = {j["job_id"]: j for j in status(run, "slow")["jobs"]}
    assert shown["slow--0001"]["deferred_until"] == batch_job["deferred_until"]


def test_a_job_file_marked_for_a_batch_on_openrouter_is_refused_not_sent(run, fake, workdir):
    queued = assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "a.png", "--quiet"))
    path = workdir / QUEUE / "pending" / f"{queued['job_ids'][0]}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "via": "batch"}))  # planted by hand
    drain(run)
    failed = json.loads((workdir / QUEUE / "failed" / path.name).read_text())
    assert failed["error_kind"] == "corrupt_job"
    assert [r.route for r in fake.requests] == []


def test_without_the_providers_key_the_jobs_wait_and_nothing_is_sent(run, fake, workdir):
    enqueue(run, count=1)
    done = run("run_image_queue.py", "--quiet", "--idle-exit-sec", "0", env_extra={"GEMINI_API_KEY": None})
    result = assert_one_json(done)
    assert_valid(result, "run_image_queue.success")
    assert any("GEMINI_API_KEY" in e for e in result["batches"]["errors"])
    # the run fails (exit 2, one line on stderr) so that cron mails the fix; the job only waits
    assert done.code == 2 and result["error_kind"] == "missing_key" and "GEMINI_API_KEY" in done.stderr
    assert result["missing_key"]["jobs_waiting"] == ["shots--0001"]
    job = json.loads((workdir / QUEUE / "pending" / "shots--0001.json").read_text())
    assert job["attempts"] == 0 and job["not_before"] > time.time()
    assert fake.requests == [] and list((workdir / QUEUE / "batches").glob("*.json")) == []


def test_a_request_the_provider_left_out_goes_back_and_is_named_so_in_the_ledger(run, fake, env, workdir):
    enqueue(run, count=2)
    drain(run)
    fake.gemini_batches.outcome = {"shots--0002": "missing"}.get
    fake.gemini_batches.finish()
    drain(run)
    assert ("shots--0002", "batch_unanswered") in [(line["job_id"], line["outcome"]) for line in ledger_entries(env)]
    assert queue(workdir, "submitted") == ["shots--0002"]  # put back, and submitted again on its own


def test_errors_inside_a_cancelled_batch_are_filed_as_cancelled(run, fake, workdir):
    enqueue(run, count=1, model="gpt-image-2")
    drain(run)
    assert_one_json(run("queue_status.py", "--cancel", "shots"))
    fake.openai_batches.outcome = lambda key: "error"
    fake.openai_batches.finish(status="cancelled")
    drain(run)
    failed = json.loads((workdir / QUEUE / "failed" / "shots--0001.json").read_text())
    assert failed["error_kind"] == "cancelled" and fake.openai_batches.creates == 1
