"""However a run ends, every call that reached the provider is in the ledger: real signals sent to
real processes while the fake holds the reply back (Ctrl-C, SIGTERM, SIGHUP, a closed pipe, a worker
killed with SIGKILL or stopped with SIGTERM), then the ledger and spend.py read back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS, assert_one_json, ledger_entries

QUEUE = "q"
FLUX_2K = 0.075  # flux.2-pro at 2K in the built-in table


def start(env: dict[str, str], workdir: Path, script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPTS / script), *args], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)


def wait_for(condition, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout}s for {what}")
        time.sleep(0.05)


@pytest.fixture
def held(fake):
    """The fake receives each request whole, then holds its reply until the test lets it go."""
    fake.hold = threading.Event()
    yield fake
    fake.hold.set()


def request_out(fake, count: int = 1) -> None:
    wait_for(lambda: len(fake.requests_for("chat")) >= count, "the request to reach the fake")
    time.sleep(0.5)  # the client has finished sending: it is waiting for the reply


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_run_stopped_while_its_request_is_out_is_in_the_ledger_as_charge_unknown(held, env, workdir, run, sent):
    process = start(env, workdir, "generate.py", "--prompt", "A fox in the snow", "--output-dir", "out")
    request_out(held)
    process.send_signal(sent)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    document = json.loads(stdout)
    assert document["error_kind"] == "interrupted" and document["charge_unknown"] is True, document
    assert signal.Signals(sent).name in document["error"] or sent == signal.SIGINT
    (line,) = ledger_entries(env)
    assert line["outcome"] == "charge_unknown" and line["error_kind"] == "interrupted"
    assert line["estimate_usd"] == FLUX_2K and line["cost_usd"] is None and line["script"] == "generate.py"
    spent = assert_one_json(run("spend.py", "--since", "today"))
    assert spent["calls"] == 1 and spent["cost_usd"] == FLUX_2K  # counted at its estimate


def test_a_closed_pipe_does_not_lose_the_paid_call(held, env, workdir):
    process = start(env, workdir, "generate.py", "--prompt", "A fox in the snow", "--output-dir", "out")
    request_out(held)
    process.stdout.close()  # the reader went away
    held.hold.set()
    process.wait(timeout=30)
    stderr = process.stderr.read()
    assert "Traceback" not in stderr, stderr
    (line,) = ledger_entries(env)
    assert line["outcome"] == "success" and line["cost_usd"] == 0.04


def enqueue_one(run) -> None:
    result = run("enqueue_image_job.py", "--prompt", "A lighthouse at dusk", "--model", "flux.2-pro", "--out",
                 "out/lighthouse.png", "--request-id", "night", "--queue-dir", QUEUE, "--quiet")
    assert result.code == 0, result.stdout


def drain_args() -> tuple[str, ...]:
    return ("--queue-dir", QUEUE, "--idle-exit-sec", "0", "--concurrency", "1", "--quiet")


def test_a_worker_killed_mid_call_is_charged_by_the_next_drain(held, env, workdir, run):
    enqueue_one(run)
    worker = start(env, workdir, "run_image_queue.py", *drain_args())
    request_out(held)
    lease = json.loads((workdir / QUEUE / "running" / "night--0000.lease").read_text())
    assert lease["calls_out"][0]["model"] == "black-forest-labs/flux.2-pro"  # written before it was sent
    worker.kill()
    worker.communicate(timeout=30)
    assert ledger_entries(env) == []  # SIGKILL: nothing could be written
    held.hold.set()
    summary = assert_one_json(run("run_image_queue.py", *drain_args()))
    assert summary["recovered"][0]["action"] == "requeued" and summary["done"] == 1, summary
    lost, made = ledger_entries(env)
    assert lost["outcome"] == "charge_unknown" and lost["error_kind"] == "worker_lost"
    assert lost["job_id"] == "night--0000" and lost["estimate_usd"] == FLUX_2K
    assert made["outcome"] == "success"
    spent = assert_one_json(run("spend.py", "--since", "today"))
    assert spent["cost_usd"] == pytest.approx(FLUX_2K + 0.04)


def test_a_worker_stopped_with_sigterm_records_its_call_once(held, env, workdir, run):
    enqueue_one(run)
    worker = start(env, workdir, "run_image_queue.py", *drain_args())
    request_out(held)
    worker.send_signal(signal.SIGTERM)
    stdout, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 130 and "Traceback" not in stderr, stdout + stderr
    assert json.loads(stdout)["charge_unknown"] is True
    (line,) = ledger_entries(env)
    assert line["outcome"] == "charge_unknown" and line["error_kind"] == "interrupted"
    held.hold.set()
    summary = assert_one_json(run("run_image_queue.py", *drain_args()))
    assert summary["done"] == 1, summary
    assert [entry["outcome"] for entry in ledger_entries(env)] == ["charge_unknown", "success"]  # not twice
