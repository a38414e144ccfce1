"""bench/run.py in quick mode: every measurement runs and reports, so the instrument cannot rot.

The targets themselves are not asserted here (a loaded CI machine would make that flaky), except
memory, which does not depend on load: a regression to holding the response in memory fails.
What the image itself costs is held to its 0.25x target. The run's peak above the bare interpreter
is held to the older 1.5x: most of it is the fixed cost of importing urllib and ssl (a 1 MB run
costs the same), which no standard-library client avoids.
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
                   "queue: per-job overhead", "ack:", "scale: queue_status.py", "scale: enqueue into",
                   "scale: enqueue a", "scale: enqueue 200 lines /", "scale: drain", "ledger: a budgeted paid run",
                   "ledger: peak RSS", "money:"):
        assert any(name.startswith(prefix) for name in names), prefix
    rows = {row["name"]: row for row in report["rows"]}
    for name, target in (("floor: generate.py one image (sidecar, ledger line) / floor_client.py one image", 1.25),
                         ("floor: generate.py --help / floor_client.py --help", 1.15),
                         ("floor: generate.py --dry-run / floor_client.py --help", 1.5)):
        assert name in rows, (name, names)
        assert rows[name]["target"] == target and rows[name]["unit"] == "x", rows[name]
        assert rows[name]["min"] <= rows[name]["max"], rows[name]
    money = next(row for row in report["rows"] if row["name"].startswith("money:"))
    assert money["median"] <= money["target"], money  # a request passes its cap by at most one job
    image_cost = next(row for row in report["rows"] if row["name"].startswith("memory: what the 20 MB image costs"))
    assert image_cost["ratio"] <= 1.0, image_cost
    for row in report["rows"]:
        assert row["target"] > 0 and row["runs"] >= 1
        assert row["median"] > 0 or row is image_cost, row  # an image's cost can round to nothing
    memory = next(row for row in report["rows"] if row["name"].startswith("memory: generate.py peak RSS above "
                                                                             "python3 -c pass / response"))
    assert memory["target"] == 0.25, memory
    assert memory["median"] <= 1.5, memory  # the fixed cost of the network stack: see the module docstring
