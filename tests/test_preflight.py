"""preflight_check.py: every check, text and JSON, fixups that work, and the exit code."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from imagegen import config, preflight
from tests.conftest import ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, SCRIPTS, TEST_KEY, assert_one_json
from tests.fake_api import Reply, error_reply

GEMINI_TEST_KEY = "gm-test-KEYMARKER-3c4d"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """The conftest environment with a Gemini key as well: every provider's key is set."""
    return {**env, "GEMINI_API_KEY": GEMINI_TEST_KEY}


def checks_by_name(doc: dict) -> dict[str, dict]:
    return {f"{c['kind']}:{c['name']}": c for c in doc["checks"]}


def preflight_json(run, *args, **kwargs):
    result = run("preflight_check.py", "--json", *args, **kwargs)
    return result, assert_one_json(result)


@pytest.mark.subprocess  # as an agent sees it: a real process, its stdout and exit status
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
    assert "--provider google" in checks["key:google"]["detail"] and checks["key:google"]["required"] is False
    assert checks["key:google"]["info"] == {"variable": "GEMINI_API_KEY"}
    assert checks["base_url:openrouter"]["detail"].endswith("(from OPENROUTER_BASE_URL)")
    assert checks["directory:output"]["info"]["path"] == str(workdir / "data")
    assert "created on first use" in checks["directory:output"]["detail"]
    assert {"preset:default", "preset:illustrated-series"} <= set(checks)
    assert "queue:worker_slots" in checks and checks["queue:stranded_jobs"]["ok"]
    assert not (workdir / "data").exists() and not (workdir / "generated").exists()  # nothing created
    assert fake.requests == []  # nothing sent without --online
    for secret in (TEST_KEY, OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY, GEMINI_TEST_KEY):
        assert secret not in result.stdout + result.stderr


@pytest.mark.subprocess
def test_text_mode_reads_well_without_colour(run):
    result = run("preflight_check.py")
    assert result.code == 0
    assert result.stdout.startswith("image-gen preflight\n") and "\033[" not in result.stdout
    assert "✓ runtime python" in result.stdout and "Ready." in result.stdout
    assert "✗" not in result.stdout


@pytest.mark.subprocess
def test_missing_key_fails_with_a_fixup(run, base_env):
    result = run("preflight_check.py", env_extra={"OPENROUTER_API_KEY_IMAGES": None, "OPENAI_API_KEY": None})
    assert result.code == 1
    assert "✗ key openrouter" in result.stdout
    assert "Not ready: 1 required check(s) failed: key:openrouter" in result.stdout
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


# -- the keys a configured provider needs ------------------------------------------------------

def test_missing_gemini_key_is_a_warning_naming_both_variables(run):
    result, doc = preflight_json(run, env_extra={"GEMINI_API_KEY": None})
    check = checks_by_name(doc)["key:google"]
    assert result.code == 0 and doc["status"] == "warn" and doc["required_failures"] == []
    assert check["ok"] is False and check["required"] is False
    assert check["detail"] == ("neither GEMINI_API_KEY nor GOOGLE_API_KEY is set: Gemini models from Google "
                               "directly (--provider google) unavailable")
    assert doc["fixups"] == ["export GEMINI_API_KEY=...   # from https://aistudio.google.com/apikey"]


def test_google_api_key_counts_as_the_gemini_key(run):
    result, doc = preflight_json(run, env_extra={"GEMINI_API_KEY": None, "GOOGLE_API_KEY": GEMINI_TEST_KEY})
    check = checks_by_name(doc)["key:google"]
    assert result.code == 0 and check["ok"] and check["info"] == {"variable": "GOOGLE_API_KEY"}
    assert GEMINI_TEST_KEY not in result.stdout


@pytest.mark.parametrize("model, provider, variable", [
    ("gemini-3-pro-image-preview", "google", "GEMINI_API_KEY"),
    ("gpt-image-2", "openai", "OPENAI_API_KEY"),
])
def test_a_default_model_of_a_direct_provider_requires_its_key(run, model, provider, variable):
    result, doc = preflight_json(run, env_extra={"IMAGEGEN_MODEL": model, variable: None})
    check = checks_by_name(doc)[f"key:{provider}"]
    assert result.code == 1 and doc["status"] == "fail"
    assert doc["required_failures"] == [f"key:{provider}"]
    assert check["ok"] is False and check["required"] is True
    assert f"IMAGEGEN_MODEL={model} is a model of " in check["detail"]
    assert check["fixup"].startswith(f"export {variable}=") and doc["fixups"][0] == check["fixup"]
    result, doc = preflight_json(run, env_extra={"IMAGEGEN_MODEL": model})
    check = checks_by_name(doc)[f"key:{provider}"]
    assert result.code == 0 and doc["status"] == "ok"
    assert check["ok"] is True and check["required"] is True and f"IMAGEGEN_MODEL={model}" in check["detail"]


