"""The queue under hostile conditions: racing enqueuers, planted job files, lines of a jobs file.

Racing enqueuers are real processes (only processes race for the request index as cron and agents
do); the rest call main() in-process against the loopback fake.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS, assert_one_json

QUEUE = "q"

RACER = """
import sys, time
sys.path.insert(0, sys.argv[1])
from imagegen.queue import store
from imagegen.queue.layout import QueueDirs
dirs = QueueDirs.at(sys.argv[2]).ensure()
start = float(sys.argv[3])
while time.time() < start:
    pass
for number in range(int(sys.argv[4])):
    store.enqueue(dirs, {"request_id": "race", "output": f"/o/{number}.png", "request": {"prompt": "x"}}, None)
"""


def pending_jobs(queue: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((queue / "pending").glob("*.json"))]


def test_racing_enqueues_of_one_output_make_one_job(tmp_path):
    """Five processes enqueue the same 40 outputs of one request at the same moment: 40 jobs, not more."""
    queue = tmp_path / "queue"
    start = time.time() + 0.4
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(SCRIPTS), str(queue), str(start), "40"])
              for _ in range(5)]
    assert [racer.wait(timeout=60) for racer in racers] == [0] * 5
    outputs = Counter(job["output"] for job in pending_jobs(queue))
    assert len(outputs) == 40 and set(outputs.values()) == {1}, outputs


def test_racing_enqueue_scripts_return_the_one_job(env, workdir):
    commands = [[sys.executable, str(SCRIPTS / "enqueue_image_job.py"), "--prompt", "A lighthouse at dusk",
                 "--out", "out/a.png", "--request-id", "same", "--queue-dir", QUEUE] for _ in range(5)]
    processes = [subprocess.Popen(c, cwd=workdir, env=env, stdout=subprocess.PIPE, text=True) for c in commands]
    acks = [json.loads(p.communicate(timeout=60)[0]) for p in processes]
    assert {tuple(ack["job_ids"]) for ack in acks} == {("same--0000",)}
    assert sum(ack["jobs"][0]["created"] for ack in acks) == 1
    assert len(pending_jobs(workdir / QUEUE)) == 1
