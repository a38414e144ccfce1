"""generate --review and --best-of: the generate -> review -> refine/reject loop, against the fake.

The fake's reviews are scripted per round (``fake.script_reviews``); its images differ call to call
and are never one flat colour, unless a test makes them so. Images are asked for at 1K and served
at their full size, so a happy path has nothing to warn about.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS, assert_one_json, ledger_entries
from tests.fake_api import error_reply, make_picture, make_png, review_reply
from tests.schema_check import assert_valid

PROMPT = "A red fox standing in fresh snow at dawn, telephoto wildlife photo"
QUEUE = "generated/imagegen-queue"


def loop(run, *args: str):
    return run("generate.py", "--prompt", PROMPT, "--size", "1K", "--out", "out/fox.png", *args)


def image_prompts(fake) -> list[str]:
    return [r.json["messages"][-1]["content"] for r in fake.requests_for("chat")]


def reviewed_prompts(fake) -> list[str]:
    return [r.json["messages"][0]["content"][-1]["text"] for r in fake.requests_for("messages")]


def test_accepted_at_round_one(run, fake, workdir):
    fake.script_reviews("accept")
    doc = assert_one_json(result := loop(run, "--review"))
    assert result.code == 0 and doc["warnings"] == []
    assert_valid(doc, "generate.success")
    assert doc["stop_reason"] == "accepted" and doc["chosen_round"] == 1
    assert doc["path"] == str(workdir / "out/fox.png") and doc["all_paths"] == [doc["path"]]
    assert Path(doc["path"]).samefile(workdir / "out/fox-r1.png")  # delivered at --out, the round kept
    assert doc["verdict"] == "accept" and doc["score"] == 8
    (only,) = doc["rounds"]
    assert only["path"] == str(workdir / "out/fox-r1.png") and only["prompt"] == PROMPT and only["revision"] is None
    assert only["model"] == "black-forest-labs/flux.2-pro" and only["verdict"] == "accept"
    assert only["cost_usd"] > 0.04  # the image's $0.04 and the review
    assert doc["cost_usd"] == only["cost_usd"]
    assert len(fake.requests_for("chat")) == 1 and len(fake.requests_for("messages")) == 1
    for name in ("fox-r1.png", "fox.png"):
        for suffix in ("", ".json", ".review.json"):
            assert (workdir / "out" / f"{name}{suffix}").is_file()
    delivered = json.loads((workdir / "out/fox.png.json").read_text())
    assert delivered["image"]["file"] == "fox.png" and delivered["review_loop"]["chosen_round"] == 1
    assert doc["sidecar"] == str(workdir / "out/fox.png.json")
    record = json.loads((workdir / "out/fox.loop.json").read_text())
    assert doc["loop_file"] == str(workdir / "out/fox.loop.json")
    assert record["stop_reason"] == "accepted" and record["chosen"] == only["path"]
    assert record["delivered"] == doc["path"]
    assert PROMPT in reviewed_prompts(fake)[0]
    assert "warning" not in result.stderr


def test_refine_then_accept_revises_the_prompt_and_judges_by_the_original(run, fake, workdir):
    fake.script_reviews("refine", "accept")
    doc = assert_one_json(loop(run, "--review"))
    assert doc["stop_reason"] == "accepted" and [r["verdict"] for r in doc["rounds"]] == ["refine", "accept"]
    assert Path(doc["path"]).samefile(workdir / "out/fox-r2.png") and doc["chosen_round"] == 2
    second = doc["rounds"][1]
    assert "make the fox fill the frame and the snow bright white" in second["revision"]
    assert second["prompt"].startswith(PROMPT) and second["revision"] in second["prompt"]
    sent = image_prompts(fake)
    assert PROMPT in sent[0] and "bright white" not in sent[0] and "bright white" in sent[1]
    assert all("bright white" not in text and PROMPT in text for text in reviewed_prompts(fake))
    assert doc["warnings"] == []
    assert doc["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in doc["rounds"]))


def test_two_rejects_move_to_the_next_model_of_the_same_capability(run, fake, workdir):
    fake.script_reviews("reject", "reject", "accept")
    doc = assert_one_json(loop(run, "--review", "--max-rounds", "3"))
    models = [r["model"] for r in doc["rounds"]]
    assert models == ["black-forest-labs/flux.2-pro"] * 2 + ["black-forest-labs/flux.2-klein-4b"]
    (learned,) = doc["warnings"]  # the fake charges klein the $0.04 of every call: the price is learned
    assert learned.startswith("the provider charged $0.0400 for a call estimated at $0.0140")
    assert [r.json["model"] for r in fake.requests_for("chat")] == models
    assert "no fox" in doc["rounds"][1]["revision"]  # the reject reworks the prompt from the critique
    assert doc["stop_reason"] == "accepted" and doc["model"] == models[2]


def test_rounds_run_out_and_the_best_round_is_chosen(run, fake, workdir):
    fake.script_reviews("reject", ("refine", {"score": 6}), ("refine", {"score": 4}))
    doc = assert_one_json(loop(run, "--review"))
    (warning,) = doc["warnings"]  # the best round is delivered, though none was accepted
    assert warning.startswith("no round was accepted: round 2 of 3 is delivered with verdict refine (6/10)")
    assert doc["stop_reason"] == "max_rounds" and len(doc["rounds"]) == 3
    assert doc["chosen_round"] == 2 and Path(doc["path"]).samefile(workdir / "out/fox-r2.png") and doc["score"] == 6
    assert all(Path(r["path"]).is_file() for r in doc["rounds"])  # every round is kept


def test_the_budget_stops_the_loop_before_a_round_that_could_pass_it(run, fake, workdir, env):
    fake.script_reviews("refine", "refine", "refine")
    doc = assert_one_json(result := loop(run, "--review", "--max-cost", "0.08"))
    assert result.code == 0 and doc["stop_reason"] == "budget"
    assert len(doc["rounds"]) == 1 and len(fake.requests_for("chat")) == 1
    assert doc["warnings"] == [
        "round 2 was not started: $0.0463 is spent and its estimate $0.0610 (images and reviews) could pass "
        "--max-cost 0.08",
        "no round was accepted: round 1 of 1 is delivered with verdict refine (5/10); look at it before using it"]
    assert sum(line.get("cost_usd") or 0 for line in ledger_entries(env)) <= 0.08


def test_a_loop_whose_first_round_cannot_fit_sends_nothing(run, fake, workdir):
    doc = assert_one_json(result := loop(run, "--review", "--max-cost", "0.035"))
    assert result.code == 5 and doc["error_kind"] == "budget"
    assert fake.requests == [] and not (workdir / "out/fox-r1.png").exists()


def test_best_of_three_keeps_the_best_reviewed_candidate(run, fake, workdir):
    fake.script_reviews("refine", ("accept", {"score": 9}), "reject")
    doc = assert_one_json(loop(run, "--best-of", "3"))
    assert_valid(doc, "generate.success")
    assert len(fake.requests_for("chat")) == 3 and len(fake.requests_for("messages")) == 3
    (only,) = doc["rounds"]
    assert [c["score"] for c in only["candidates"]] == [5, 9, 2]
    assert Path(doc["path"]).samefile(workdir / "out/fox-r1-2.png") and doc["score"] == 9
    assert doc["stop_reason"] == "accepted" and doc["warnings"] == []
    assert all(Path(c["path"] + ".review.json").is_file() for c in only["candidates"])


def test_best_of_with_review_goes_again_when_no_candidate_is_accepted(run, fake, workdir):
    fake.script_reviews("reject", "refine", "accept", "refine")
    doc = assert_one_json(loop(run, "--best-of", "2", "--review"))
    assert doc["warnings"] == []
    assert [r["verdict"] for r in doc["rounds"]] == ["refine", "accept"]
    assert Path(doc["path"]).samefile(workdir / "out/fox-r2.png") and len(fake.requests_for("chat")) == 4


def test_a_blank_image_is_a_reject_that_is_not_sent_for_review(run, fake, workdir):
    fake.default_image_bytes = make_png(1024, 1024, color=(200, 80, 40))  # one flat colour
    doc = assert_one_json(loop(run, "--review", "--max-rounds", "2"))
    *blank, unaccepted = doc["warnings"]
    assert len(blank) == 2 and all("looks blank" in w for w in blank) and "no round was accepted" in unaccepted
    assert fake.requests_for("messages") == []
    assert [(r["verdict"], r["blank"], r["score"]) for r in doc["rounds"]] == [("reject", True, None)] * 2
    assert "blank" in doc["rounds"][1]["revision"] and doc["stop_reason"] == "max_rounds"


def test_dry_run_describes_the_loop_and_sends_nothing(run, fake, workdir):
    doc = assert_one_json(loop(run, "--review", "--max-rounds", "4", "--dry-run"))
    assert doc["warnings"] == []
    plan = doc["review_loop"]
    assert plan["max_rounds"] == 4 and plan["review_provider"] == "anthropic"
    assert plan["round_estimate_usd"] == pytest.approx(doc["cost_estimate_usd"] + plan["review_estimate_usd"])
    assert plan["most_usd"] == pytest.approx(4 * plan["round_estimate_usd"])
    assert doc["target_paths"] == [str(workdir / "out/fox-r1.png")] and fake.requests == []
    assert_valid(doc, "generate.dry_run")


@pytest.mark.parametrize("args, message", [
    (("--review", "--n", "2"), "--n does not go with --review"),
    (("--review", "--max-rounds", "0"), "--max-rounds"),
    (("--best-of", "99"), "--best-of"),
])
def test_bad_loop_flags_are_refused_before_anything_is_sent(run, fake, args, message):
    doc = assert_one_json(result := loop(run, *args))
    assert result.code == 2 and message in doc["error"] and fake.requests == []


@pytest.mark.parametrize("taken", ["fox-r3.png", "fox.png"])
def test_a_taken_name_is_refused_before_round_one(run, fake, workdir, taken):
    (workdir / "out").mkdir()
    (workdir / "out" / taken).write_bytes(b"someone's")
    doc = assert_one_json(result := loop(run, "--review"))
    assert result.code != 0 and doc["error_kind"] == "output_exists" and fake.requests == []


def test_review_through_openrouter(run, fake, workdir):
    fake.script_reviews("refine", "accept")
    doc = assert_one_json(loop(run, "--review", "--review-provider", "openrouter"))
    assert doc["warnings"] == []
    assert doc["review_provider"] == "openrouter" and doc["stop_reason"] == "accepted"
    assert len(fake.requests_for("chat")) == 4 and fake.requests_for("messages") == []


# -- in the queue --------------------------------------------------------------------------------

def test_a_queue_job_with_review_runs_the_loop_and_status_shows_its_rounds(run, fake, workdir):
    fake.script_reviews("refine", "accept")
    assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--review",
                        "--out", "out/fox.png", "--request-id", "rv-1"))
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 1 and summary["failed"] == 0
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "rv-1"))
    assert_valid(status, "queue_status.request")
    (job,) = status["jobs"]
    chosen = str(workdir / "out/fox.png")
    assert job["chosen"] == chosen and status["attachments"] == [chosen] and job["stop_reason"] == "accepted"
    assert [(r["round"], r["verdict"]) for r in job["rounds"]] == [(1, "refine"), (2, "accept")]
    sidecar = json.loads((workdir / "out/fox-r1.png.json").read_text())
    assert sidecar["request"]["job_id"] == "rv-1--0000" and sidecar["request"]["review_round"] == 1


def test_batch_jobs_cannot_run_the_loop(run, fake):
    doc = assert_one_json(result := run("enqueue_image_job.py", "--prompt", PROMPT, "--review", "--via", "batch",
                                        "--model", "nanobanana-2", "--request-id", "rv-b"))
    assert result.code == 2 and "--via batch" in doc["error"]


@pytest.mark.subprocess
def test_a_worker_killed_mid_loop_resumes_without_paying_a_round_twice(run, fake, workdir, env):
    slow = dataclasses.replace(review_reply("accept"), delay=60)  # round 2's review: the worker dies waiting
    fake.enqueue("messages", review_reply("refine"), slow)
    assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--review",
                        "--out", "out/fox.png", "--request-id", "rv-k"))
    victim = subprocess.Popen([sys.executable, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", QUEUE,
                               "--idle-exit-sec", "0.5", "--quiet"], cwd=workdir, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(fake.requests_for("messages")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.requests_for("messages")) == 2
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    record = json.loads((workdir / "out/fox.loop.json").read_text())
    assert [r["status"] for r in record["rounds"]] == ["reviewed", "saved"]
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 1
    assert len(fake.requests_for("chat")) == 2  # round 1 and round 2 images, each once
    assert len(fake.requests_for("messages")) == 3  # round 2's review sent again: its first never answered
    result = json.loads(next((workdir / QUEUE / "results").glob("*.json")).read_text())["result"]
    assert [r["verdict"] for r in result["rounds"]] == ["refine", "accept"]
    assert result["path"] == str(workdir / "out/fox.png") and Path(result["path"]).samefile(workdir / "out/fox-r2.png")
    paid = [line for line in ledger_entries(env) if line["job_id"] == "rv-k--0000"]
    # image, review, image, the review the killed worker had out (charge unknown, written by the next
    # drain from its lease), the review sent again: no image twice
    assert [line["images"] for line in paid] == [1, 0, 1, None, 0]
    assert (paid[3]["outcome"], paid[3]["error_kind"]) == ("charge_unknown", "worker_lost")


def finished_job_back_to_pending(workdir: Path) -> None:
    """As if the worker died after the loop's last step but before filing the job as done."""
    (done,) = (workdir / QUEUE / "results").glob("*.json")
    job = json.loads(done.read_text())
    job.pop("result")
    (workdir / QUEUE / "pending" / done.name).write_text(json.dumps(job))
    done.unlink()