def test_a_gemini_only_user_is_ready_without_an_openrouter_key(run):
    keys = {"OPENROUTER_API_KEY_IMAGES": None, "OPENROUTER_API_KEY": None}
    result, doc = preflight_json(run, env_extra={**keys, "IMAGEGEN_MODEL": "gemini-3.1-flash-image-preview"})
    check = checks_by_name(doc)["key:openrouter"]
    assert result.code == 0 and doc["required_failures"] == []
    assert check["ok"] is False and check["required"] is False and "generation works" in check["detail"]
    result, doc = preflight_json(run, env_extra=keys)  # the default model is OpenRouter's: not ready
    assert result.code == 1 and doc["required_failures"] == ["key:openrouter"]


def test_a_default_model_through_openrouter_leaves_the_direct_keys_optional(run):
    result, doc = preflight_json(run, env_extra={"IMAGEGEN_MODEL": "nanobanana-2", "GEMINI_API_KEY": None,
                                                 "OPENAI_API_KEY": None})
    checks = checks_by_name(doc)
    assert result.code == 0 and doc["required_failures"] == []
    assert checks["key:google"]["required"] is False and checks["key:openai"]["required"] is False


def test_a_malformed_gemini_base_url_is_required_only_for_a_gemini_default(run):
    result, doc = preflight_json(run, env_extra={"GEMINI_BASE_URL": "ftp//nowhere"})
    check = checks_by_name(doc)["base_url:google"]
    assert result.code == 0 and check["ok"] is False and check["required"] is False
    assert check["fixup"].startswith("unset GEMINI_BASE_URL")
    result, doc = preflight_json(run, env_extra={"GEMINI_BASE_URL": "ftp//nowhere",
                                                 "IMAGEGEN_MODEL": "gemini-3.1-flash-image-preview"})
    assert result.code == 1 and doc["required_failures"] == ["base_url:google"]


def test_a_direct_default_model_is_not_looked_for_in_openrouters_catalogue(run, env):
    path = Path(env["XDG_CACHE_HOME"]) / "image-gen" / "models.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"fetched_at_epoch": time.time(), "models": []}))
    result, doc = preflight_json(run, env_extra={"IMAGEGEN_MODEL": "gemini-3-pro-image-preview"})
    assert result.code == 0 and "models:IMAGEGEN_MODEL" not in checks_by_name(doc), doc["checks"]
    _, doc = preflight_json(run, env_extra={"IMAGEGEN_MODEL": "flux.2-pro"})
    assert "not in the live catalogue" in checks_by_name(doc)["models:IMAGEGEN_MODEL"]["detail"]


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
    assert sorted(p.name for p in (workdir / "q").iterdir()) == ["batches", "failed", "index", "logs", "pending",
                                                                 "results", "running", "submitted", "workers"]
    assert checks_by_name(doc)["directory:queue"]["detail"] == f"{workdir / 'q'} is writable (job queue)"


def test_broken_preset_is_reported_with_its_path(run, workdir):
    (workdir / "presets").mkdir()
    (workdir / "presets" / "broken.json").write_text('{"style": {"color_palette": ["red"]}}')
    (workdir / "presets" / "lost-ref.json").write_text('{"style": {"reference_images": ["gone.png"]}}')
    result, doc = preflight_json(run)
    checks = checks_by_name(doc)
    assert result.code == 0 and doc["status"] == "warn"
    assert "color_palette[0]" in checks["preset:broken"]["detail"]
    broken = (workdir / "presets" / "broken.json").resolve()
    assert checks["preset:broken"]["fixup"] == f"${{EDITOR:-vi}} {broken}   # fix the field named above"
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

QUEUE = "generated/imagegen-queue"


