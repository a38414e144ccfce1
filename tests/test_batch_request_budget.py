"""A request's --max-cost holds for its jobs queued --via batch: each job holds its batch estimate
in the request's account before it is submitted, the charge its ledger line counts replaces the
hold when its batch is collected (once, even after a drain killed mid-collection), and a job the
provider never ran lets its hold go."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_json, ledger_entries
from tests.fake_api import GEMINI_TEST_KEY, gemini_error_reply
from tests.test_batch import PROMPT, QUEUE, Killed, drain, queue, status

ESTIMATE = 0.0505  # nanobanana-2 at 2K, half the table's $0.101
# gpt-image-2: a scripted 1056 image tokens at $30/M plus 44 text tokens at $5/M, halved
OPENAI_USAGE = {"total_tokens": 1100, "input_tokens": 44, "output_tokens": 1056,
                "input_tokens_details": {"text_tokens": 44, "image_tokens": 0},
                "output_tokens_details": {"text_tokens": 0, "image_tokens": 1056}}
OPENAI_CHARGE = round((1056 * 30 + 44 * 5) / 1e6 / 2, 6)


@pytest.fixture
def env(env):
    return {**env, "GEMINI_API_KEY": GEMINI_TEST_KEY}


def enqueue(run, prefix: str, count: int, cap: str | None = "0.12", *args: str, model: str = "nanobanana-2") -> None:
    """``count`` jobs, one enqueue each, of one request: each fits its cap alone, together they may not."""
    capped = ("--max-cost", cap) if cap else ()
    for n in range(count):
        result = run("enqueue_image_job.py", "--prompt", PROMPT, "--model", model, "--via", "batch", "--request-id",
                     "shots", "--out", f"out/{prefix}-{n}.png", "--quiet", *capped, *args)
        assert result.code == 0, result.stdout


def account(workdir: Path) -> dict:
    return json.loads((workdir / QUEUE / "index" / "shots" / "budget.json").read_text())


def budget(run) -> dict:
    return status(run)["budget"]


def test_a_capped_request_submits_what_fits_and_collection_charges_its_account(run, fake, env, workdir):
    enqueue(run, "a", 2)
    enqueue(run, "b", 2)  # four jobs of $0.0505 under one cap of $0.12: two fit
    submitted = drain(run)
    assert "errors" not in submitted["batches"], submitted
    assert submitted["batches"]["submitted"][0]["jobs"] == 2 and fake.gemini_batches.creates == 1
    stopped = {p.stem: json.loads(p.read_text()) for p in (workdir / QUEUE / "failed").glob("*.json")}
    assert sorted(stopped) == ["shots--0002", "shots--0003"]
    for job in stopped.values():  # as a synchronous job of the request is stopped
        assert job["status"] == "budget" and job["limit"] == "request_max_cost" and job.get("attempts", 0) == 0
        assert job["held_usd"] == pytest.approx(2 * ESTIMATE) and job["estimate_usd"] == ESTIMATE
    assert budget(run) == {"max_cost_usd": 0.12, "spent_usd": 0.0, "held_usd": 2 * ESTIMATE, "stopped_jobs": 2}
    assert all("pid" not in hold for hold in account(workdir)["holds"].values())  # held by the batch

    fake.gemini_batches.finish()
    collected = drain(run)
    assert collected["done"] == 2 and "errors" not in collected["batches"], collected
    assert budget(run) == {"max_cost_usd": 0.12, "spent_usd": 2 * ESTIMATE, "held_usd": 0.0, "stopped_jobs": 2}
    assert sum(line.get("cost_usd") or 0 for line in ledger_entries(env)) == pytest.approx(2 * ESTIMATE)


def test_a_request_without_a_cap_is_unchanged(run, fake, workdir):
    enqueue(run, "a", 2, cap=None)
    drain(run)
    fake.gemini_batches.finish()
    assert drain(run)["done"] == 2
    assert "budget" not in status(run) and not (workdir / QUEUE / "index" / "shots" / "budget.json").exists()


def test_a_drain_killed_mid_collection_charges_the_account_once(run, fake, workdir, monkeypatch):
    from imagegen.queue import store

    enqueue(run, "a", 1)
    drain(run)
    fake.gemini_batches.finish()
    real = store.finish

    def killed(dirs, job, state, *args, **kwargs):
        if state == "results":
            raise Killed()
        return real(dirs, job, state, *args, **kwargs)

    monkeypatch.setattr(store, "finish", killed)  # charged and saved, then killed before filing
    run("run_image_queue.py", "--quiet", "--idle-exit-sec", "0")
    assert queue(workdir, "submitted") == ["shots--0000"] and account(workdir)["spent_usd"] == ESTIMATE
    monkeypatch.setattr(store, "finish", real)
    assert drain(run)["done"] == 1
    assert budget(run) == {"max_cost_usd": 0.12, "spent_usd": ESTIMATE, "held_usd": 0.0, "stopped_jobs": 0}


@pytest.mark.parametrize("cap, where", [("0.12", "account"), ("0.12", "save"), (None, "save")])
def test_a_drain_killed_after_its_ledger_line_writes_no_second_one(run, fake, env, workdir, monkeypatch, cap, where):
    """Killed after the job's line went into the ledger, before its account was charged or its image
    saved: the next drain finds the line, writes none again, and charges the account once."""
    from imagegen.pipeline import save
    from imagegen.spending.request_budget import RequestBudget

    enqueue(run, "a", 1, cap)
    drain(run)
    fake.gemini_batches.finish()

    def killed(*args, **kwargs):
        raise Killed()

    target, name = (RequestBudget, "close") if where == "account" else (save, "save_replies")
    real = getattr(target, name)
    monkeypatch.setattr(target, name, killed)
    run("run_image_queue.py", "--quiet", "--idle-exit-sec", "0")
    assert queue(workdir, "submitted") == ["shots--0000"]
    assert [line["outcome"] for line in ledger_entries(env)] == ["batch_submitted", "success"]
    monkeypatch.setattr(target, name, real)
    collected = drain(run)
    assert collected["done"] == 1 and "errors" not in collected["batches"], collected
    assert [line["outcome"] for line in ledger_entries(env)] == ["batch_submitted", "success"]
    assert len(list((workdir / "out").glob("*.png"))) == 1
    if cap:
        assert budget(run) == {"max_cost_usd": 0.12, "spent_usd": ESTIMATE, "held_usd": 0.0, "stopped_jobs": 0}


@pytest.mark.parametrize("end", ["expire", "fail", "cancel"])
def test_a_batch_that_ran_nothing_lets_its_holds_go(run, fake, workdir, end):
    enqueue(run, "a", 2, "0.11")
    drain(run)
    first = set(account(workdir)["holds"])
    if end == "cancel":
        assert_one_json(run("queue_status.py", "--cancel", "shots"))
        fake.gemini_batches.outcome = lambda key: "missing"
        fake.gemini_batches.finish()
    else:
        getattr(fake.gemini_batches, end)()
    drain(run)
    holds = account(workdir)["holds"]
    if end == "expire":  # put back and submitted again: held once, by the new batch
        assert queue(workdir, "submitted") == ["shots--0000", "shots--0001"] and fake.gemini_batches.creates == 2
        assert len(holds) == 2 and not set(holds) & first
        assert budget(run)["spent_usd"] == 0.0 and budget(run)["held_usd"] == 2 * ESTIMATE
    else:
        assert queue(workdir, "failed") == ["shots--0000", "shots--0001"]
        assert holds == {} and budget(run)["spent_usd"] == 0.0 and budget(run)["held_usd"] == 0.0


def test_a_refused_or_keyless_submission_lets_its_holds_go(run, fake, workdir):
    enqueue(run, "a", 1)
    run("run_image_queue.py", "--quiet", "--idle-exit-sec", "0", env_extra={"GEMINI_API_KEY": None})
    assert queue(workdir, "pending") == ["shots--0000"] and account(workdir)["holds"] == {}
    job = workdir / QUEUE / "pending" / "shots--0000.json"
    job.write_text(json.dumps({**json.loads(job.read_text()), "not_before": 0}))
    fake.enqueue("gemini_batch_create", gemini_error_reply(400, "* imageConfig.aspectRatio: bad value"))
    drain(run)
    assert queue(workdir, "failed") == ["shots--0000"] and account(workdir)["holds"] == {}
    assert account(workdir).get("spent_usd", 0.0) == 0.0


def test_what_a_batch_job_was_charged_is_what_the_next_ones_hold(run, fake, workdir):
    """OpenAI's batch bills tokens: the first job costs more than the table's guess. The next jobs of
    the request hold that charge, so the cap stops the one that would pass it."""
    fake.openai_batches.usage = OPENAI_USAGE  # more image tokens than low quality's 196
    enqueue(run, "a", 1, "0.05", "--quality", "low", model="gpt-image-2")
    drain(run)
    fake.openai_batches.finish()
    drain(run)
    assert budget(run)["spent_usd"] == OPENAI_CHARGE > 0.003
    enqueue(run, "b", 3, "0.05", "--quality", "low", model="gpt-image-2")
    drain(run)
    assert queue(workdir, "submitted") == ["shots--0001", "shots--0002"]  # 0.016 spent, 2 x 0.016 held
    assert queue(workdir, "failed") == ["shots--0003"]
    assert budget(run)["held_usd"] == pytest.approx(2 * OPENAI_CHARGE)


def test_a_hold_that_outlives_its_batch_counts_until_the_job_is_collected(tmp_path):
    from imagegen.spending.request_budget import RequestBudget

    account = RequestBudget(tmp_path / "budget.json", "shots")
    account.hold_batch("batch-shots--0000-0000abcd", 0.05, cap=0.1, key="k", seconds=-1)
    assert account.snapshot() == {"max_cost_usd": 0.1, "spent_usd": 0.05, "held_usd": 0.0}  # lapsed: at its estimate
    assert account.close("batch-shots--0000-0000abcd", 0.02) is True
    assert account.snapshot()["spent_usd"] == 0.02
    assert account.close("batch-shots--0000-0000abcd", 0.02) is False  # once only
    assert account.snapshot()["spent_usd"] == 0.02


def test_a_job_the_daily_budget_defers_holds_nothing_of_its_request(run, fake, workdir):
    enqueue(run, "a", 1)
    deferred = drain(run, env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "0.01"})
    assert [job["status"] for job in deferred["jobs"]] == ["deferred"] and fake.gemini_batches.creates == 0
    assert account(workdir)["holds"] == {} and budget(run)["held_usd"] == 0.0


@pytest.mark.parametrize("request_id", ["chat:1234", "café-7", "(shots)"])
def test_a_capped_request_whose_id_has_any_allowed_character_is_collected(run, fake, env, workdir, request_id):
    """Holds are named after the job, and a job id may hold whatever a request id may (a colon, an
    accent): the batch record that carries them must still read back, or its paid results are stranded."""
    result = run("enqueue_image_job.py", "--prompt", PROMPT, "--model", "nanobanana-2", "--via", "batch",
                 "--request-id", request_id, "--out", "out/a.png", "--quiet", "--max-cost", "0.12")
    assert result.code == 0, result.stdout
    submitted = drain(run)
    assert "errors" not in submitted["batches"], submitted
    fake.gemini_batches.finish()
    collected = drain(run)
    assert collected["done"] == 1 and "errors" not in collected["batches"], collected
    assert (workdir / "out" / "a.png").exists()


def test_a_hold_read_from_a_batch_record_names_a_job_this_queue_could_make():
    from imagegen.queue.batch_records import valid_hold

    for job_id in ("shots--0000", "chat:1234--0003", "café-7--0001", "(shots)--0000", "a" * 120):
        assert valid_hold(f"batch-{job_id}-0123abcd"), job_id
    for hold in (None, 7, "batch-shots--0000", "batch-shots--0000-0123ABCD", "batch-../x-0123abcd",
                 "batch-a/b-0123abcd", "batch-a b-0123abcd", "batch-a\nb-0123abcd", "hold-shots-0123abcd",
                 "batch--0123abcd", f"batch-{'a' * 200}-0123abcd"):
        assert not valid_hold(hold), hold