def test_a_round_saved_but_not_recorded_is_adopted_not_paid_again(run, fake, workdir):
    fake.script_reviews("refine", "accept")
    assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--review",
                        "--out", "out/fox.png", "--request-id", "rv-a"))
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    finished_job_back_to_pending(workdir)
    record_path = workdir / "out/fox.loop.json"
    record = json.loads(record_path.read_text())
    record["stop_reason"] = record["chosen"] = None
    second = record["rounds"][1]
    second.update(status="started", candidates=[], cost_usd=0.0)
    for key in ("result", "path", "score", "verdict"):
        second.pop(key)
    record_path.write_text(json.dumps(record))
    fake.clear()
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 1
    assert fake.requests_for("chat") == [] and len(fake.requests_for("messages")) == 1  # only round 2's review
    result = json.loads(next((workdir / QUEUE / "results").glob("*.json")).read_text())["result"]
    assert Path(result["path"]).samefile(workdir / "out/fox-r2.png") and result["rounds"][1]["cost_usd"] > 0.04


def test_a_finished_loop_is_not_run_again(run, fake, workdir):
    assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--review",
                        "--out", "out/fox.png", "--request-id", "rv-f"))
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    finished_job_back_to_pending(workdir)
    fake.clear()
    assert assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))["done"] == 1
    assert fake.requests == []