def killed_worker_queue(run, env, workdir, fake) -> Path:
    """Two jobs left in running/ with leases by a worker killed mid-call (the real layout)."""
    fake.latency = 60.0  # both calls stay out until the kill, however slowly a loaded machine starts them
    for index in range(2):
        assert run("enqueue_image_job.py", "--prompt", f"A lighthouse number {index}", "--output-file",
                   f"out/{index}.png", "--request-id", "crash").code == 0
    worker = subprocess.Popen([sys.executable, str(SCRIPTS / "run_image_queue.py"), "--queue-dir", QUEUE,
                               "--concurrency", "2", "--quiet"], cwd=workdir, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    queue = workdir / QUEUE
    deadline = time.monotonic() + 60
    while (len(fake.requests_for("chat")) < 2 or len(list((queue / "running").glob("*.lease"))) < 2) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    fake.latency = 0.0
    assert len(list((queue / "running").glob("*.lease"))) == 2
    return queue


def queue_tree(queue: Path) -> list[str]:
    return sorted(str(p.relative_to(queue)) for p in queue.rglob("*"))


def test_killed_worker_strands_its_jobs_and_fix_recovers_them(run, env, fake, workdir):
    queue = killed_worker_queue(run, env, workdir, fake)
    before = queue_tree(queue)
    result, doc = preflight_json(run)
    assert queue_tree(queue) == before  # without --fix nothing changes, not even the dead worker's lock file
    checks = checks_by_name(doc)
    slots = checks["queue:worker_slots"]
    assert slots["info"] == {"slots": 2, "busy": 0, "pending": 0, "running": 2, "submitted": 0, "results": 0,
                             "failed": 0}
    assert slots["detail"] == "0 of 2 worker slots busy; 0 pending, 2 running"
    stranded = checks["queue:stranded_jobs"]
    assert result.code == 0 and stranded["ok"] is False
    assert stranded["info"] == {"jobs": ["crash--0000", "crash--0001"]}
    assert "is gone" in stranded["detail"]
    assert stranded["fixup"].endswith(f"preflight_check.py --fix --queue-dir {queue}")
    fixed = subprocess.run(stranded["fixup"] + " --json", shell=True, cwd=workdir, env=env, capture_output=True,
                           text=True, check=True)
    check = checks_by_name(json.loads(fixed.stdout))["queue:stranded_jobs"]
    assert check["ok"] is True and "--fix recovered 2 stranded job(s)" in check["detail"]
    assert {a["action"] for a in check["info"]["recovered"]} == {"requeued"}
    assert sorted(p.name for p in (queue / "pending").glob("*.json")) == ["crash--0000.json", "crash--0001.json"]
    assert not list((queue / "running").iterdir())
    jobs = [json.loads(p.read_text()) for p in (queue / "pending").glob("*.json")]
    assert all(job["attempts"] == 1 and job["history"][-1]["charge_unknown"] for job in jobs)
    _, again = preflight_json(run)
    assert checks_by_name(again)["queue:stranded_jobs"]["ok"] is True
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0.05"))
    assert summary["done"] == 2 and summary["recovered"] == []


def test_running_job_without_a_lease_is_stranded_only_past_the_timeout(run, workdir):
    from imagegen.queue import store
    from imagegen.queue.layout import QueueDirs

    dirs = QueueDirs.at(workdir / "q").ensure()
    store.write_json_atomic(dirs.job_path("running", "r--0000"), {"job_id": "r--0000", "args": {"prompt": "x"}})
    time.sleep(0.4)
    _, default = preflight_json(run, "--queue-dir", "q")
    assert checks_by_name(default)["queue:stranded_jobs"]["ok"] is True
    _, short = preflight_json(run, "--queue-dir", "q", "--orphan-timeout-sec", "0.3")
    check = checks_by_name(short)["queue:stranded_jobs"]
    assert check["ok"] is False and "r--0000: running without a lease" in check["detail"]
    assert check["fixup"].endswith("--orphan-timeout-sec 0.3")


def test_a_job_held_by_a_live_worker_is_never_stranded(run, workdir):
    from imagegen.queue import leases, store
    from imagegen.queue.layout import QueueDirs

    dirs = QueueDirs.at(workdir / "q").ensure()
    store.enqueue(dirs, {"request_id": "live", "args": {"prompt": "x"}}, 0)
    slot = leases.acquire_slot(dirs, 2)
    worker = leases.Worker(dirs)  # this test process is the live worker
    try:
        assert leases.claim(dirs, "live--0000", worker) is not None
        old = time.time() - 99999
        os.utime(dirs.lease_path("live--0000"), (old, old))
        _, doc = preflight_json(run, "--queue-dir", "q", "--orphan-timeout-sec", "1")
    finally:
        worker.close()
        slot.release()
    checks = checks_by_name(doc)
    assert checks["queue:stranded_jobs"]["ok"] is True
    assert checks["queue:worker_slots"]["detail"] == "1 of 2 worker slots busy (slot-0); 0 pending, 1 running"


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
    result = run("preflight_check.py", "--orphan-timeout-sec", "soon")
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
    assert preflight.script_command("models.py", "a b") == \
        f"python3 {config.project_root() / 'scripts' / 'models.py'} 'a b'"


def test_an_installed_command_names_its_neighbour_when_its_bin_dir_is_not_on_path(monkeypatch, tmp_path):
    """An installed package has no scripts/; run by full path (as cron does), its hints name the console
    command beside it, never a scripts/ path that does not exist."""
    install = tmp_path / "site" / "imagegen"
    install.mkdir(parents=True)
    monkeypatch.setattr(config, "project_root", lambda: install.parent)
    bin_dir = tmp_path / "venv bin"
    bin_dir.mkdir()
    (bin_dir / "image-gen-queue-status").write_text("#!/bin/sh\n")
    monkeypatch.setattr(sys, "argv", [str(bin_dir / "image-gen-generate"), "--prompt", "x"])
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert config.script_command("queue_status.py", "--request-id", "r1") == \
        f"'{bin_dir}/image-gen-queue-status' --request-id r1"
    assert config.script_command("models.py") == "image-gen-models"  # not beside it either: by name
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "image-gen-queue-status").write_text("#!/bin/sh\n")
    (tmp_path / "empty" / "image-gen-queue-status").chmod(0o755)
    assert config.script_command("queue_status.py") == "image-gen-queue-status"  # on PATH: by name


def test_the_unknown_model_hint_names_the_models_command_as_it_can_be_run(monkeypatch, tmp_path):
    from imagegen.errors import UsageError
    from imagegen.models.registry import resolve

    monkeypatch.setattr(config, "project_root", lambda: tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError) as caught:
        resolve("no-such-model", None)
    assert "image-gen-models lists them" in caught.value.details


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
