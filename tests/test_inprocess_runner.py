"""The in-process runner behaves like a process: same main(), same output, its own environment.

Most tests call a script's main() in this process (conftest's ``run``) for speed; these checks keep
that honest: every shim calls exactly the main() the runner calls, both runners print the same
document for the same command line, and an in-process run sees only its own environment, folder,
argv and streams, reports what would crash a process as a crash, and leaves nothing changed behind.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time

import pytest

from tests.conftest import SCRIPTS, assert_one_json, command_module

SAME_EITHER_WAY = [
    ("generate.py", "--prompt", "A red fox in snow", "--dry-run"),
    ("generate.py", "--prompt", "x", "--size", "9K"),
    ("models.py", "--alias", "nanobanana"),
    ("preflight_check.py", "--json"),
    ("preflight_check.py",),
    ("spend.py", "--since", "someday"),
    ("review.py", "--help"),
    ("queue_status.py", "--version"),
]


def without_timings(text: str) -> str:
    """``text`` without what differs between two runs a moment apart: durations and file-name stamps."""
    text = re.sub(r'"(\w+_ms)": \d+', r'"\1": 0', text)
    return re.sub(r"\d{8}-\d{6}-", "YYYYmmdd-HHMMSS-", text)


@pytest.mark.parametrize("shim", sorted(SCRIPTS.glob("*.py")), ids=lambda path: path.name)
def test_every_shim_runs_the_main_the_runner_calls(shim):
    module = command_module(shim.name)
    assert module.__name__ == f"imagegen.commands.{shim.stem}"
    code = [line for line in shim.read_text().splitlines() if line and not line.startswith(("#", '"""'))]
    assert f"from imagegen.commands.{shim.stem} import main  # noqa: E402" in code
    assert code[-2:] == ['if __name__ == "__main__":', "    raise SystemExit(main())"]
    assert callable(module.main)


@pytest.mark.parametrize("command", SAME_EITHER_WAY, ids=" ".join)
def test_both_runners_print_the_same(run, run_subprocess, fake, command):
    here, there = run(*command), run_subprocess(*command)
    assert (here.code, without_timings(here.stdout), here.stderr) == (
        there.code, without_timings(there.stdout), there.stderr)
    assert fake.requests == []


def test_a_run_sees_only_its_own_environment_folder_and_argv(run, workdir, monkeypatch):
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-outside-KEYMARKER-0000")  # the test process's, not the run's
    seen = {}

    def main(argv):
        seen.update(environ=dict(os.environ), cwd=os.getcwd(), argv=list(sys.argv), given=argv)
        return 0

    monkeypatch.setattr(command_module("spend.py"), "main", main)
    before = (dict(os.environ), os.getcwd(), list(sys.argv), sys.stdout, sys.stderr, sys.stdin)
    assert run("spend.py", "--table", env_extra={"EXTRA": "1", "NO_COLOR": None}).code == 0
    assert "OPENROUTER_API_KEY" not in seen["environ"] and seen["environ"]["EXTRA"] == "1"
    assert "NO_COLOR" not in seen["environ"] and seen["environ"]["HOME"] != os.environ.get("HOME")
    assert seen["cwd"] == str(workdir)
    assert seen["argv"] == [str(SCRIPTS / "spend.py"), "--table"] and seen["given"] == ["--table"]
    assert (dict(os.environ), os.getcwd(), list(sys.argv), sys.stdout, sys.stderr, sys.stdin) == before


def test_stdout_and_stderr_are_the_runs_own(run, monkeypatch):
    def main(argv):
        print('{"success": true}')
        print("a note\r\n", file=sys.stderr, end="")
        assert not sys.stdout.isatty() and sys.stdin.read() == ""
        return 0

    monkeypatch.setattr(command_module("spend.py"), "main", main)
    result = run("spend.py")
    assert (result.code, result.stdout, result.stderr) == (0, '{"success": true}\n', "a note\n")
    assert_one_json(result)


@pytest.mark.parametrize("returns, code", [(None, 0), (3, 3), (256 + 4, 4), (True, 1)])
def test_the_exit_status_is_what_the_shim_would_exit_with(run, monkeypatch, returns, code):
    monkeypatch.setattr(command_module("spend.py"), "main", lambda argv: returns)
    assert run("spend.py").code == code


def test_an_uncaught_exception_is_a_traceback_and_exit_1(run, monkeypatch):
    def main(argv):
        raise ValueError("boom")

    monkeypatch.setattr(command_module("spend.py"), "main", main)
    result = run("spend.py")
    assert result.code == 1 and "Traceback" in result.stderr and "ValueError: boom" in result.stderr
    with pytest.raises(AssertionError):
        assert_one_json(result)


def test_system_exit_and_a_dying_thread_show_as_they_would_in_a_process(run, monkeypatch):
    def main(argv):
        thread = threading.Thread(target=lambda: 1 / 0)
        thread.start()
        thread.join()
        raise SystemExit("fatal: stopped")

    monkeypatch.setattr(command_module("spend.py"), "main", main)
    result = run("spend.py")
    assert result.code == 1 and "fatal: stopped" in result.stderr
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr


def test_a_run_that_hangs_fails_the_test_and_names_where(run, monkeypatch):
    release = threading.Event()

    def main(argv):
        release.wait(30)
        return 0

    monkeypatch.setattr(command_module("spend.py"), "main", main)
    started = time.monotonic()
    try:
        with pytest.raises(pytest.fail.Exception, match=r"still running after 0.2s(.|\n)*release.wait"):
            run("spend.py", timeout=0.2)
    finally:
        release.set()
    assert time.monotonic() - started < 5


def test_the_json_contract_check_sees_in_process_output(run, fake):
    doc = assert_one_json(result := run("generate.py", "--prompt", "A red fox in snow", "--model", "nanobanana"))
    assert result.code == 0 and doc["path"] and len(fake.requests_for("chat")) == 1
    assert json.loads(result.stdout) == doc