def test_a_planted_loop_record_is_not_trusted(run, fake, workdir):
    (workdir / "secret.png").write_bytes(make_picture(16, 16))
    assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--review",
                        "--out", "out/fox.png", "--request-id", "rv-p"))
    (workdir / "out").mkdir()
    (workdir / "out/fox.loop.json").write_text(json.dumps({
        "kind": "review_loop", "version": 1, "job_id": "rv-p--0000", "prompt": PROMPT, "stop_reason": None,
        "rounds": [{"round": 1, "status": "saved", "model": "google/gemini-3.1-flash-image-preview",
                    "cost_usd": 0, "candidates": [{"path": str(workdir / "secret.png")}]}]}))
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert len(fake.requests_for("chat")) == 1  # round 1 made afresh
    (review,) = fake.requests_for("messages")
    sent = review.json["messages"][0]["content"][0]["source"]["data"]
    assert sent == base64.b64encode((workdir / "out/fox-r1.png").read_bytes()).decode()


def test_a_later_round_that_fails_ends_the_loop_with_what_it_has(run, fake, workdir):
    fake.script_reviews("refine")
    fake.enqueue("chat", lambda record: None, error_reply(400, "Fake upstream refusal"))
    doc = assert_one_json(result := loop(run, "--review", "--retries", "0"))
    assert result.code == 0 and doc["stop_reason"] == "error" and len(doc["rounds"]) == 1
    assert Path(doc["path"]).samefile(workdir / "out/fox-r1.png")
    assert doc["warnings"] == ["round 2 stopped: bad_request: HTTP 400: Fake upstream refusal",
                               "no round was accepted: round 1 of 1 is delivered with verdict refine (5/10); look at "
                               "it before using it"]


