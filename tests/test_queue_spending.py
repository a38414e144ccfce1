"""The queue and money: budgets defer or fail jobs without spinning, ledger lines name the job,
and results records keep the provider's reply without the image data."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import assert_one_json, ledger_entries
from tests.fake_api import Reply, images_reply, make_png

QUEUE = "generated/imagegen-queue"
DRAIN = ("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--concurrency", "1")


def records(workdir: Path, state: str) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((workdir / QUEUE / state).glob("*.json"))}


def enqueue(run, *args: str, request_id: str = "r") -> dict:
    return assert_one_json(run("enqueue_image_job.py", "--model", "nanobanana", "--request-id", request_id, *args))


def next_midnight() -> float:
    tomorrow = datetime.now().date() + timedelta(days=1)
    return datetime.combine(tomorrow, datetime.min.time()).timestamp()


def test_daily_budget_defers_jobs_until_it_resets_and_the_worker_leaves(run, fake, env, workdir):
    for index in range(3):
        enqueue(run, "--prompt", f"A lighthouse number {index}", "--out", f"out/{index}.png")
    budget = {"IMAGEGEN_DAILY_BUDGET_USD": "0.06"}  # room for one $0.039 image, not two
    started = time.monotonic()
    summary = assert_one_json(run(*DRAIN, env_extra=budget))
    assert time.monotonic() - started < 8  # it left instead of waiting for midnight
    assert summary["done"] == 1 and summary["failed"] == 0 and summary["deferred"] == 2
    assert [j["status"] for j in summary["jobs"]] == ["done", "deferred", "deferred"]
    assert len(fake.requests_for("chat")) == 1
    (line,) = ledger_entries(env)
    assert line["script"] == "run_image_queue.py" and line["request_id"] == "r" and line["job_id"] == "r--0000"
    waiting = records(workdir, "pending")
    assert sorted(waiting) == ["r--0001", "r--0002"]
    for job in waiting.values():
        assert job["deferred_reason"].startswith("budget: daily budget reached")
        assert abs(job["not_before"] - next_midnight()) < 2 and job["deferred_limit"] == "daily_budget"
        assert job["attempts"] == 0 and job["history"][-1]["error_kind"] == "budget"
        assert datetime.strptime(job["deferred_until"], "%Y-%m-%dT%H:%M:%S%z").timestamp() == int(job["not_before"])
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "r"))
    assert [j.get("deferred_until") for j in status["jobs"]] == [None] + [waiting["r--0001"]["deferred_until"]] * 2
    # A later worker (cron) does not touch them while the budget is spent...
    again = assert_one_json(run(*DRAIN, env_extra=budget))
    assert again["done"] == again["deferred"] == 0 and len(fake.requests_for("chat")) == 1
    # ...and runs them as soon as the budget is raised, without waiting for midnight.
    raised = assert_one_json(run(*DRAIN, env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "1"}))
    assert raised["done"] == 2 and records(workdir, "pending") == {}
    done = records(workdir, "results")["r--0001"]
    assert not any(key in done for key in ("not_before", "deferred_reason", "deferred_until"))
    assert [line["job_id"] for line in ledger_entries(env)] == ["r--0000", "r--0001", "r--0002"]


def test_max_cost_is_checked_at_enqueue_stored_in_the_job_and_honoured_by_the_worker(run, fake, env, workdir):
    refused = assert_one_json(result := run("enqueue_image_job.py", "--model", "nanobanana", "--prompt",
                                            "A lighthouse", "--request-id", "m", "--max-cost-per-job", "0.001"))
    assert result.code == 5 and refused["error_kind"] == "budget" and refused["limit"] == "max_cost"
    assert not (workdir / QUEUE / "pending").exists() or records(workdir, "pending") == {}
    enqueue(run, "--prompt", "A lighthouse", "--max-cost-per-job", "0.05", request_id="m")
    enqueue(run, "--prompt", "A harbour", "--max-cost-per-job", "0.05", request_id="m")
    pending = workdir / QUEUE / "pending" / "m--0001.json"
    job = json.loads(pending.read_text())
    assert job["request"]["max_cost"] == 0.05
    job["request"]["max_cost"] = 0.02  # as if the price had risen above the ceiling since it was queued
    pending.write_text(json.dumps(job))
    summary = assert_one_json(run(*DRAIN))
    assert summary["done"] == 1 and summary["failed"] == 1 and len(fake.requests_for("chat")) == 1
    failed = records(workdir, "failed")["m--0001"]
    assert failed["error_kind"] == "budget" and failed["limit"] == "max_cost" and failed["retryable"] is False
    assert failed["attempts"] == 0 and failed["max_cost_usd"] == 0.02 and failed["status"] == "budget"
    assert [line["job_id"] for line in ledger_entries(env)] == ["m--0000"]


def test_enhanced_job_records_both_calls_under_the_job(run, fake, env, workdir):
    enqueue(run, "--prompt", "A fox", "--enhance", request_id="e")
    assert_one_json(run(*DRAIN))
    lines = ledger_entries(env)
    assert [line["model"] for line in lines] == ["google/gemini-3.1-flash-lite", "google/gemini-2.5-flash-image"]
    assert {(line["request_id"], line["job_id"], line["script"]) for line in lines} == {
        ("e", "e--0000", "run_image_queue.py")}
    result = records(workdir, "results")["e--0000"]["result"]
    assert result["prompt_enhancement"]["applied"] is True


def digest(path: str) -> tuple[int, str]:
    data = Path(path).read_bytes()
    return len(data), hashlib.sha256(data).hexdigest()


def test_results_record_keeps_the_reply_without_image_data(run, fake, workdir):
    enqueue(run, "--prompt", "A fox", "--out", "out/fox.png", "--n", "2", request_id="p")
    assert_one_json(run(*DRAIN))
    text = (workdir / QUEUE / "results" / "p--0000.json").read_text()
    record = json.loads(text)
    paths = record["result"]["all_paths"]
    assert "provider_response" not in record["result"] and len(record["provider_response"]) == 2
    shown = sorted(json.dumps(r["choices"][0]["message"]["images"][0]["image_url"]["url"])
                   for r in record["provider_response"])
    expected = sorted(json.dumps({"omitted_image": True, "bytes": n, "sha256": h}) for n, h in map(digest, paths))
    assert shown == expected
    assert record["provider_response"][0]["usage"]["cost"] == 0.04
    for path in paths:
        encoded = base64.b64encode(Path(path).read_bytes()).decode()
        assert encoded[:64] not in text
    assert "base64," not in text and "<inline-image" not in text


def test_images_api_job_keeps_the_reply_without_image_data(run, fake, workdir):
    picture = make_png(48, 48)
    fake.enqueue("images", images_reply([picture]))
    enqueue(run, "--prompt", "A fox sticker", "--api", "images", "--background", "transparent", request_id="i")
    assert_one_json(run(*DRAIN))
    assert len(fake.requests_for("images")) == 1 and fake.requests_for("chat") == []
    text = (workdir / QUEUE / "results" / "i--0000.json").read_text()
    record = json.loads(text)
    (reply,) = record["provider_response"]
    size, sha = digest(record["result"]["path"])  # the file as saved (with its metadata chunk)
    assert reply["data"][0]["b64_json"] == {"omitted_image": True, "bytes": size, "sha256": sha}
    assert base64.b64encode(picture).decode()[:64] not in text


def test_generate_stdout_stays_lean(run, fake):
    doc = assert_one_json(run("generate.py", "--prompt", "A fox"))
    assert doc["warnings"] == []
    assert "provider_response" not in doc


# -- a request's --max-cost over all its jobs ---------------------------------------------------

def test_a_request_whose_estimates_pass_its_max_cost_is_refused_with_nothing_queued(run, workdir):
    result = run("queue_and_return.py", "--prompt", "A red kettle", "--model", "flux.2-pro", "--size", "1K",
                 "--count", "20", "--max-cost", "0.50", "--request-id", "shots", "--dry-run-worker")
    refused = assert_one_json(result)
    assert result.code == 5 and refused["limit"] == "request_max_cost" and refused["estimate_usd"] == 0.6
    assert not (workdir / QUEUE / "pending").exists() or records(workdir, "pending") == {}


def test_a_request_budget_holds_on_what_the_provider_actually_charges(run, fake, env, workdir):
    """20 shots with --max-cost 0.70: the table says $0.03 each, the provider charges 3.4 times that.
    One job goes alone and shows the price; the rest are held at it; those that would pass the cap
    are never sent and end in the budget state, and the request spends at most one job over its cap."""
    fake.chat_cost = 0.102
    queued = assert_one_json(run("queue_and_return.py", "--prompt", "A red kettle", "--model", "flux.2-pro",
                                 "--size", "1K", "--count", "20", "--max-cost", "0.70", "--request-id", "shots",
                                 "--out-dir", "out", "--prefix", "kettle", "--dry-run-worker", "--quiet"))
    assert queued["cost_estimate_usd"] == 0.6
    fake.latency = 0.2  # calls overlap: four threads would send four at once
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05",
                                  "--concurrency", "4", "--quiet"))
    lines = ledger_entries(env)
    spent = sum(line["cost_usd"] for line in lines)
    assert spent <= 0.70 + 0.102 + 1e-9, lines
    assert len(lines) == len(fake.requests_for("chat")) == summary["done"] == 6, summary
    assert lines[0]["estimate_usd"] == 0.03 and {line["estimate_usd"] for line in lines[1:]} == {0.102}
    stopped = records(workdir, "failed")
    assert len(stopped) == 14 and {job["status"] for job in stopped.values()} == {"budget"}
    assert {job["limit"] for job in stopped.values()} == {"request_max_cost"}
    assert all(job["attempts"] == 0 for job in stopped.values())
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "shots"))
    assert status["done"] is True and status["states"] == {"results": 6, "budget": 14}
    assert status["budget"] == {"max_cost_usd": 0.7, "spent_usd": 0.612, "held_usd": 0.0, "stopped_jobs": 14}
    assert {job["state"] for job in status["jobs"] if job["state"] != "results"} == {"budget"}


def test_max_cost_per_job_keeps_the_per_job_meaning_on_the_queue(run, fake, workdir):
    queued = assert_one_json(run("enqueue_variants.py", "--prompt", "A red kettle", "--model", "flux.2-pro",
                                 "--size", "1K", "--count", "3", "--max-cost-per-job", "0.05", "--request-id", "pj",
                                 "--quiet"))
    assert len(queued["jobs"]) == 3  # three jobs of $0.03 each: none passes $0.05
    job = records(workdir, "pending")["pj--0001"]
    assert job["request"]["max_cost"] == 0.05 and "request_max_cost_usd" not in job


def test_a_capped_request_still_runs_its_prompt_enhancement(run, fake, env, workdir):
    enqueue(run, "--prompt", "A fox", "--enhance", "--max-cost", "0.20", request_id="ce")
    summary = assert_one_json(run(*DRAIN))
    assert summary["done"] == 1, summary
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "ce"))
    charged = sum(line["cost_usd"] for line in ledger_entries(env))
    assert status["budget"]["spent_usd"] == pytest.approx(charged) and status["budget"]["held_usd"] == 0


def test_a_price_learned_after_the_reply_still_holds_the_request_budget(run, fake, env, workdir):
    """OpenRouter's replies often leave usage.cost out: the charge is looked up after the image is
    saved (GET /generation). The request's budget counts it, and the others wait for it."""
    from tests.fake_api import chat_image_reply

    fake.enqueue("chat", *[chat_image_reply(cost=None) for _ in range(8)])
    fake.enqueue("generation", *[Reply(json={"data": {"total_cost": 0.102}}) for _ in range(8)])
    assert_one_json(run("queue_and_return.py", "--prompt", "A red kettle", "--model", "flux.2-pro", "--size", "1K",
                        "--count", "8", "--max-cost", "0.30", "--request-id", "late", "--out-dir", "out",
                        "--prefix", "kettle", "--dry-run-worker", "--quiet"))
    fake.latency = 0.2
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05", "--concurrency", "4",
                        "--quiet"))
    made = len(fake.requests_for("chat"))
    assert made * 0.102 <= 0.30 + 0.102 + 1e-9, made
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "late"))
    assert status["budget"]["spent_usd"] == pytest.approx(made * 0.102) and status["budget"]["stopped_jobs"] == 8 - made
    learned = (Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl.prices").read_text().splitlines()
    assert len(learned) == made and json.loads(learned[0])["cost_usd"] == 0.102


def test_a_request_budget_is_never_kept_through_a_planted_link(run, fake, workdir, tmp_path):
    enqueue(run, "--prompt", "A fox", "--out", "out/fox.png", "--max-cost", "0.20", request_id="ln")
    folder = workdir / QUEUE / "index" / "ln"
    elsewhere = tmp_path / "elsewhere"
    folder.rename(elsewhere)
    folder.symlink_to(elsewhere)
    summary = assert_one_json(run(*DRAIN))
    assert summary["failed"] == 1 and not fake.requests_for("chat"), summary
    assert records(workdir, "failed")["ln--0000"]["error_kind"] == "queue_dir"
    assert not (elsewhere / "budget.json").exists()


def test_a_charged_answer_that_is_no_image_fails_once_and_its_charge_is_counted(run, fake, env, workdir):
    from tests.fake_api import chat_image_reply

    enqueue(run, "--prompt", "A lighthouse at dusk", "--out", "out/a.png", "--retries", "2")
    fake.enqueue("chat", chat_image_reply(images=[b'{"x":1}'], cost=0.04))
    summary = assert_one_json(run(*DRAIN))
    assert summary["failed"] == 1 and len(fake.requests_for("chat")) == 1, summary  # not paid for again
    charged = sum(line.get("cost_usd") or 0 for line in ledger_entries(env))
    assert charged == 0.04 and summary["cost_usd"] == charged
    assert records(workdir, "failed")["r--0000"]["charged_usd"] == charged
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "r"))
    assert status["cost_usd"] == charged and status["jobs"][0]["charged_usd"] == charged


