"""preflight_check.py: every check, text and JSON, fixups that work, and the exit code."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from imagegen import config, preflight

from tests.conftest import ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, TEST_KEY, assert_one_json
from tests.fake_api import Reply, error_reply


def checks_by_name(doc: dict) -> dict[str, dict]:
    return {f"{c['kind']}:{c['name']}": c for c in doc["checks"]}


def preflight_json(run, *args, **kwargs):
    result = run("preflight_check.py", "--json", *args, **kwargs)
    return result, assert_one_json(result)


def test_all_good_in_json(run, fake, workdir):
    result, doc = preflight_json(run)
    assert result.code == 0 and doc["status"] == "ok", doc
    assert doc["required_failures"] == [] and doc["fixups"] == []
    checks = checks_by_name(doc)
    for check in doc["checks"]:
        assert set(check) >= {"kind", "name", "required", "ok", "detail"}
        assert "fixup" not in check
    assert checks["runtime:python"]["required"] is True
    assert checks["key:openrouter"]["info"] == {"variable": "OPENROUTER_API_KEY_IMAGES"}
    assert "mask edits" in checks["key:openai"]["detail"] and checks["key:openai"]["required"] is False
    assert "review" in checks["key:anthropic"]["detail"]
    assert checks["base_url:openrouter"]["detail"].endswith("(from OPENROUTER_BASE_URL)")
    assert checks["directory:output"]["info"]["path"] == str(workdir / "data")
    assert "created on first use" in checks["directory:output"]["detail"]
    assert {"preset:default", "preset:illustrated-series"} <= set(checks)
    assert "queue:worker_slots" in checks and checks["queue:stranded_jobs"]["ok"]
    assert not (workdir / "data").exists() and not (workdir / "generated").exists()  # nothing created
    assert fake.requests == []  # nothing sent without --online
    for secret in (TEST_KEY, OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY):
        assert secret not in result.stdout + result.stderr


def test_text_mode_reads_well_without_colour(run):
    result = run("preflight_check.py")
    assert result.code == 0
    assert result.stdout.startswith("image-gen preflight\n") and "\033[" not in result.stdout
    assert "✓ runtime python" in result.stdout and "Ready." in result.stdout
    assert "✗" not in result.stdout


def test_missing_key_fails_with_a_fixup(run, base_env):
    result = run("preflight_check.py", env_extra={"OPENROUTER_API_KEY_IMAGES": None, "OPENAI_API_KEY": None})
    assert result.code == 1
    assert "✗ key openrouter" in result.stdout and "Not ready: 1 required check(s) failed: key:openrouter" in result.stdout
    assert "Fixups (copy and paste):\n  export OPENROUTER_API_KEY_IMAGES=sk-or-..." in result.stdout
    assert "(optional)" in result.stdout
    _, doc = preflight_json(run, env_extra={"OPENROUTER_API_KEY_IMAGES": None, "OPENAI_API_KEY": None})
    assert doc["status"] == "fail" and doc["success"] is False
    assert doc["required_failures"] == ["key:openrouter"]
    assert doc["fixups"][0].startswith("export OPENROUTER_API_KEY_IMAGES=")
    assert any(f.startswith("export OPENAI_API_KEY=") for f in doc["fixups"])


def test_fallback_key_variable_is_named_not_shown(run):
    result, doc = preflight_json(run, env_extra={"OPENROUTER_API_KEY_IMAGES": None, "OPENROUTER_API_KEY": TEST_KEY})
    assert result.code == 0
    check = checks_by_name(doc)["key:openrouter"]
    assert "OPENROUTER_API_KEY is set" in check["detail"] and TEST_KEY not in result.stdout


def test_optional_keys_missing_is_a_warning(run):
    result, doc = preflight_json(run, env_extra={"ANTHROPIC_API_KEY": None})
    assert result.code == 0 and doc["status"] == "warn" and doc["required_failures"] == []
    assert doc["fixups"] == ["export ANTHROPIC_API_KEY=sk-ant-...   # from https://console.anthropic.com/settings/keys"]


@pytest.mark.parametrize("variable, required", [("OPENROUTER_BASE_URL", True), ("OPENAI_BASE_URL", False)])
def test_malformed_base_url(run, variable, required):
    result, doc = preflight_json(run, env_extra={variable: "ftp//nowhere"})
    provider = variable.split("_")[0].lower()
    check = checks_by_name(doc)[f"base_url:{provider}"]
    assert check["ok"] is False and check["required"] is required
    assert check["fixup"].startswith(f"unset {variable}")
    assert result.code == (1 if required else 0)


def test_output_dir_that_is_a_file_gets_a_fixup_with_the_real_path(run, workdir):
    target = workdir / "renders"
    target.write_text("oops")
    result, doc = preflight_json(run, "--output-dir", "renders")
    check = checks_by_name(doc)["directory:output"]
    assert result.code == 1 and check["ok"] is False and "not a directory" in check["detail"]
    assert check["fixup"] == f"mv {target} {target}.bak && mkdir -p {target}"
    subprocess.run(check["fixup"], shell=True, check=True, cwd=workdir)
    result, doc = preflight_json(run, "--output-dir", "renders")
    assert result.code == 0 and checks_by_name(doc)["directory:output"]["ok"]


def test_fix_creates_directories(run, workdir):
    result, doc = preflight_json(run, "--fix", "--output-dir", "out/images", "--queue-dir", "q")
    assert result.code == 0
    assert (workdir / "out/images").is_dir()
    assert sorted(p.name for p in (workdir / "q").iterdir()) == ["failed", "pending", "results", "running", "workers"]
    assert checks_by_name(doc)["directory:queue"]["detail"] == f"{workdir / 'q'} is writable (job queue)"


def test_broken_preset_is_reported_with_its_path(run, workdir):
    (workdir / "presets").mkdir()
    (workdir / "presets" / "broken.json").write_text('{"style": {"color_palette": ["red"]}}')
    (workdir / "presets" / "lost-ref.json").write_text('{"style": {"reference_images": ["gone.png"]}}')
    result, doc = preflight_json(run)
    checks = checks_by_name(doc)
    assert result.code == 0 and doc["status"] == "warn"
    assert "color_palette[0]" in checks["preset:broken"]["detail"]
    assert checks["preset:broken"]["fixup"] == f"${{EDITOR:-vi}} {(workdir / 'presets' / 'broken.json').resolve()}   # fix the field named above"
    assert "reference image missing" in checks["preset:lost-ref"]["detail"]
    assert checks["preset:default"]["ok"]


def test_daily_budget_status(run, env):
    _, doc = preflight_json(run, env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "3"})
    assert checks_by_name(doc)["spending:daily_budget"]["detail"] == "spent $0.0000 of $3 today, $3.0000 left"
    result, doc = preflight_json(run, env_extra={"IMAGEGEN_DAILY_BUDGET_USD": "plenty"})
    assert result.code == 1 and "spending:daily_budget" in doc["required_failures"]


def test_stale_catalogue_suggests_refresh(run, env):
    path = Path(env["XDG_CACHE_HOME"]) / "image-gen" / "models.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"fetched_at_epoch": time.time() - 30 * 86400, "models": []}))
    _, doc = preflight_json(run)
    check = checks_by_name(doc)["models:catalogue"]
    assert check["ok"] is False and "30d" in check["detail"]
    assert check["fixup"].startswith("python3 ") and check["fixup"].endswith("models.py --refresh")
    assert Path(check["fixup"].split()[1]).is_file()


# -- the queue ---------------------------------------------------------------------------------

def make_queue(root: Path) -> Path:
    for sub in ("pending", "running", "results", "failed", "workers"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_worker_slots_and_stranded_jobs(run, workdir):
    queue = make_queue(workdir / "generated" / "imagegen-queue")
    (queue / "workers" / "slot-1.lock").write_text("")
    (queue / "workers" / "slot-2.lock").write_text("")
    (queue / "pending" / "job-a.json").write_text(json.dumps({"job_id": "job-a"}))
    (queue / "running" / "job-b.json").write_text(json.dumps({"job_id": "job-b", "worker_pid": dead_pid()}))
    with open(queue / "workers" / "slot-1.lock") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        result, doc = preflight_json(run)
    checks = checks_by_name(doc)
    slots = checks["queue:worker_slots"]
    assert slots["info"] == {"slots": 2, "busy": 1, "pending": 1, "running": 1, "results": 0, "failed": 0}
    assert "1 busy (slot-1), 1 free" in slots["detail"]
    stranded = checks["queue:stranded_jobs"]
    assert result.code == 0 and stranded["ok"] is False and stranded["info"] == {"jobs": ["job-b"]}
    assert "worker (pid" in stranded["detail"]
    subprocess.run(stranded["fixup"], shell=True, check=True, cwd=workdir)
    assert (queue / "pending" / "job-b.json").exists() and not (queue / "running" / "job-b.json").exists()


def test_running_job_without_any_worker_is_stranded(run, workdir):
    queue = make_queue(workdir / "q")
    (queue / "running" / "job-c.json").write_text(json.dumps({"job_id": "job-c"}))
    _, doc = preflight_json(run, "--queue-dir", "q")
    check = checks_by_name(doc)["queue:stranded_jobs"]
    assert "no worker holds a slot" in check["detail"]
    assert f"mv {queue / 'running' / 'job-c.json'} {queue / 'pending' / 'job-c.json'}" in check["fixup"]


def test_old_running_job_with_a_busy_worker_is_stranded(run, workdir):
    queue = make_queue(workdir / "q")
    (queue / "workers" / "slot-1.lock").write_text("")
    job = queue / "running" / "job-d.json"
    job.write_text("{}")
    os.utime(job, (time.time() - 4000, time.time() - 4000))
    with open(queue / "workers" / "slot-1.lock") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        _, fresh = preflight_json(run, "--queue-dir", "q", "--orphan-after", "5000")
        _, old = preflight_json(run, "--queue-dir", "q")
    assert checks_by_name(fresh)["queue:stranded_jobs"]["ok"] is True
    assert "longer than 1800s" in checks_by_name(old)["queue:stranded_jobs"]["detail"]


# -- online ------------------------------------------------------------------------------------

def test_online_reports_credit(run, fake):
    result, doc = preflight_json(run, "--online")
    (request,) = fake.requests_for("key")
    assert request.headers["authorization"] == f"Bearer {TEST_KEY}"
    check = checks_by_name(doc)["online:openrouter_key"]
    assert result.code == 0 and check["ok"] and check["required"]
    assert check["detail"] == "key works, limit $10.00, remaining $7.50, used $2.50 (today $0.50)"
    assert check["info"]["limit_remaining"] == 7.5


@pytest.mark.parametrize("reply, fragment", [
    (error_reply(401, "User not found"), "openrouter.ai/settings/keys"),
    (Reply(json={"data": {"limit": 5, "limit_remaining": 0, "usage": 5}}), "settings/credits"),
    (Reply(json={"nope": 1}), "OPENROUTER_BASE_URL"),
])
def test_online_failures(run, fake, reply, fragment):
    fake.enqueue("key", reply)
    result, doc = preflight_json(run, "--online")
    check = checks_by_name(doc)["online:openrouter_key"]
    assert result.code == 1 and check["ok"] is False and fragment in check["fixup"]
    assert doc["required_failures"] == ["online:openrouter_key"]


def test_usage_errors_are_json_even_in_text_mode(run):
    result = run("preflight_check.py", "--orphan-after", "soon")
    doc = assert_one_json(result)
    assert result.code == 2 and doc["error_kind"] == "usage"


# -- in-process --------------------------------------------------------------------------------

def test_colour_only_on_a_tty_without_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert config.colour_wanted(True) is True
    assert config.colour_wanted(False) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert config.colour_wanted(True) is False
    document = preflight.report([preflight.Check("key", "openrouter", True, False, "missing", "export X=1"),
                                 preflight.Check("runtime", "python", True, True, "3.11")])
    coloured = preflight.render_text(document, colour=True)
    plain = preflight.render_text(document, colour=False)
    assert "\033[31m✗\033[0m" in coloured and "\033[32m✓\033[0m" in coloured
    assert "\033[" not in plain and "✗ key openrouter" in plain


def test_script_command_is_relative_below_cwd(monkeypatch, tmp_path):
    monkeypatch.chdir(config.project_root())
    assert preflight.script_command("models.py", "--refresh") == "python3 scripts/models.py --refresh"
    monkeypatch.chdir(tmp_path)
    assert preflight.script_command("x.py", "a b") == f"python3 {config.project_root() / 'scripts' / 'x.py'} 'a b'"


def test_every_script_has_a_console_entry_point():
    import importlib
    import re

    text = (config.project_root() / "pyproject.toml").read_text()
    entries = dict(re.findall(r'^(image-gen-[\w-]+) = "([\w.]+):main"$', text, re.MULTILINE))
    modules = set(entries.values())
    for module in modules:
        assert callable(importlib.import_module(module).main)
    for script in ("preflight_check.py", "models.py", "spend.py", "gallery.py", "generate.py"):
        assert f"imagegen.commands.{script[:-3]}" in modules
        command = "image-gen-" + script[:-3].replace("_check", "").replace("_", "-")
        assert entries[command] == f"imagegen.commands.{script[:-3]}"
