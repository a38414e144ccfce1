"""Operations as people meet them: cron without a key, idle logs and their rotation, a person at a
terminal, progress on long waits, queue names across requests, what queue_status.py shows per job."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import assert_one_json
from tests.schema_check import assert_valid

QUEUE = "generated/imagegen-queue"
PROMPT = "A lighthouse at dusk, oil painting"
NO_KEY = {"OPENROUTER_API_KEY_IMAGES": None, "OPENROUTER_API_KEY": None}


def names(workdir: Path, state: str) -> list[str]:
    folder = workdir / QUEUE / state
    return sorted(p.stem for p in folder.glob("*.json")) if folder.exists() else []


# -- cron without a key ---------------------------------------------------------------------------

def test_without_a_key_a_job_waits_in_pending_and_the_run_fails_with_one_line(run, fake, workdir):
    queued = assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--quiet",
                                 env_extra=NO_KEY))
    (job_id,) = queued["job_ids"]
    result = run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet",
                 "--handoff-mode", "cron", env_extra=NO_KEY)
    doc = assert_one_json(result)
    assert result.code == 2 and doc["success"] is False and doc["error_kind"] == "missing_key", doc
    assert_valid(doc, "run_image_queue.success")
    assert doc["missing_key"]["jobs_waiting"] == [job_id] and "export OPENROUTER_API_KEY" in doc["details"]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "is not set" in lines[0] and "export OPENROUTER_API_KEY_IMAGES" in lines[0], lines
    assert names(workdir, "pending") == [job_id] and names(workdir, "failed") == [] and fake.requests == []
    job = json.loads((workdir / QUEUE / "pending" / f"{job_id}.json").read_text())
    assert job["deferred_limit"] == "missing_key" and job["attempts"] == 0
    # the key is set: the next worker runs the job at once, without waiting for the deferral to pass
    done = assert_one_json(result := run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0",
                                          "--quiet"))
    assert result.code == 0 and done["done"] == 1 and "missing_key" not in done and result.stderr == ""
    assert names(workdir, "results") == [job_id]


def test_without_a_key_under_log_file_the_one_line_still_reaches_cron(run, fake, workdir):
    run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--quiet", env_extra=NO_KEY)
    result = run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--log-file", "logs/q.log",
                 env_extra=NO_KEY)
    assert result.code == 2 and result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and "is not set" in result.stderr
    logged = (workdir / "logs" / "q.log").read_text().splitlines()
    assert json.loads(logged[-1])["error_kind"] == "missing_key"


def test_an_idle_run_logs_one_short_line(run, fake, workdir):
    for _ in range(3):
        result = run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--log-file", "q.log")
        assert result.code == 0 and result.stdout == "" and result.stderr == ""
    lines = (workdir / "q.log").read_text().splitlines()
    assert len(lines) == 3 and all("idle: nothing to run" in line and len(line) < 120 for line in lines), lines
    run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--quiet")
    run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--log-file", "q.log")
    document = json.loads((workdir / "q.log").read_text().splitlines()[-1])  # a run that did something: the JSON
    assert document["done"] == 1


def test_the_log_file_rotates_by_size_keeping_a_few(run, fake, workdir):
    from imagegen.cli import logfile

    log = workdir / "q.log"
    for generation in range(logfile.KEEP + 2):
        log.write_text(f"generation {generation}\n" + "x" * logfile.MAX_BYTES)
        run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--log-file", "q.log")
    assert len(log.read_text().splitlines()) == 1  # the last run's line, in a fresh file
    kept = sorted(p.name for p in workdir.glob("q.log.*"))
    assert kept == [f"q.log.{n}" for n in range(1, logfile.KEEP + 1)]
    assert (workdir / "q.log.1").read_text().startswith(f"generation {logfile.KEEP + 1}\n")
    small = workdir / "small.log"
    small.write_text("a line\n")
    logfile.rotate(small)
    assert small.read_text() == "a line\n" and not (workdir / "small.log.1").exists()


# -- queue names across requests -------------------------------------------------------------------

def test_two_requests_without_a_prefix_never_share_names(run, fake, workdir):
    """The second request is not refused as output_exists: each request's names are its own."""
    first = assert_one_json(run("enqueue_variants.py", "--prompt", "A minimalist snow crab logo", "--count", "2",
                                "--quiet"))
    second = assert_one_json(result := run("enqueue_variants.py", "--prompt", "A minimalist snow crab logo",
                                           "--count", "3", "--quiet"))
    assert result.code == 0, second
    assert not set(first["targets"]) & set(second["targets"])
    for doc in (first, second):
        tag = doc["request_id"].rsplit("-", 1)[1]
        assert all(Path(t).name.startswith(f"minimalist-snow-crab-logo-{tag}-") for t in doc["targets"]), doc
    named = assert_one_json(run("queue_and_return.py", "--prompt", "A fox", "--count", "2", "--request-id",
                                "chat-77", "--dry-run"))
    assert [Path(t).name for t in named["targets"]] == ["chat-77-01.png", "chat-77-02.png"]
    again = assert_one_json(run("enqueue_variants.py", "--prompt", "A fox", "--count", "2", "--request-id",
                                "chat-77", "--quiet"))
    assert [Path(t).name for t in again["targets"]] == ["chat-77-01.png", "chat-77-02.png"]
    assert Path(again["manifest"]).name == "chat-77-manifest.json"