def test_every_queue_estimate_states_its_basis_and_a_stopped_job_shows_the_one_checked(run, fake):
    from tests.schema_check import assert_valid

    dry = assert_one_json(run("queue_and_return.py", "--prompt", "A mug", "--model", "nanobanana-2", "--count", "2",
                              "--request-id", "basis-0", "--dry-run"))
    assert_valid(dry, "queue.dry_run")
    assert "table" in dry["cost_estimate_basis"] or "$" in dry["cost_estimate_basis"]
    assert all(job["cost_estimate_basis"] for job in dry["jobs"])
    fake.chat_cost = 0.058  # the table says $0.017 for flux.2-klein: the first charge teaches the real price
    acks = [assert_one_json(run("enqueue_image_job.py", "--prompt", f"product shot {i}", "--model", "flux.2-klein",
                                "--max-cost", "0.1", "--request-id", "basis-1")) for i in range(3)]
    for ack in acks:
        assert_valid(ack, "enqueue_image_job.success")
        assert ack["cost_estimate_basis"] and all(job["cost_estimate_basis"] for job in ack["jobs"])
    pending = assert_one_json(run("queue_status.py", "--request-id", "basis-1"))
    assert all(job["cost_estimate_basis"] == acks[0]["jobs"][0]["cost_estimate_basis"] for job in pending["jobs"])
    assert_one_json(run("run_image_queue.py", "--idle-exit-sec", "0.05"))
    status = assert_one_json(run("queue_status.py", "--request-id", "basis-1"))
    assert_valid(status, "queue_status.request")
    stopped = [job for job in status["jobs"] if job["state"] == "budget"]
    assert stopped and all(job["cost_estimate_usd"] == 0.058 and "spending limit" in job["cost_estimate_basis"]
                           and "$0.0580" in job["error"] for job in stopped)
    later = assert_one_json(run("enqueue_image_job.py", "--prompt", "product shot 9", "--model", "flux.2-klein",
                                "--request-id", "basis-2"))
    assert later["cost_estimate_usd"] == 0.058 and "observed" in later["jobs"][0]["cost_estimate_basis"]
