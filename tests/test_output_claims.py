"""Claim before you pay: an explicit output file is claimed before the request is sent, so a second
run for the same file is refused with nothing sent and nothing paid, and a crashed run's claim
does not block the next."""

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


def start(env: dict[str, str], workdir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPTS / "generate.py"), *args], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def wait_for_request(fake) -> None:
    deadline = time.monotonic() + 30
    while not fake.requests_for("chat"):
        assert time.monotonic() < deadline, "the first run's request never arrived"
        time.sleep(0.05)


@pytest.mark.parametrize("overwrite", [(), ("--overwrite",)])
def test_a_second_run_for_the_same_file_is_refused_before_it_pays(fake, env, workdir, run, overwrite):
    fake.hold = threading.Event()
    try:
        first = start(env, workdir, "--prompt", "A fox in the snow", "--output-file", "out/fox.png", *overwrite)
        wait_for_request(fake)
        second = run("generate.py", "--prompt", "A fox in the rain", "--output-file", "out/fox.png", *overwrite)
        refused = assert_one_json(second)
        assert second.code == 2 and refused["error_kind"] == "output_exists", refused
        assert "another run" in refused["error"] and "nothing was sent" in refused["details"]
        assert len(fake.requests_for("chat")) == 1  # the second sent nothing
    finally:
        fake.hold.set()
    stdout, _ = first.communicate(timeout=30)
    assert first.returncode == 0 and json.loads(stdout)["path"].endswith("out/fox.png")
    assert [line["outcome"] for line in ledger_entries(env)] == ["success"]  # one call paid, by the run that saved
    assert sorted(os.listdir(workdir / "out")) == ["fox.png", "fox.png.json"]  # the claim is gone


def test_a_crashed_runs_claim_is_taken_over(fake, env, workdir, run):
    fake.hold = threading.Event()
    try:
        first = start(env, workdir, "--prompt", "A fox in the snow", "--output-file", "out/fox.png")
        wait_for_request(fake)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    finally:
        fake.hold.set()
    assert [p.name for p in (workdir / "out").iterdir()] == [".imagegen-fox.png.claim"]  # left by the crash
    again = run("generate.py", "--prompt", "A fox in the snow", "--output-file", "out/fox.png")
    assert again.code == 0 and again.json["warnings"] == [], again.stdout
    assert sorted(os.listdir(workdir / "out")) == ["fox.png", "fox.png.json"]


def test_two_queue_jobs_with_one_target_pay_once(fake, env, workdir, run):
    for request in ("a", "b"):
        assert run("enqueue_image_job.py", "--prompt", f"A lighthouse {request}", "--out", "out/l.png",
                   "--request-id", request, "--queue-dir", "q", "--quiet").code == 0
    fake.latency = 0.5
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", "q", "--concurrency", "2",
                                  "--idle-exit-sec", "0", "--quiet"))
    assert summary["done"] == 1 and summary["failed"] == 1, summary
    assert len(fake.requests_for("chat")) == 1 and [line["outcome"] for line in ledger_entries(env)] == ["success"]
    (failed,) = [job for job in summary["jobs"] if job["status"] == "failed"]
    assert failed["error_kind"] == "output_exists"