@pytest.mark.parametrize("prompt, request_id, expected", [
    ("A minimalist snow crab logo", "req-20261206-085446-5d00e5", "minimalist-snow-crab-logo-5d00e5"),
    ("The fox", "req-20261206-085446-00aa11", "fox-00aa11"),
    ("雪の中の狐", "req-20261206-085446-00aa11", "image-00aa11"),
    ("A fox", "discord-1234", "discord-1234"),
    ("A fox", "<chat> 7", "chat-7"),
    ("A fox", "((", "request"),
])
def test_default_prefix(prompt, request_id, expected):
    from imagegen.queue.variants import default_prefix

    assert default_prefix(prompt, request_id) == expected


# -- queue_status.py per job --------------------------------------------------------------------------

def test_queue_status_shows_each_jobs_model_cost_warnings_and_image(run, fake, workdir):
    run("enqueue_variants.py", "--prompt", PROMPT, "--count", "2", "--request-id", "r-7", "--quiet",
        "--model", "nanobanana")  # a retired model: its note is a warning of the run
    waiting = assert_one_json(run("queue_status.py", "--request-id", "r-7"))
    assert all(job["model"] == "google/gemini-2.5-flash-image" and job["cost_estimate_usd"] > 0
               for job in waiting["jobs"]), waiting["jobs"]
    run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet")
    doc = assert_one_json(run("queue_status.py", "--request-id", "r-7"))
    assert_valid(doc, "queue_status.request")
    for job in doc["jobs"]:
        assert job["state"] == "results" and job["model"] == "google/gemini-2.5-flash-image"
        assert job["cost_usd"] == pytest.approx(0.04)
        assert any("discontinued" in w for w in job["warnings"])
        image = job["image"]
        assert image["width"] > 0 and image["height"] > 0 and image["format"] == "png"
        assert image["bytes"] == Path(job["paths"][0]).stat().st_size
        assert json.loads(Path(job["sidecar"]).read_text())["image"]["bytes"] == image["bytes"]


def test_queue_status_reads_a_recorded_result_as_hostile(run, fake, workdir):
    run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--request-id", "r-8", "--quiet")
    run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet")
    (path,) = (workdir / QUEUE / "results").glob("*.json")
    job = json.loads(path.read_text())
    job["result"].update(model=["x"], cost_usd=1e9, warnings=["w" * 5000, 7],
                         width=True, height=-3, path="/dev/null", sidecar=5)
    path.write_text(json.dumps(job))
    doc = assert_one_json(result := run("queue_status.py", "--request-id", "r-8"))
    assert result.code == 0, doc
    (shown,) = doc["jobs"]
    assert shown["model"] is None and shown["cost_usd"] is None and shown["sidecar"] is None
    assert [len(w) for w in shown["warnings"]] == [300]
    assert shown["image"] == {"width": None, "height": None, "format": "png", "bytes": None}


# -- a person at a terminal -----------------------------------------------------------------------

def on_a_terminal(script: str, args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """Run a script with stderr on a pseudo-terminal (a person watching) and stdout on a pipe."""
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import SCRIPTS

    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, str(SCRIPTS / script), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=follower, stdin=subprocess.DEVNULL, timeout=60, check=False)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    return done.returncode, done.stdout.decode(), b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.mark.subprocess