# -- the parts -----------------------------------------------------------------------------------

def test_looks_blank():
    from imagegen.images.blank import looks_blank

    assert looks_blank(make_png(40, 30, color=(200, 80, 40)))
    assert looks_blank(make_png(8, 8, rgba=True, color=(1, 2, 3, 0)))
    assert not looks_blank(make_picture(40, 30)) and not looks_blank(make_png(16, 16, noise=True))
    assert not looks_blank(b"\xff\xd8\xff\xe0 a jpeg") and not looks_blank(make_png(40, 30)[:60])


@pytest.mark.parametrize("current, tried, images, expected", [
    ("flux.2-pro", (), False, "black-forest-labs/flux.2-klein-4b"),
    ("flux.2-pro", ("black-forest-labs/flux.2-klein-4b",), False, "openai/gpt-5-image"),
    ("flux.2-pro", ("black-forest-labs/flux.2-klein-4b",), True, "openai/gpt-5-image"),
    ("flux.2-klein", (), True, "openai/gpt-5-image"),
    ("gpt-5-image", (), False, "openai/gpt-5-image-mini"),
    ("nanobanana-2", (), False, "google/gemini-3.1-flash-lite-image"),  # the next that renders text
    ("nanobanana-2", ("nanobanana-2-lite",), False, "openai/gpt-5-image"),  # past the end, round again
])
def test_next_model_of_the_same_capability(current, tried, images, expected):
    from imagegen.models.capability import next_model
    from imagegen.models.registry import resolve

    assert next_model(resolve(current), tried, needs_image_input=images) == expected


