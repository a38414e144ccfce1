"""bench/run.py in quick mode: every measurement runs and reports, so the instrument cannot rot.

The targets themselves are not asserted here (a loaded CI machine would make that flaky), except
memory, which does not depend on load: a regression to holding the response in memory fails.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_quick_reports_every_measurement(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--repeat", "1", "--json"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    names = [row["name"] for row in report["rows"]]
    for prefix in ("start-up: generate.py --help", "start-up: generate.py --dry-run", "memory:", "queue: drain",
                   "queue: per-job overhead", "ack:", "scale: queue_status.py", "scale: enqueue"):
        assert any(name.startswith(prefix) for name in names), prefix
    for row in report["rows"]:
        assert row["median"] > 0 and row["target"] > 0 and row["runs"] >= 1
    memory = next(row for row in report["rows"] if row["name"].startswith("memory:"))
    assert memory["ratio"] <= 1.0, memory
