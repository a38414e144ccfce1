"""Crash safety of the queue: kill -9 the worker at random points, then let a fresh worker finish.

Each trial queues a few jobs with explicit output files, starts run_image_queue.py against the fake
(with a little latency, so kills land before, during and after provider calls and file writes),
SIGKILLs it after a seeded random delay (once or twice), and then runs a fresh worker to the end.
Afterwards every job must be done exactly once: one results file per job and nothing pending,
running or failed; each output image exists once, as a whole PNG with its sidecar, and no other
file (no ``-2`` duplicate, no ``.imagegen-*.part`` temp file); every JSON file in the queue and
the output folder parses; and ``preflight_check.py --json`` reports no stranded job.

Deterministic cases pin down the two crash windows the random kills found: temp files a killed
writer leaves behind (swept by the next run, never while their writer lives), and an image saved
whose sidecar was not (the next attempt adopts it from the PNG's own metadata instead of failing
with output_exists or paying again).

A job killed mid-request may legitimately be sent again, so the fake's log is only checked for an
upper bound; completions are counted in the results. The default run makes a few trials; the long
run (``-m slow``) makes ``IMAGEGEN_CRASH_TRIALS`` of them (default 20); ``IMAGEGEN_CRASH_SEED``
replays one sequence.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS, assert_one_json
from tests.fake_api import png_size, read_png_rgba

TRIALS = int(os.environ.get("IMAGEGEN_CRASH_TRIALS", "20"))
SHORT_TRIALS = 3  # the default run: kills before, during and after a call, in a few seconds
SEED = int(os.environ.get("IMAGEGEN_CRASH_SEED", "20261121"))
JOBS = 3


def worker(env: dict[str, str], cwd: Path, queue: str, idle_exit: str = "0.2") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", queue, "--idle-exit-sec", idle_exit,
         "--concurrency", "2", "--retries", "0", "--quiet"],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def whole_png(path: Path) -> None:
    data = path.read_bytes()
    width, height = png_size(data)
    assert read_png_rgba(data)[:2] == (width, height)  # every chunk present, CRCs right, pixels decode


def check_trial(workdir: Path, queue: str, out: str, prompts: list[str], trial: int, run) -> None:
    queue_dir, out_dir = workdir / queue, workdir / out
    where = f"trial {trial}"
    states = {state: sorted(p.stem for p in (queue_dir / state).glob("*.json"))
              for state in ("pending", "running", "results", "failed")}
    assert states["results"] == [f"t{trial}--{i:04d}" for i in range(JOBS)], (where, states)
    assert states["pending"] == states["running"] == states["failed"] == [], (where, states)
    assert not list((queue_dir / "running").iterdir()), where  # no lease left either
    for path in list(queue_dir.rglob("*.json")) + list(out_dir.rglob("*.json")):
        json.loads(path.read_text())
    leftovers = [p for p in workdir.rglob(".imagegen-*")]
    assert leftovers == [], (where, leftovers)
    expected = {f"img-{i}.png" for i in range(JOBS)}
    assert {p.name for p in out_dir.iterdir()} == expected | {f"{name}.json" for name in expected}, where
    for index in range(JOBS):
        record = json.loads((queue_dir / "results" / f"t{trial}--{index:04d}.json").read_text())
        assert record["status"] == "done" and record["result"]["path"] == str(out_dir / f"img-{index}.png"), where
        whole_png(out_dir / f"img-{index}.png")
        sidecar = json.loads((out_dir / f"img-{index}.png.json").read_text())
        assert sidecar["request"]["prompt"] == prompts[index], where
    report = assert_one_json(run("preflight_check.py", "--json", "--queue-dir", queue, "--output-dir", out))
    (stranded,) = [c for c in report["checks"] if c["name"] == "stranded_jobs"]
    assert stranded["ok"] is True, (where, stranded)


def kill_and_finish(trials: int, run, fake, workdir: Path, env: dict[str, str]) -> None:
    """``trials`` rounds of: queue JOBS jobs, SIGKILL a worker once or twice, let a fresh one finish."""
    rng = random.Random(SEED)
    fake.latency = 0.04
    for trial in range(trials):
        queue, out = f"q{trial}", f"out{trial}"
        prompts = [f"A lighthouse number {i} of trial {trial}" for i in range(JOBS)]
        (workdir / f"jobs{trial}.jsonl").write_text("".join(
            json.dumps({"prompt": p, "output_file": f"{out}/img-{i}.png", "model": "nanobanana"}) + "\n"
            for i, p in enumerate(prompts)))
        assert_one_json(run("enqueue_image_job.py", "--jobs-file", f"jobs{trial}.jsonl", "--request-id", f"t{trial}",
                            "--queue-dir", queue))
        for _ in range(rng.choice((1, 1, 2))):
            victim = worker(env, workdir, queue)
            time.sleep(rng.uniform(0.1, 0.45))  # start-up takes ~0.1 s: kill anywhere in the work after it
            victim.send_signal(signal.SIGKILL)
            victim.communicate()
        final = worker(env, workdir, queue, idle_exit="0.05")  # only finishes up: no need to linger
        stdout, stderr = final.communicate(timeout=60)
        assert final.returncode == 0 and "Traceback" not in stderr, (trial, stderr)
        json.loads(stdout)
        check_trial(workdir, queue, out, prompts, trial, run)
    # A worker killed while sending leaves a request the fake could not parse: not a call.
    sent = Counter(r.json["messages"][-1]["content"] for r in fake.requests_for("chat") if r.json)
    assert len(sent) == trials * JOBS and max(sent.values()) <= 3  # at most once per worker that saw it


def test_kill_9_at_a_few_random_points_then_every_job_is_done_exactly_once(run, fake, workdir, env):
    kill_and_finish(SHORT_TRIALS, run, fake, workdir, env)


@pytest.mark.slow
def test_kill_9_at_random_points_then_every_job_is_done_exactly_once(run, fake, workdir, env):
    kill_and_finish(TRIALS, run, fake, workdir, env)


# -- the windows the random kills found, pinned down -----------------------------------------------

def test_sweep_removes_only_the_temp_files_of_dead_writers(tmp_path):
    from imagegen import fsutil

    live_fd, live = fsutil.new_temp(tmp_path)
    dead = tmp_path / ".imagegen-dead1234.part"
    dead.write_bytes(b"half an image")
    other = tmp_path / "keep.png"
    other.write_bytes(b"not ours")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, fcntl, os, time; sys.path.insert(0, sys.argv[1]); from imagegen import fsutil; "
        "fd, name = fsutil.new_temp(fsutil.Path(sys.argv[2])); print(name, flush=True); time.sleep(30)"),
        str(SCRIPTS), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        held_elsewhere = Path(holder.stdout.readline().strip())
        assert fsutil.sweep_abandoned(tmp_path) == [dead.name]
        assert Path(live).exists() and held_elsewhere.exists() and other.exists()
    finally:
        holder.kill()
        holder.wait()
    assert fsutil.sweep_abandoned(tmp_path) == [held_elsewhere.name]  # its writer is gone now
    assert Path(live).exists()
    os.close(live_fd)
    assert fsutil.sweep_abandoned(tmp_path) == [Path(live).name]


def test_leftover_temp_files_are_cleared_by_the_next_run(run, fake, workdir):
    (workdir / "out").mkdir()
    (workdir / "out" / ".imagegen-killed01.part").write_bytes(b"\x89PNG half")
    doc = assert_one_json(run("generate.py", "--prompt", "A red fox in snow", "--output-dir", "out"))
    assert not list((workdir / "out").glob(".imagegen-*")) and doc["warnings"] == []
    assert_one_json(run("enqueue_image_job.py", "--prompt", "A red fox in snow", "--out", "o/fox.png",
                        "--request-id", "sweep", "--queue-dir", "q"))
    for folder in ("q/results", "q/pending", "o"):
        (workdir / folder).mkdir(exist_ok=True)
        (workdir / folder / ".imagegen-killed02.part").write_text('{"half": ')
    assert_one_json(run("run_image_queue.py", "--queue-dir", "q", "--idle-exit-sec", "0.05"))
    assert not list(workdir.rglob(".imagegen-*"))


@pytest.mark.parametrize("sidecar", ["missing", "from-another-job"])
def test_image_saved_but_sidecar_not_is_adopted_not_paid_again(run, fake, workdir, sidecar):
    assert_one_json(run("enqueue_image_job.py", "--prompt", "A red fox in snow", "--out", "o/fox.png",
                        "--request-id", "adopt", "--queue-dir", "q"))
    assert_one_json(run("run_image_queue.py", "--queue-dir", "q", "--idle-exit-sec", "0.05"))
    # As if the worker died after the image took its name and before its sidecar and result were written.
    result_path = workdir / "q" / "results" / "adopt--0000.json"
    job = json.loads(result_path.read_text())
    for key in ("result", "status", "provider", "finished_at"):
        job.pop(key, None)
    (workdir / "q" / "pending" / result_path.name).write_text(json.dumps(job))
    result_path.unlink()
    side = workdir / "o" / "fox.png.json"
    if sidecar == "missing":
        side.unlink()
    else:
        side.write_text(json.dumps({"request": {"job_id": "someone-else--0000"}}))
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", "q", "--idle-exit-sec", "0.05"))
    assert summary["done"] == 1 and summary["failed"] == 0, summary
    assert len(fake.requests_for("chat")) == 1  # not paid for twice
    record = json.loads(result_path.read_text())
    assert record["result"]["recovered_from_previous_attempt"] is True
    assert record["result"]["generation_id"] and record["result"]["format"] == "png"
    restored = json.loads(side.read_text())  # the sidecar is written from the PNG's own metadata
    assert restored["request"]["job_id"] == "adopt--0000"
    assert restored["image"]["width"] == 2048  # the 2K frame the default model asks for


def test_image_of_another_job_is_never_adopted(run, fake, workdir):
    (workdir / "o").mkdir()
    from tests.fake_api import make_png

    queued = assert_one_json(run("enqueue_image_job.py", "--prompt", "A red fox in snow", "--out", "o/fox.png",
                                 "--request-id", "foreign", "--queue-dir", "q"))
    assert queued["status"] == "queued"  # (enqueue refuses a file that is already there: it came later)
    (workdir / "o" / "fox.png").write_bytes(make_png(8, 8))  # no metadata: someone else's file
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", "q", "--idle-exit-sec", "0.05"))
    assert summary["failed"] == 1
    failed = json.loads((workdir / "q" / "failed" / "foreign--0000.json").read_text())
    assert failed["error_kind"] == "output_exists" and fake.requests_for("chat") == []