def test_at_a_terminal_the_run_ends_with_one_human_line(env, fake, workdir):
    code, stdout, stderr = on_a_terminal("generate.py", ["--prompt", PROMPT, "--out", "fox.png"], env, workdir)
    document = json.loads(stdout)  # stdout stays one JSON document
    assert code == 0 and document["success"]
    from imagegen.cli.summary import _size

    last = stderr.strip().splitlines()[-1].split("\x1b[K")[-1]  # after the live ticker cleared its line
    count = len(document["warnings"])
    shown = f"{document['width']}x{document['height']}, {_size((workdir / 'fox.png').stat().st_size)}"
    assert last.startswith(f"image-gen: saved fox.png ({shown}), $0.040, "), last
    assert last.endswith(f" s, {count} warning{'' if count == 1 else 's'}"), last
    code, stdout, stderr = on_a_terminal("generate.py", ["--prompt", PROMPT, "--out", "fox.png", "--quiet"], env,
                                         workdir)
    assert json.loads(stdout)["error_kind"] == "output_exists" and code == 2
    assert stderr.count("\n") == 1 and "output exists" in stderr  # a usage error's own one line, no second


def test_the_human_line_says_what_each_kind_of_run_did(tmp_path, monkeypatch):
    from imagegen.cli.summary import human_line

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.png").write_bytes(b"x" * 2500)
    saved = {"success": True, "path": str(tmp_path / "a.png"), "all_paths": [str(tmp_path / "a.png")],
             "width": 64, "height": 48, "cost_usd": 0.04, "warnings": ["w"]}
    assert human_line(saved, 1234) == "saved a.png (64x48, 2.5 KB), $0.040, 1.2 s, 1 warning"
    assert human_line({**saved, "cost_usd": None, "warnings": []}, 50).endswith("cost not reported, 0.1 s, 0 warnings")
    dry = {"success": True, "dry_run": True, "target_paths": ["data/x.png"], "cost_estimate_usd": 0.1, "warnings": []}
    assert human_line(dry, 5) == "dry run, nothing sent; would save data/x.png; about $0.100; 0 warnings"
    queued = {"success": True, "status": "queued", "job_ids": ["a", "b"], "request_id": "r", "cost_estimate_usd": 0.2}
    assert human_line(queued, 100) == "queued 2 jobs (request r), about $0.200; 0.1 s"
    failed = {"success": False, "error": "the provider timed out", "details": "retry"}
    assert human_line(failed, 0) == "failed: the provider timed out (retry)"
    assert human_line({"success": True, "counts": {}}, 0) is None


# -- progress on long waits, off a terminal -------------------------------------------------------------

FAST_PROGRESS = {"IMAGEGEN_PROGRESS_SEC": "0.1"}  # the 15 s interval, shortened for the test


@pytest.mark.subprocess  # a real process: its main thread takes the timer by SIGALRM, no thread loaded
@pytest.mark.parametrize("quiet", [False, True])
def test_a_long_wait_prints_progress_lines_off_a_terminal(run, fake, quiet):
    fake.latency = 0.6
    result = run("generate.py", "--prompt", PROMPT, *(["--quiet"] if quiet else []), env_extra=FAST_PROGRESS)
    assert result.code == 0 and json.loads(result.stdout)["success"]
    waiting = [line for line in result.stderr.splitlines() if line.startswith("image-gen: waiting for flux.2-pro … ")]
    assert (waiting == []) if quiet else waiting, result.stderr


def test_a_long_wait_in_a_thread_prints_progress_lines_too(run, fake):
    fake.latency = 0.6
    result = run("generate.py", "--prompt", PROMPT, env_extra=FAST_PROGRESS)  # main() off the main thread
    assert result.code == 0 and "image-gen: waiting for flux.2-pro … " in result.stderr


