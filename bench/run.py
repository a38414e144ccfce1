#!/usr/bin/env python3
"""Measure image-gen against its performance targets, on this machine, against the loopback fake.

    python3 bench/run.py            # every measurement, several runs each, a table
    python3 bench/run.py --json     # the same as one JSON document
    python3 bench/run.py --quick    # fewer and smaller runs (what the test suite runs)

Standard library only. Each row: median, min and max of the runs, the target, and the ratio of
the median to the target (<= 1.00 meets it).

Rows named "floor: ..." compare image-gen with bench/floor_client.py, the least a stdlib client
must do (argparse, one urllib POST, one base64 decode, one file). Their runs are paired: each
loop runs the floor and image-gen back to back (order alternating, 18 loops by default), so
machine load hits both alike. Their median is the ratio of the two wall-time medians (unit
"x floor"); min and max are the extremes of the per-pair ratios; the note adds the ratio of
the CPU-time medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(ROOT))

from tests.fake_api import OPENROUTER_TEST_KEY, FakeAPI  # noqa: E402

PYTHON = sys.executable
FLOOR = ROOT / "bench" / "floor_client.py"
PROMPT = "A red fox in the snow at dawn, telephoto photo"


def run(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def timed(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of one run that must succeed: a failure is no sample."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[1:3])} exited {done.returncode}: {done.stderr[-1000:].decode()}")
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


# Runs a script and then reports the process's own peak memory (VmHWM belongs to the address
# space, which exec makes anew; ru_maxrss would also count what the forking parent held).
# "-c CODE" in place of the script runs CODE instead (the bare interpreter's baseline).
_PEAK_WRAPPER = """
import runpy, sys
script = sys.argv.pop(1)
code = sys.argv.pop(1) if script == "-c" else None
sys.argv[0] = script
try:
    if code is None:
        runpy.run_path(script, run_name="__main__")
    else:
        exec(compile(code, "<string>", "exec"), {"__name__": "__main__"})
except SystemExit:
    pass
finally:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write("VmHWM " + line.split()[1] + "\\n")
"""


def peak_rss_mb(script: Path | str, args: list[str], env: dict[str, str], cwd: Path) -> float:
    """Peak resident memory (MiB) of a Python process running ``script`` (or ``-c CODE``)."""
    done = subprocess.run([PYTHON, "-c", _PEAK_WRAPPER, str(script), *args], env=env, cwd=cwd,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("VmHWM ")]
    if not peaks:
        raise RuntimeError(f"no peak memory reported by {script} {args}: {done.stderr[-500:]}")
    return int(peaks[-1]) / 1024


class StandaloneFake:
    """The fake in its own process, so that the large image it serves is not in ours: a child
    inherits its parent's peak memory in ru_maxrss, which would hide the number we measure."""

    def __init__(self, image_mb: int) -> None:
        self.process = subprocess.Popen([PYTHON, str(ROOT / "tests" / "fake_api.py"), "--image-mb", str(image_mb)],
                                        stdout=subprocess.PIPE, text=True)
        self.urls = json.loads(self.process.stdout.readline())

    def env(self) -> dict[str, str]:
        return {"OPENROUTER_BASE_URL": self.urls["openrouter_url"]}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()