def test_next_model_on_a_direct_provider_and_when_none_is_left():
    from imagegen.models.capability import next_model
    from imagegen.models.registry import resolve

    spec = resolve("gemini-3.1-flash-image-preview", "google")  # shut down: its successor stands in
    assert spec.id == "gemini-3.1-flash-image" and next_model(spec) == "gemini-3-pro-image"
    assert next_model(spec, ("gemini-3-pro-image",)) is None  # never a shut-down preview, nor the 1K-only lite


def test_the_gallery_shows_a_loops_rounds_side_by_side_with_their_scores(run, fake, workdir):
    fake.script_reviews("reject", "refine", "accept")
    assert assert_one_json(loop(run, "--review"))["warnings"] == []
    (workdir / "out/other.png").write_bytes(make_picture(8, 8))
    doc = assert_one_json(run("gallery.py", "--dir", "out"))
    assert doc["images"] == 4 and doc["cards"] == 2  # three rounds on one card, and the other image
    assert doc["verdicts"] == {"accept": 1, "none": 1, "refine": 1, "reject": 1}
    page = (workdir / "out/index.html").read_text()
    assert page.count('<figure class="round') == 3 and page.count('class="round chosen"') == 1
    strip = page[page.index('<div class="rounds">'):]
    assert strip.index("fox-r1.png") < strip.index("fox-r2.png") < strip.index("fox-r3.png")
    assert "2/10" in strip and "5/10" in strip and "8/10" in strip and "round 3 · chosen" in strip


