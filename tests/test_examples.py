"""The runnable examples in examples/ run as written, against the fake API."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SCRIPTS, ledger_entries

EXAMPLES = ROOT / "examples"


def shell(command: list[str] | str, env: dict[str, str], cwd: Path, timeout: float = 120,
          new_session: bool = False) -> subprocess.CompletedProcess:
    args = command if isinstance(command, list) else ["bash", "-c", command]
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL, start_new_session=new_session)


def test_series_with_preset_and_golden_reference(env, fake, workdir):
    done = shell(["bash", str(EXAMPLES / "series.sh")], env, workdir)
    assert done.returncode == 0, done.stdout + done.stderr
    pages = sorted((workdir / "storybook").glob("page-*.png"))
    assert [p.name for p in pages] == ["page-01.png", "page-02.png", "page-03.png", "page-04.png"]
    requests = fake.requests_for("chat")
    assert len(requests) == 4
    golden_bytes = (workdir / "storybook" / "page-01.png").read_bytes()
    for index, request in enumerate(requests):
        body = request.json
        assert body["model"] == "google/gemini-3-pro-image"
        assert body["image_config"] == {"aspect_ratio": "4:3", "image_size": "2K"}
        assert body["messages"][0]["role"] == "system" and "watercolour" in body["messages"][0]["content"]
        content = body["messages"][-1]["content"]
        if index == 0:
            assert isinstance(content, str)
        else:
            assert content[0]["text"].startswith("Use the attached reference image as the style reference")
            assert content[1]["image_url"]["url"].startswith("data:image/png;base64,")
    import base64
    sent = base64.b64decode(requests[1].json["messages"][-1]["content"][1]["image_url"]["url"].split(",", 1)[1])
    assert sent == golden_bytes  # the golden page itself went along as the reference
    lines = ledger_entries(env)
    assert len(lines) == 4 and len({line["request_id"] for line in lines}) == 1
    assert lines[0]["request_id"].startswith("storybook-")
    page = (workdir / "storybook" / "index.html").read_text()
    assert "<title>Storybook draft</title>" in page and page.count("<figure ") == 4
    assert "image-gen preflight" in done.stdout and "Ready." in done.stdout
    assert re.search(r"REQUEST ID\s+CALLS", done.stdout) and "4       4" in done.stdout


def test_jsonl_batch(env, fake, workdir):
    done = shell(["bash", str(EXAMPLES / "batch" / "run.sh"), str(EXAMPLES / "batch" / "prompts.jsonl"), "out"],
                 env, workdir)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] == 5 and summary["failed"] == 0 and summary["cost_usd"] == 0.2
    results = [json.loads(line) for line in (workdir / "out" / "results.jsonl").read_text().splitlines()]
    assert [Path(r["path"]).name for r in results] == ["hero.png", "mug.png", "icon-cloud.png", "icon-lock.png",
                                                        "poster.png"]
    models = [r.json["model"] for r in fake.requests_for("chat")]
    assert models == ["black-forest-labs/flux.2-pro"] * 4 + ["openai/gpt-5-image"]
    poster = fake.requests_for("chat")[-1].json
    assert poster["image_config"] == {"aspect_ratio": "2:3", "image_size": "1K"}
    assert '"OPEN STUDIO"' in poster["messages"][-1]["content"]
    assert {line["request_id"] for line in ledger_entries(env)} == {"batch-prompts"}
    manifest = json.loads((workdir / "out" / "manifest.json").read_text())
    assert len(manifest["outputs"]) == 5
    assert (workdir / "out" / "manifest.html").read_text().count("<figure ") == 5
    named = {summary["results"], summary["manifest"], summary["gallery"], *summary["images"], *summary["sidecars"]}
    written = {str(path) for path in (workdir / "out").iterdir()}
    assert {str((workdir / name).resolve()) for name in named} == written  # the summary names every file


def test_jsonl_batch_keeps_going_past_failures(env, fake, workdir):
    batch = workdir / "mixed.jsonl"
    batch.write_text("\n".join([
        json.dumps({"name": "cheap", "prompt": "A pebble", "model": "flux.2-klein", "size": "1K"}),
        "not json at all",
        json.dumps({"name": "dear", "prompt": "A palace", "model": "nanobanana-pro", "size": "4K"}),
        "# a comment",
        json.dumps({"prompt": "No name, auto-named", "model": "flux.2-klein", "size": "1K"}),
    ]) + "\n")
    done = shell(["bash", str(EXAMPLES / "batch" / "run.sh"), str(batch), "out"],
                 {**env, "MAX_COST": "0.05"}, workdir)
    assert done.returncode == 1
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ok"] == 2 and summary["failed"] == 2
    assert "line 2: not a JSON object with a prompt" in done.stderr
    results = [json.loads(line) for line in (workdir / "out" / "results.jsonl").read_text().splitlines()]
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["error_kind"] == "budget"
    assert len(fake.requests_for("chat")) == 2


def crontab_jobs() -> tuple[dict[str, str], list[str]]:
    variables: dict[str, str] = {}
    jobs: list[str] = []
    for line in (EXAMPLES / "crontab").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        assignment = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", stripped)
        if assignment:
            variables[assignment[1]] = assignment[2]
            continue
        fields = stripped.split(None, 5)
        assert len(fields) == 6, f"not a cron line: {line}"
        assert "%" not in fields[5].replace("\\%", ""), "a bare % is a newline to cron"
        jobs.append(fields[5].replace("\\%", "%"))
    return variables, jobs


def cron_env(env: dict[str, str], workdir: Path) -> dict[str, str]:
    variables, _ = crontab_jobs()
    home = Path(env["HOME"])
    secrets = home / ".config" / "image-gen" / "env"
    secrets.parent.mkdir(parents=True, exist_ok=True)
    exported = {k: v for k, v in env.items() if k.endswith(("_API_KEY_IMAGES", "_BASE_URL"))}
    secrets.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in exported.items()))
    base = {k: v for k, v in env.items() if k not in exported and not k.endswith("_API_KEY")}
    return {**base, **variables, "IMAGE_GEN": str(ROOT), "WORK": str(workdir)}


def test_crontab_jobs_run(env, fake, workdir):
    variables, jobs = crontab_jobs()
    assert variables["SHELL"] == "/bin/sh" and "IMAGE_GEN" in variables and "WORK" in variables
    queue_jobs = [job for job in jobs if "run_image_queue.py" in job]
    assert len(queue_jobs) == 1
    environment = cron_env(env, workdir)
    for job in jobs:
        if job in queue_jobs:
            continue
        done = shell(["/bin/sh", "-c", job], environment, workdir)
        assert done.returncode == 0, (job, done.stdout, done.stderr)
    logs = workdir / "logs"
    preflight = json.loads((logs / "preflight.json").read_text())
    assert preflight["required_failures"] == [] and any(c["kind"] == "online" and c["ok"] for c in preflight["checks"])
    weekly = [json.loads(p.read_text()) for p in logs.glob("weekly-*.json")]
    assert len(weekly) == 1 and weekly[0]["success"] and weekly[0]["request_id"].startswith("weekly-")
    assert json.loads((logs / "gallery.json").read_text())["images"] == 1
    assert json.loads(next(logs.glob("spend-*.json")).read_text())["success"] is True
    assert json.loads((logs / "models.json").read_text())["refreshed"] is True
    assert not (logs / "cron.err").read_text().strip()
    assert len(fake.requests_for("chat")) == 1 and len(fake.requests_for("key")) == 1


def test_crontab_queue_job_drains_what_was_queued(env, fake, workdir):
    _, jobs = crontab_jobs()
    (job,) = [job for job in jobs if "run_image_queue.py" in job]
    environment = cron_env(env, workdir)
    queued = shell([sys.executable, str(SCRIPTS / "enqueue_image_job.py"), "--prompt", "A quiet harbour at dawn",
                    "--out", "weekly/harbour.png", "--request-id", "cron-1"], env, workdir)
    assert queued.returncode == 0, queued.stdout + queued.stderr
    done = shell(["/bin/sh", "-c", job], environment, workdir, new_session=True)  # as cron starts its jobs
    assert done.returncode == 0, done.stdout + done.stderr
    log = (workdir / "logs" / "queue.log").read_text().splitlines()
    summary = json.loads(log[-1])
    assert summary["status"] == "drained" and summary["done"] == 1
    assert log[0].startswith("[1/1] ok harbour.png")
    (record,) = [json.loads(p.read_text()) for p in (workdir / "generated/imagegen-queue/results").glob("*.json")]
    assert record["handoff_mode"] == "cron" and record["same_turn_drain_detected"] is False
    assert (workdir / "weekly" / "harbour.png").is_file() and len(fake.requests_for("chat")) == 1
    again = shell(["/bin/sh", "-c", job], environment, workdir)  # the next minute: nothing to do
    assert again.returncode == 0 and len(fake.requests_for("chat")) == 1


def readme_cron_block() -> tuple[dict[str, str], str]:
    """The variables and the one job of the README's cron block."""
    (block,) = re.findall(r"```cron\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    lines = block.strip().splitlines()
    variables = dict(line.split("=", 1) for line in lines[:-1])
    return variables, lines[-1]


def test_one_cron_line_everywhere():
    _, line = readme_cron_block()
    assert "--log-file" in line and ">>" not in line
    for doc in (ROOT / "references" / "queue-operations.md", EXAMPLES / "crontab"):
        assert line in doc.read_text().splitlines(), doc.name


def test_no_document_tells_users_to_load_a_crontab_file():
    loading = re.compile(r"crontab\s+(?!-)[^\s`]*[/.][^\s`]*")
    for doc in [*ROOT.glob("*.md"), *(ROOT / "references").glob("*.md"), *EXAMPLES.rglob("*")]:
        if doc.is_file():
            assert not loading.search(doc.read_text()), doc.name  # "crontab FILE" replaces the user's crontab


def test_readme_cron_line_runs_as_written_on_a_fresh_folder(env, fake, tmp_path):
    variables, line = readme_cron_block()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    environment = {**cron_env(env, fresh), **variables, "IMAGE_GEN": str(ROOT), "WORK": str(fresh)}
    schedule, command = line.split(None, 5)[:5], line.split(None, 5)[5]
    assert schedule == ["*"] * 5
    done = shell(["/bin/sh", "-c", command], environment, tmp_path, new_session=True)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == "", done
    (line,) = (fresh / "logs" / "queue.log").read_text().splitlines()  # an idle minute: one short line
    assert "idle: nothing to run" in line


def transcript_blocks() -> list[str]:
    text = (EXAMPLES / "agent-transcript.md").read_text()
    return re.findall(r"```bash\n(.*?)```", text, re.DOTALL)


def test_transcript_shows_the_whole_flow():
    blocks = transcript_blocks()
    joined = "\n".join(blocks)
    assert len(blocks) == 3
    assert "queue_and_return.py" in blocks[0] and "--request-id chat-77" in blocks[0]
    assert "run_image_queue.py" not in joined  # never drained in the foreground turn
    assert "gallery.py" in blocks[2] and "spend.py" in blocks[2]


def test_agent_transcript_runs(env, fake, workdir):
    environment = {**env, "IMAGE_GEN": str(ROOT)}
    outputs = []
    for block in transcript_blocks():
        done = shell("set -euo pipefail\n" + block, environment, workdir, timeout=600)
        assert done.returncode == 0, block + done.stdout + done.stderr
        outputs.append(done.stdout)
    queued = json.loads((workdir / "queued.json").read_text())
    assert queued["worker"]["state"] == "spawned" and len(queued["job_ids"]) == 4
    assert "4 queued, about $" in outputs[0]
    status = json.loads((workdir / "status.json").read_text())
    assert status["done"] is True and status["failures"] == [] and "4 images, 0 failed" in outputs[1]
    assert [Path(p).name for p in status["attachments"]] == [f"crab-logo-0{i}.png" for i in range(1, 5)]
    assert all(Path(p).is_file() for p in status["attachments"])
    records = [json.loads(p.read_text()) for p in (workdir / "generated/imagegen-queue/results").glob("*.json")]
    assert {(r["handoff_mode"], r["same_turn_drain_detected"]) for r in records} == {("background", False)}
    page = (workdir / "generated" / "imagegen-queue" / "gallery-chat-77.html").read_text()
    assert page.count("<figure ") == 4
    assert len(ledger_entries(env)) == 4 and {line["request_id"] for line in ledger_entries(env)} == {"chat-77"}


def test_examples_reference_only_existing_presets():
    from imagegen.prompt import presets

    names = set(presets.available())
    text = "\n".join(p.read_text() for p in EXAMPLES.rglob("*") if p.is_file())
    for preset in re.findall(r'(?:--preset|"preset":)\s*"?([\w-]+)', text):
        assert preset in names, preset