def test_queue_status_wait_and_the_worker_say_they_are_still_waiting(run, fake, workdir, env):
    import subprocess
    import sys

    from tests.conftest import SCRIPTS

    run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--request-id", "r-9", "--quiet")
    fake.latency = 0.8
    worker = subprocess.Popen([sys.executable, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", QUEUE,
                               "--idle-exit-sec", "0"], cwd=workdir, env={**env, **FAST_PROGRESS},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    waited = run("queue_status.py", "--request-id", "r-9", "--wait", "--timeout", "30", env_extra=FAST_PROGRESS)
    _, worker_stderr = worker.communicate(timeout=60)
    assert json.loads(waited.stdout)["done"] is True
    assert "image-gen: waiting for request r-9: 0 of 1 finished" in waited.stderr, waited.stderr
    assert "running: 1 job in flight, the longest for" in worker_stderr, worker_stderr
    quiet = run("queue_status.py", "--request-id", "r-9", "--wait", "--quiet", env_extra=FAST_PROGRESS)
    assert quiet.stderr == ""


# -- installed commands name themselves ------------------------------------------------------------------

def help_as(monkeypatch, invoked: str, script: str) -> str:
    import importlib

    monkeypatch.setattr("sys.argv", [invoked])
    return importlib.import_module(f"imagegen.commands.{script[:-3]}").build_parser().format_help()


def test_an_installed_commands_help_names_commands_and_documents_that_exist(monkeypatch):
    import re

    from imagegen.names import COMMANDS

    for script, command in COMMANDS.items():
        text = help_as(monkeypatch, f"/venv/bin/{command}", script)
        assert text.startswith(f"usage: {command} "), text[:200]
        stale = re.findall(r"\b(?:" + "|".join(s[:-3] for s in COMMANDS) + r")\.py\b", text)
        assert not stale, f"{command} --help names {stale}"
        examples = text.split("examples:\n", 1)[-1].split("\n\n", 1)[0] if "examples:" in text else ""
        for example in re.findall(r"^  (\S+)", examples, re.MULTILINE):
            assert example in COMMANDS.values(), (command, example)
        for document in re.findall(r"(?<!> )(?<!\S)(\S*references/[\w./-]+\.md)", text):  # not a file written
            assert Path(document).is_absolute() and Path(document).is_file(), (command, document)
    assert "image-gen-generate --prompt" in help_as(monkeypatch, "/venv/bin/image-gen-generate", "generate.py")
    assert "image-gen-mcp --workdir" in help_as(monkeypatch, "/venv/bin/image-gen-mcp", "mcp_server.py")


def test_a_scripts_help_names_scripts(monkeypatch):
    text = help_as(monkeypatch, "/checkout/scripts/generate.py", "generate.py")
    assert text.startswith("usage: generate.py ") and "  generate.py --prompt" in text and "image-gen-" not in text
    assert "references/mcp.md" in help_as(monkeypatch, "scripts/mcp_server.py", "mcp_server.py")


def test_the_command_names_are_the_ones_pyproject_installs():
    tomllib = pytest.importorskip("tomllib")
    from imagegen.names import COMMANDS
    from tests.conftest import ROOT

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    scripts = project["project"]["scripts"]
    assert {command: f"imagegen.commands.{script[:-3]}:main" for script, command in COMMANDS.items()} == scripts
    data = project["tool"]["setuptools"]["package-data"]["imagegen"]
    assert "references/*.md" in data and "references/schemas/*.json" in data


@pytest.mark.slow  # a venv, and pip builds the wheel with setuptools from the package index: 10 s or more
def test_an_installed_command_names_itself_and_ships_the_documents_it_names(tmp_path):
    import subprocess
    import sys

    from tests.test_preset_lookup import source_copy

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                                str(source_copy(tmp_path))], capture_output=True, text=True, timeout=600,
                               check=False)
    if installed.returncode != 0 and "Could not find a version" in installed.stderr:
        pytest.skip("no package index reachable for the build's setuptools")
    assert installed.returncode == 0, installed.stderr[-2000:]
    shown = subprocess.run([str(venv / "bin" / "image-gen-generate"), "--help"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60, check=False).stdout
    assert "  image-gen-generate --prompt" in shown and "generate.py" not in shown
    shown = subprocess.run([str(venv / "bin" / "image-gen-mcp"), "--help"], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60, check=False).stdout
    (document,) = [word.rstrip("),.") for word in shown.split() if word.rstrip("),.").endswith("references/mcp.md")]
    assert "site-packages" in document and Path(document).is_file()
    # run by full path with its bin directory off PATH (as under cron): hints name the command beside it
    refused = subprocess.run([str(venv / "bin" / "image-gen-generate"), "--prompt", "x", "--model", "no-such",
                              "--dry-run"], capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
                             env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert f"{venv / 'bin' / 'image-gen-models'} lists them" in json.loads(refused.stdout)["details"]


# -- a fresh machine: two commands ---------------------------------------------------------------------------

def readme_first_block() -> list[str]:
    import re

    from tests.conftest import ROOT

    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)[1]
    return [line for line in block.splitlines() if line.strip()]


def test_the_readmes_first_block_is_the_main_job_and_the_tests_and_ci_runs_it():
    from tests.conftest import ROOT

    main_job, tests = readme_first_block()
    assert main_job.startswith("python3 scripts/generate.py ") and "--dry-run" in main_job
    assert tests.split("#")[0].strip() == "python3 tests/run.py"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci and 'bash -c "$line"' in ci and "python3 -m pytest" not in ci


def test_the_main_job_of_the_readme_runs_without_a_key(run, fake):
    import shlex

    main_job = readme_first_block()[0].split(" #")[0]
    argv = shlex.split(main_job)
    doc = assert_one_json(result := run(argv[1][len("scripts/"):], *argv[2:], env_extra=NO_KEY))
    assert result.code == 0 and doc["dry_run"] is True and doc["warnings"] == [] and fake.requests == []


def load_test_runner():
    """tests/run.py, loaded as a module (it is a script, not part of the test package)."""
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location("tests_run", ROOT / "tests" / "run.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    return runner


def test_the_test_runner_reads_the_test_extras_and_finds_what_is_missing():
    import sys

    runner = load_test_runner()
    extras = runner.test_extras()
    assert any(e.startswith("pytest") for e in extras) and any(e.startswith("hypothesis") for e in extras)
    assert [runner.import_name(e) for e in ("c2pa-python>=0.38", "pytest>=7", "mcp>=2.3")] == ["c2pa", "pytest", "mcp"]
    assert runner.missing(sys.executable, ["pytest>=7", "no-such-package-here>=1"]) == ["no-such-package-here>=1"]


def test_the_test_runner_spreads_the_tests_over_the_cpus_unless_told_otherwise():
    runner = load_test_runner()
    assert any(runner.import_name(e) == "xdist" for e in runner.test_extras())
    assert runner.parallel([], 2) == ["-n", "2", "--dist", "worksteal"]
    assert runner.parallel(["-m", "slow"], 64) == ["-n", str(runner.MAX_WORKERS), "--dist", "worksteal"]
    assert runner.parallel([], 1) == []  # one CPU: one test after another, in pytest's own process
    assert runner.parallel(["-p", "no:xdist"], 4) == runner.parallel(["-pno:xdist"], 4) == []
    assert runner.parallel(["--pdb", "tests/test_docs.py"], 4) == runner.parallel(["--trace"], 4) == []
    assert runner.cpu_count() >= 1


@pytest.mark.subprocess
@pytest.mark.parametrize("quiet", [[], ["--quiet"]])
def test_at_a_terminal_a_worker_without_a_key_says_so_once(run, env, fake, workdir, quiet):
    run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--quiet", env_extra=NO_KEY)
    keyless = {k: v for k, v in env.items() if k not in NO_KEY}
    code, stdout, stderr = on_a_terminal("run_image_queue.py", ["--queue-dir", QUEUE, "--idle-exit-sec", "0",
                                                               *quiet], keyless, workdir)
    stderr = "\n".join(line for line in stderr.splitlines() if not line.startswith("[1/1] deferred"))
    assert code == 2 and json.loads(stdout)["error_kind"] == "missing_key"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "is not set" in lines[0] and "export OPENROUTER_API_KEY_IMAGES" in lines[0], lines


@pytest.mark.parametrize("provider", [None, "nope", 7, ["openrouter"]])
def test_a_job_waiting_for_a_key_names_its_provider_as_hostile_input(run, fake, workdir, provider):
    queued = assert_one_json(run("enqueue_image_job.py", "--prompt", PROMPT, "--out", "out/a.png", "--quiet"))
    (job_id,) = queued["job_ids"]
    path = workdir / QUEUE / "pending" / f"{job_id}.json"
    job = json.loads(path.read_text())
    job.update(deferred_limit="missing_key", deferred_provider=provider, not_before=4102444800)  # year 2100
    path.write_text(json.dumps(job))
    doc = assert_one_json(result := run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet"))
    assert result.code == 0 and "errors" not in doc and doc["remaining"]["pending"] == 1, doc
    assert fake.requests == []