def test_the_gallery_of_a_queued_loop_shows_every_round(run, fake, workdir):
    fake.script_reviews("refine", "accept")
    assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--review",
                        "--out", "out/fox.png", "--request-id", "rv-g"))
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    doc = assert_one_json(run("gallery.py", "--queue-dir", QUEUE, "--request-id", "rv-g"))
    assert doc["images"] == 2 and doc["cards"] == 1
    page = Path(doc["path"]).read_text()
    assert page.count('<figure class="round') == 2 and "round 2 · chosen" in page


def test_the_mcp_generate_tool_runs_the_loop(fake, tmp_path):
    from tests.mcp_harness import RawServer, server_env

    fake.script_reviews("refine", "accept")
    work = tmp_path / "mcp"
    work.mkdir()
    server = RawServer(server_env(tmp_path, fake), work)
    try:
        server.initialize("2025-11-25")
        tools = server.request("tools/list")["result"]["tools"]
        offered = next(t for t in tools if t["name"] == "generate")["inputSchema"]["properties"]
        assert {"review", "max_rounds", "best_of", "review_provider", "review_model"} <= set(offered)
        assert offered["max_rounds"]["maximum"] == 10 and offered["best_of"]["minimum"] == 1
        reply = server.request("tools/call", {"name": "generate", "arguments": {
            "prompt": PROMPT, "size": "1K", "review": True, "output_file": "out/fox.png"}})
        doc = reply["result"]["structuredContent"]
        assert reply["result"].get("isError") is not True, doc
        assert doc["stop_reason"] == "accepted" and Path(doc["path"]).samefile(work / "out/fox-r2.png")
        assert [r["verdict"] for r in doc["rounds"]] == ["refine", "accept"]
    finally:
        server.close()


def test_the_queue_prices_a_review_job_as_its_whole_loop(run, fake):
    one = assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--model", "flux.2-pro",
                              "--request-id", "rv-e1", "--dry-run"))
    assert one["warnings"] == []
    loop_of_two = assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K",
                                      "--model", "flux.2-pro", "--review", "--max-rounds", "2",
                                      "--request-id", "rv-e2", "--dry-run"))
    assert loop_of_two["warnings"] == []
    image = one["cost_estimate_usd"]
    assert 2 * image < loop_of_two["cost_estimate_usd"] < 2 * image + 0.1  # two rounds, each with its review
    capped = assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--model", "flux.2-pro",
                                 "--review", "--max-cost-per-job", "0.06", "--request-id", "rv-e3", "--dry-run"))
    assert capped["warnings"] == []
    assert capped["cost_estimate_usd"] == 0.06
    refused = run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--model", "flux.2-pro", "--review",
                  "--max-cost-per-job", "0.035", "--request-id", "rv-e4")
    assert refused.code == 5 and assert_one_json(refused)["error_kind"] == "budget" and fake.requests == []


def test_generate_image_takes_the_loop_too(run, fake, workdir):
    fake.script_reviews("accept")
    doc = assert_one_json(run("generate_image.py", "--prompt", PROMPT, "--image-size", "low", "--review",
                              "--out", "out/crab.png"))
    assert doc["warnings"] == []
    assert doc["stop_reason"] == "accepted" and Path(doc["path"]).samefile(workdir / "out/crab-r1.png")
    assert doc["rounds"][0]["model"] == "google/gemini-3.1-flash-image"