class Bench:
    def __init__(self, quick: bool, repeat: int) -> None:
        self.quick = quick
        self.repeat = repeat
        self.rows: list[dict] = []
        self.work = Path(tempfile.mkdtemp(prefix="imagegen-bench-"))
        self.fake = FakeAPI().start()
        home = self.work / "home"  # user config, cache and state: nothing of the caller's is read or written
        self.env = {**os.environ, **self.fake.env(), "OPENROUTER_API_KEY_IMAGES": OPENROUTER_TEST_KEY,
                    "OPENROUTER_API_KEY": OPENROUTER_TEST_KEY, "IMAGEGEN_LEDGER": str(self.work / "ledger.jsonl"),
                    "XDG_CONFIG_HOME": str(home / "config"), "XDG_CACHE_HOME": str(home / "cache"),
                    "XDG_STATE_HOME": str(home / "state"), "NO_COLOR": "1"}
        self.env.pop("IMAGEGEN_DAILY_BUDGET_USD", None)
        # Measure what an installed copy does: byte code cached. With PYTHONDONTWRITEBYTECODE set
        # (some shells and CI images set it) every run would compile the library from source.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([PYTHON, "-m", "compileall", "-q", str(SCRIPTS)], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def close(self) -> None:
        self.fake.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def row(self, name: str, samples: list[float], target: float, unit: str, note: str = "") -> None:
        median = statistics.median(samples)
        self.rows.append({"name": name, "unit": unit, "median": round(median, 4), "min": round(min(samples), 4),
                          "max": round(max(samples), 4), "target": target, "ratio": round(median / target, 3),
                          "runs": len(samples), "note": note})

    def paired_row(self, name: str, ours: list[tuple[float, float]], floor: list[tuple[float, float]],
                   target: float) -> None:
        """A "floor:" row from (wall, cpu) pairs: the ratio of the wall-time medians, with the extremes
        of the per-pair ratios; the note adds the ratio of the CPU-time medians, which load moves less."""
        def median(samples: list[tuple[float, float]], which: int) -> float:
            return statistics.median(sample[which] for sample in samples)

        ratio = median(ours, 0) / median(floor, 0)
        pairs = [a[0] / b[0] for a, b in zip(ours, floor, strict=True)]
        cpu = median(ours, 1) / median(floor, 1) if median(floor, 1) > 0 else float("nan")
        self.rows.append({"name": name, "unit": "x", "median": round(ratio, 4), "min": round(min(pairs), 4),
                          "max": round(max(pairs), 4), "target": target, "ratio": round(ratio / target, 3),
                          "runs": len(pairs), "cpu_ratio": round(cpu, 3),
                          "note": f"x floor; medians {median(ours, 0) * 1000:.0f} vs {median(floor, 0) * 1000:.0f} ms;"
                                  f" cpu {cpu:.2f}x"})

    # -- measurements ------------------------------------------------------------------------
    def startup(self) -> None:
        """--help and --dry-run against a bare interpreter, interleaved so load hits both alike."""
        commands = {
            "bare": [PYTHON, "-c", "pass"],
            "help": [PYTHON, str(SCRIPTS / "generate.py"), "--help"],
            "dry-run": [PYTHON, str(SCRIPTS / "generate.py"), "--prompt", PROMPT, "--dry-run"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(self.repeat * 4):
            for name, command in commands.items():
                times[name].append(run(command, self.env, self.work))
        bare = min(times["bare"])
        for name in ("help", "dry-run"):
            ratios = sorted(t / bare for t in times[name])
            self.row(f"start-up: generate.py {'--' + name} / python -c pass", ratios, 1.3, "x",
                     f"bare interpreter {bare * 1000:.0f} ms")

    def floor(self) -> None:
        """image-gen against the floor client: one image, --help, --dry-run; paired runs."""
        generate = [PYTHON, str(SCRIPTS / "generate.py"), "--prompt", PROMPT]
        floor = [PYTHON, str(FLOOR), "--prompt", PROMPT]
        commands = {
            "floor-run": lambda i: floor + ["--out", str(self.work / f"floor-{i}.png")],
            "run": lambda i: generate + ["--output-dir", str(self.work / f"run-{i}")],  # with sidecar and ledger
            "floor-help": lambda i: [PYTHON, str(FLOOR), "--help"],
            "help": lambda i: [PYTHON, str(SCRIPTS / "generate.py"), "--help"],
            "dry-run": lambda i: generate + ["--dry-run"],
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for command in commands.values():  # warm-up, not counted: byte-code caches, page cache
            timed(command("warm"), self.env, self.work)
        for index in range(self.repeat if self.quick else 2 * max(self.repeat, 9)):
            order = list(commands.items())
            for name, command in order if index % 2 == 0 else reversed(order):
                times[name].append(timed(command(index), self.env, self.work))
        self.paired_row("floor: generate.py one image (sidecar, ledger line) / floor_client.py one image",
                        times["run"], times["floor-run"], 1.25)
        self.paired_row("floor: generate.py --help / floor_client.py --help", times["help"], times["floor-help"], 1.15)
        self.paired_row("floor: generate.py --dry-run / floor_client.py --help", times["dry-run"], times["floor-help"],
                        1.5)

    def memory(self) -> None:
        """Peak RSS of a plain generate.py run saving one large PNG, per byte of response: above the bare
        interpreter (``python3 -c pass`` under the same wrapper), and above the same run with a 1 MB image
        (what the image itself costs, the fixed cost of the network stack taken out)."""
        size_mb = 20  # the target is stated for this size; smaller images measure start-up, not streaming
        response_mb = size_mb * 4 / 3
        baseline = min(peak_rss_mb("-c", ["pass"], self.env, self.work) for _ in range(3))
        small, large = self._peaks(1), self._peaks(size_mb)
        fixed = statistics.median(small) - baseline
        self.row(f"memory: generate.py peak RSS above python3 -c pass / response ({size_mb} MB PNG, "
                 f"{response_mb:.0f} MB base64)", [(peak - baseline) / response_mb for peak in large], 0.25, "x",
                 f"x response size; bare interpreter {baseline:.0f} MiB, a 1 MB run {fixed:.1f} MiB above it")
        self.row(f"memory: what the {size_mb} MB image costs: peak RSS above the same run with a 1 MB image / response",
                 [(peak - statistics.median(small)) / response_mb for peak in large], 0.25, "x", "x response size")

    def _peaks(self, image_mb: int) -> list[float]:
        """Peak RSS (MiB) of plain runs against a fake serving an ``image_mb`` MB PNG."""
        fake = StandaloneFake(image_mb)
        try:
            env = {**self.env, **fake.env()}
            return [peak_rss_mb(SCRIPTS / "generate.py", ["--prompt", PROMPT, "--output-dir",
                                                          str(self.work / f"mem-{image_mb}-{index}")], env, self.work)
                    for index in range(self.repeat)]
        finally:
            fake.stop()

    def _jobs_file(self, count: int, folder: Path, out: Path | None = None) -> Path:
        path = folder / "jobs.jsonl"
        out = out or folder
        path.write_text("".join(json.dumps({"prompt": f"{PROMPT} {i}", "output_file": str(out / f"img-{i:05d}.png"),
                                            "model": "nanobanana"}) + "\n" for i in range(count)))
        return path

    def _enqueue(self, folder: Path, count: int, out: Path | None = None) -> Path:
        queue = folder / "queue"
        jobs = self._jobs_file(count, folder, out)
        subprocess.run([PYTHON, str(SCRIPTS / "enqueue_image_job.py"), "--jobs-file", str(jobs), "--request-id",
                        "bench", "--queue-dir", str(queue), "--quiet"], env=self.env, cwd=folder, check=True,
                       stdout=subprocess.DEVNULL)
        return queue

    def throughput(self) -> None:
        """Drain jobs at 1 s of provider latency each; the ideal is jobs / concurrency seconds."""
        jobs, concurrency, latency = (16, 8, 0.5) if self.quick else (40, 8, 1.0)
        ideal = jobs / concurrency * latency
        self.fake.latency = latency
        samples = []
        for index in range(max(1, self.repeat // 2)):
            folder = self.work / f"drain-{index}"
            folder.mkdir()
            queue = self._enqueue(folder, jobs)
            samples.append(run([PYTHON, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", str(queue),
                                "--concurrency", str(concurrency), "--idle-exit-sec", "0.05", "--quiet"],
                               self.env, folder) / ideal)
        self.fake.latency = 0.0
        self.row(f"queue: drain {jobs} jobs at --concurrency {concurrency}, {latency:g} s latency / ideal "
                 f"{ideal:g} s", samples, 1.1, "x")
        # Per-job overhead: no latency, one thread, minus the worker's own start and idle exit.
        count = 20 if self.quick else 60
        samples = []
        for index in range(max(1, self.repeat // 2)):
            folder = self.work / f"overhead-{index}"
            folder.mkdir()
            queue = self._enqueue(folder, count)
            empty = folder / "empty"
            empty_time = run([PYTHON, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", str(empty),
                              "--idle-exit-sec", "0.05", "--quiet"], self.env, folder)
            total = run([PYTHON, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", str(queue), "--concurrency", "1",
                         "--idle-exit-sec", "0.05", "--quiet"], self.env, folder)
            samples.append(max(0.0, total - empty_time) / count * 1000)
        self.row(f"queue: per-job overhead, {count} jobs, no latency, one thread", samples, 20.0, "ms",
                 "includes the loopback round trip and writing each image")

    def ack(self) -> None:
        """queue_and_return.py --count 4: time until its JSON acknowledgement."""
        samples = []
        self.fake.latency = 0.2
        for index in range(self.repeat):
            folder = self.work / f"ack-{index}"
            folder.mkdir()
            samples.append(run([PYTHON, str(SCRIPTS / "queue_and_return.py"), "--prompt", PROMPT, "--count", "4",
                                "--request-id", f"ack-{index}", "--out-dir", str(folder), "--prefix", "ack",
                                "--queue-dir", str(folder / "queue")], self.env, folder))
        self.row("ack: queue_and_return.py --count 4", samples, 0.2, "s")
        time.sleep(0.5)
        self.fake.latency = 0.0

    def scale(self) -> None:
        """queue_status.py with many finished and pending jobs; enqueue into a big queue."""
        finished, pending = (2000, 200) if self.quick else (10_000, 1_000)
        folder = self.work / "scale"
        queue = folder / "queue"
        for state in ("pending", "running", "results", "failed", "index", "workers", "logs"):
            (queue / state).mkdir(parents=True)
        record = {"kind": "generate", "request_id": "old", "args": {"prompt": "x"}, "status": "done",
                  "result": {"path": "/nowhere.png"}}
        for number in range(finished):
            name = f"old--{number:05d}"
            (queue / "results" / f"{name}.json").write_text(json.dumps({**record, "job_id": name}))
        for number in range(pending):
            name = f"waiting--{number:05d}"
            (queue / "pending" / f"{name}.json").write_text(json.dumps({**record, "job_id": name, "status": "pending"}))
        status = [run([PYTHON, str(SCRIPTS / "queue_status.py"), "--queue-dir", str(queue)], self.env, folder)
                  for _ in range(self.repeat)]
        self.row(f"scale: queue_status.py with {finished} finished + {pending} pending", status, 0.2, "s")
        big = [run([PYTHON, str(SCRIPTS / "enqueue_image_job.py"), "--prompt", PROMPT, "--request-id", f"new-{i}",
                    "--queue-dir", str(queue)], self.env, folder) for i in range(self.repeat)]
        empty = [run([PYTHON, str(SCRIPTS / "enqueue_image_job.py"), "--prompt", PROMPT, "--request-id", f"new-{i}",
                      "--queue-dir", str(folder / f"empty-{i}")], self.env, folder) for i in range(self.repeat)]
        self.row("scale: enqueue into the big queue / into an empty one (O(1))",
                 [b / statistics.median(empty) for b in big], 1.3, "x")
        self.jobs_file_scale()
        self.full_folder_drain()

    def jobs_file_scale(self) -> None:
        """One --jobs-file into one request: the time for N lines, and what 4x the lines cost (linear: 4x)."""
        lines = 50 if self.quick else 1200
        small, large = [], []
        for index in range(max(1, self.repeat // 2)):
            for count, samples in ((lines, small), (4 * lines, large)):
                folder = self.work / f"jobs-{count}-{index}"
                folder.mkdir()
                jobs = self._jobs_file(count, folder)
                samples.append(timed([PYTHON, str(SCRIPTS / "enqueue_image_job.py"), "--jobs-file", str(jobs),
                                      "--request-id", "one", "--queue-dir", str(folder / "queue"), "--quiet"],
                                     self.env, folder)[0])
        self.row(f"scale: enqueue a {lines}-line --jobs-file into one request", small, 3.0, "s")
        self.row(f"scale: enqueue {4 * lines} lines / {lines} lines (4x the lines)",
                 [b / statistics.median(small) for b in large], 5.0, "x")

    def full_folder_drain(self) -> None:
        """Drain jobs into an output folder that already holds many files, against an empty one."""
        jobs, files = (12, 1000) if self.quick else (300, 20_000)
        times: dict[str, list[float]] = {"empty": [], "full": []}
        for index in range(max(1, self.repeat // 2)):
            for kind in ("empty", "full"):
                folder = self.work / f"fill-{kind}-{index}"
                out = folder / "out"
                out.mkdir(parents=True)
                if kind == "full":
                    for number in range(files):
                        (out / f"old-{number:05d}.png").write_bytes(b"")
                queue = self._enqueue(folder, jobs, out)
                times[kind].append(timed([PYTHON, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", str(queue),
                                          "--idle-exit-sec", "0.05", "--quiet"], self.env, folder)[0])
        empty = statistics.median(times["empty"])
        self.row(f"scale: drain {jobs} jobs into a folder of {files} files / into an empty folder",
                 [t / empty for t in times["full"]], 1.25, "x", f"empty folder {empty:.2f} s")


    def ledger(self) -> None:
        """A paid run under a daily budget (it reads the ledger and reserves before sending) with a
        100,000-line ledger against the same run with an empty one: time in pairs, peak memory."""
        from datetime import datetime, timedelta

        count = 20_000 if self.quick else 100_000
        month_ago = (datetime.now() - timedelta(days=30)).astimezone().isoformat(timespec="seconds")
        line = json.dumps({"time": month_ago, "script": "generate.py", "model": "google/gemini-3.1-flash-image",
                           "request_id": "cron-nightly", "job_id": None, "generation_id": "gen-" + "0" * 30,
                           "estimate_usd": 0.04, "cost_usd": 0.04, "outcome": "success", "error_kind": None,
                           "images": 1}) + "\n"
        full, empty = self.work / "ledger-full.jsonl", self.work / "ledger-empty.jsonl"
        full.write_text(line * count)
        size_mb = full.stat().st_size / 1e6
        env = {**self.env, "IMAGEGEN_DAILY_BUDGET_USD": "100000"}
        ledgers = {"full": full, "empty": empty}

        def command(kind: str, index: int) -> tuple[list[str], dict[str, str]]:
            empty.write_text("")  # the empty ledger stays empty: each run starts from nothing
            return ([PYTHON, str(SCRIPTS / "generate.py"), "--prompt", PROMPT, "--output-dir",
                     str(self.work / f"ledger-{kind}-{index}")], {**env, "IMAGEGEN_LEDGER": str(ledgers[kind])})

        times: dict[str, list[float]] = {"full": [], "empty": []}
        for kind in times:  # warm-up, not counted
            timed(*command(kind, -1), self.work)
        for index in range(self.repeat if self.quick else 2 * max(self.repeat, 9)):
            for kind in ("full", "empty") if index % 2 == 0 else ("empty", "full"):
                times[kind].append(timed(*command(kind, index), self.work)[0])
        ratios = [a / b for a, b in zip(times["full"], times["empty"], strict=True)]
        medians = statistics.median(times["full"]) * 1000, statistics.median(times["empty"]) * 1000
        self.row(f"ledger: a budgeted paid run with a {count}-line ledger ({size_mb:.0f} MB) / with an empty one",
                 ratios, 1.1, "x", f"medians {medians[0]:.0f} vs {medians[1]:.0f} ms")
        peaks: dict[str, list[float]] = {"full": [], "empty": []}
        for index in range(max(2, self.repeat // 3)):
            for kind in peaks:
                args, run_env = command(kind, 100 + index)
                peaks[kind].append(peak_rss_mb(args[1], args[2:], run_env, self.work))
        self.row(f"ledger: peak RSS of that run with a {count}-line ledger / with an empty one",
                 [a / b for a, b in zip(peaks["full"], peaks["empty"], strict=True)], 1.1, "x",
                 f"medians {statistics.median(peaks['full']):.1f} vs {statistics.median(peaks['empty']):.1f} MiB")

    def money(self) -> None:
        """A request's --max-cost held on what is charged: 15 jobs estimated at $0.03 (the table), charged
        3.4 times that. The ratio of what was spent to the cap, in one run (at most one job over: 1 + one/cap)."""
        folder = self.work / "money"
        folder.mkdir()
        cap, charged = 0.50, 0.102
        env = {**self.env, "IMAGEGEN_LEDGER": str(folder / "ledger.jsonl")}
        queue = folder / "queue"
        subprocess.run([PYTHON, str(SCRIPTS / "queue_and_return.py"), "--prompt", PROMPT, "--model", "flux.2-pro",
                        "--size", "1K", "--count", "15", "--max-cost", str(cap), "--request-id", "shots", "--out-dir",
                        str(folder / "out"), "--queue-dir", str(queue), "--dry-run-worker", "--quiet"],
                       env=env, cwd=folder, check=True, stdout=subprocess.DEVNULL)
        self.fake.chat_cost, self.fake.latency = charged, 0.1
        try:
            timed([PYTHON, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", str(queue), "--concurrency", "4",
                   "--idle-exit-sec", "0", "--quiet"], env, folder)
        finally:
            self.fake.chat_cost, self.fake.latency = 0.04, 0.0
        lines = [json.loads(line) for line in (folder / "ledger.jsonl").read_text().splitlines()]
        spent = sum(line.get("cost_usd") or line.get("estimate_usd") or 0 for line in lines)
        self.row("money: a request's spend / its --max-cost, charged 3.4x the table (one run)", [spent / cap],
                 round(1 + charged / cap, 3), "x", f"${spent:.3f} of ${cap:.2f} in {len(lines)} calls")


def table(rows: list[dict]) -> str:
    lines = [f"{'measurement':<88} {'median':>9} {'min':>9} {'max':>9} {'target':>8} {'ratio':>6}"]
    for row in rows:
        unit = row["unit"]
        lines.append(f"{row['name']:<88} {row['median']:>8.3f}{unit} {row['min']:>8.3f}{unit} {row['max']:>8.3f}{unit} "
                     f"{row['target']:>7g}{unit} {row['ratio']:>6.2f}" + ("  " + row["note"] if row["note"] else ""))
    return "\n".join(lines)


MEASUREMENTS = ("startup", "floor", "memory", "throughput", "ack", "scale", "ledger", "money")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer and smaller runs")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.add_argument("--repeat", type=int, help="runs per measurement (default 9, or 2 with --quick)")
    parser.add_argument("--only", choices=MEASUREMENTS, action="append",
                        help="run only these measurements (repeatable)")
    args = parser.parse_args(argv)
    bench = Bench(args.quick, args.repeat or (2 if args.quick else 9))
    try:
        for name in args.only or MEASUREMENTS:
            getattr(bench, name)()
    finally:
        bench.close()
    if args.json:
        print(json.dumps({"quick": args.quick, "python": sys.version.split()[0], "rows": bench.rows}, indent=2))
    else:
        print(table(bench.rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