def test_a_queued_loop_whose_later_round_cannot_be_made_delivers_what_it_has(run, fake, workdir):
    fake.script_reviews("refine")
    fake.enqueue("chat", lambda record: None, error_reply(400, "Fake upstream refusal"))
    assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--review",
                        "--model", "flux.2-pro", "--out", "out/fox.png", "--request-id", "rv-x"))
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 1 and summary["failed"] == 0
    result = json.loads(next((workdir / QUEUE / "results").glob("*.json")).read_text())["result"]
    assert result["stop_reason"] == "error" and Path(result["path"]).samefile(workdir / "out/fox-r1.png")


def test_a_loop_that_no_round_accepted_warns_where_its_image_is_delivered(run, fake, workdir):
    fake.script_reviews("reject", "reject")
    doc = assert_one_json(result := loop(run, "--review", "--max-rounds", "2"))
    assert result.code == 0 and doc["stop_reason"] == "max_rounds" and doc["verdict"] == "reject"
    (warning,) = doc["warnings"]
    assert "no round was accepted" in warning and "reject" in warning
    sidecar = json.loads((workdir / "out/fox.png.json").read_text())
    assert sidecar["warnings"] == [warning]


def test_a_queued_loop_without_an_accept_warns_in_status_and_the_gallery_counts_its_reviews(run, fake, workdir):
    fake.script_reviews("reject", "reject")
    assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--size", "1K", "--review", "--max-rounds", "2",
                        "--out", "out/fox.png", "--request-id", "rv-w"))
    assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    status = assert_one_json(run("queue_status.py", "--queue-dir", QUEUE, "--request-id", "rv-w"))
    (job,) = status["jobs"]
    assert any("no round was accepted" in w for w in job["warnings"])
    review_cost = sum(r["cost_usd"] for r in job["rounds"]) - 2 * fake.chat_cost
    assert review_cost > 0
    doc = assert_one_json(run("gallery.py", "--queue-dir", QUEUE, "--request-id", "rv-w"))
    page = Path(doc["path"]).read_text()
    assert f"${status['cost_usd']:.4f} reported cost" in page


@pytest.mark.subprocess
def test_an_interrupted_loop_reports_what_it_kept_and_the_same_command_resumes_it(run, fake, workdir, env):
    slow = dataclasses.replace(review_reply("accept"), delay=60)  # round 2's review: interrupted while out
    fake.enqueue("messages", review_reply("refine"), slow)
    argv = [sys.executable, str(SCRIPTS / "generate.py"), "--prompt", PROMPT, "--size", "1K", "--out", "out/fox.png",
            "--review"]
    victim = subprocess.Popen(argv, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(fake.requests_for("messages")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fake.requests_for("messages")) == 2
    victim.send_signal(signal.SIGINT)
    out, _ = victim.communicate(timeout=30)
    doc = json.loads(out)
    assert victim.returncode == 130 and doc["error_kind"] == "interrupted" and doc["charge_unknown"] is True
    assert doc["loop_file"] == str(workdir / "out/fox.loop.json")
    assert [r["verdict"] for r in doc["rounds"]] == ["refine"]
    assert doc["kept_paths"] == [str(workdir / "out/fox-r1.png"), str(workdir / "out/fox-r2.png")]
    assert doc["cost_usd"] > 0 and "fox-r2.png" in doc["details"] and "resume" in doc["details"]
    assert_valid(doc, "error")
    fake.script_reviews("accept")
    again = assert_one_json(result := loop(run, "--review"))
    assert result.code == 0 and again["stop_reason"] == "accepted" and again["chosen_round"] == 2
    assert again["warnings"] == []
    assert len(fake.requests_for("chat")) == 2  # round 1 and 2 images, each paid for once
    assert len(fake.requests_for("messages")) == 3  # round 2's review asked again: its first never answered
    assert Path(again["path"]).samefile(workdir / "out/fox-r2.png")


def test_a_finished_loop_is_not_resumed_the_same_command_refuses_its_names(run, fake, workdir):
    fake.script_reviews("accept")
    assert assert_one_json(loop(run, "--review"))["warnings"] == []
    doc = assert_one_json(result := loop(run, "--review"))
    assert result.code == 2 and doc["error_kind"] == "output_exists" and len(fake.requests_for("chat")) == 1
