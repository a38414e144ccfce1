"""Shared fixtures: the loopback fake API, and running scripts the way an agent does.

``run`` calls a script's ``imagegen.commands.<name>.main`` in this process, with the run's own
environment, working directory, argv and standard streams. Tests marked ``@pytest.mark.subprocess``
(and ``run_subprocess``) start the script in a fresh interpreter instead, for what only a real
process shows: the exit status, the umask, signals, detached workers, what the interpreter itself
prints. Both return the same :class:`Run`.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
import threading
import traceback
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(ROOT))

from tests.fake_api import (  # noqa: E402  (the keys the fake accepts)
    ANTHROPIC_TEST_KEY,
    GEMINI_TEST_KEY,
    OPENAI_TEST_KEY,
    OPENROUTER_TEST_KEY,
    FakeAPI,
    make_png,
)

TEST_KEY = OPENROUTER_TEST_KEY
__all__ = ["ANTHROPIC_TEST_KEY", "GEMINI_TEST_KEY", "OPENAI_TEST_KEY", "TEST_KEY"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)


@pytest.fixture
def fake():
    with FakeAPI() as server:
        yield server


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no real keys, user directories inside tmp, fast back-off."""
    home = tmp_path / "home"
    home.mkdir()
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "SYSTEMROOT")}
    return {
        **keep,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "IMAGEGEN_RETRY_BASE_SEC": "0.01",
        "NO_COLOR": "1",
    }


@pytest.fixture
def env(base_env: dict[str, str], fake: FakeAPI) -> dict[str, str]:
    """base_env pointed at the fake, with marker keys for all three providers."""
    return {
        **base_env,
        **fake.env(),
        "OPENROUTER_API_KEY_IMAGES": TEST_KEY,
        "OPENAI_API_KEY": OPENAI_TEST_KEY,
        "ANTHROPIC_API_KEY": ANTHROPIC_TEST_KEY,
    }


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def in_photo(workdir: Path) -> Path:
    """A 32x32 PNG at ./in/photo.png, the input every per-route command table uses."""
    path = workdir / "in" / "photo.png"
    path.parent.mkdir()
    path.write_bytes(make_png(32, 32))
    return path


Runner = Callable[..., Run]


def run_env(env: dict[str, str], env_extra: dict[str, str | None] | None) -> dict[str, str]:
    """``env`` with ``env_extra`` applied; a None value removes the variable."""
    merged = {**env, **(env_extra or {})}
    return {k: v for k, v in merged.items() if v is not None}


def command_module(script: str):
    """The module whose main() scripts/<script> calls: generate.py -> imagegen.commands.generate."""
    return importlib.import_module("imagegen.commands." + Path(script).stem)


def exit_status(value: object, stderr: io.TextIOWrapper) -> int:
    """The status ``raise SystemExit(value)`` gives a process (the shims do exactly that)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=stderr)
    return 1


def in_process(script: str, args: tuple[str, ...], env: dict[str, str], cwd: Path, timeout: float) -> Run:
    """Run one script's main() here as its own process would: its environment, folder, argv and streams,
    uncaught exceptions (its own or its threads') as tracebacks on stderr, and everything restored after."""
    main = command_module(script).main
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    outcome: dict[str, int] = {}

    def call_main() -> None:
        try:
            outcome["code"] = exit_status(main(list(args)), stderr)
        except SystemExit as stop:
            outcome["code"] = exit_status(stop.code, stderr)
        except BaseException:  # a process would print it and exit 1
            traceback.print_exc(file=stderr)
            outcome["code"] = 1

    with pytest.MonkeyPatch.context() as patch:
        for name in set(os.environ) - set(env):
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        patch.chdir(cwd)
        patch.setattr(sys, "argv", [str(SCRIPTS / script), *args])
        patch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8"))
        patch.setattr(sys, "stdout", stdout)
        patch.setattr(sys, "stderr", stderr)
        patch.setattr(threading, "excepthook", threading.__excepthook__)  # not pytest's: print, as a process does
        patch.setattr(sys, "unraisablehook", sys.__unraisablehook__)
        urllib.request.install_opener(None)  # urlopen's opener keeps the proxy settings of the first call
        worker = threading.Thread(target=call_main, name=f"in-process {script}", daemon=True)
        worker.start()
        worker.join(timeout)
        urllib.request.install_opener(None)
    if worker.is_alive():
        frame = sys._current_frames().get(worker.ident)
        stack = "".join(traceback.format_stack(frame)) if frame else ""
        pytest.fail(f"{script} {' '.join(args)} still running after {timeout}s:\n{stack}")
    return Run(outcome["code"], captured(stdout), captured(stderr))


def captured(stream: io.TextIOWrapper) -> str:
    """What was written, decoded as subprocess.run(text=True) would (universal newlines)."""
    stream.flush()
    raw = stream.buffer.getvalue().decode("utf-8")
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def in_subprocess(script: str, args: tuple[str, ...], env: dict[str, str], cwd: Path, timeout: float) -> Run:
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def make_runner(how: Callable[..., Run], env: dict[str, str], workdir: Path) -> Runner:
    def runner(script: str, *args: str, env_extra: dict[str, str | None] | None = None,
               cwd: Path | None = None, timeout: float = 60) -> Run:
        return how(script, args, run_env(env, env_extra), cwd or workdir, timeout)

    return runner


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "subprocess: the test's ``run`` starts each script in a real process")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (an install into a fresh venv, say) run only when asked for: the suite's
    time is a budget."""
    if os.environ.get("IMAGEGEN_FULL_TESTS") or "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow or IMAGEGEN_FULL_TESTS=1")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def run(request: pytest.FixtureRequest, env: dict[str, str], workdir: Path) -> Runner:
    """run("generate.py", "--prompt", "x") -> Run, executed in ``workdir`` against the fake: main() called in
    this process, or the script in a fresh process for a test marked ``@pytest.mark.subprocess``."""
    how = in_subprocess if request.node.get_closest_marker("subprocess") else in_process
    return make_runner(how, env, workdir)


@pytest.fixture
def run_subprocess(env: dict[str, str], workdir: Path) -> Runner:
    """The same as ``run``, always through ``python3 scripts/<script>`` in a fresh process."""
    return make_runner(in_subprocess, env, workdir)


def ledger_entries(env: dict[str, str]) -> list[dict[str, Any]]:
    """The spending ledger of a run made with ``env`` (the conftest environment), one dict a line;
    empty when nothing has been written."""
    path = Path(env["XDG_STATE_HOME"]) / "image-gen" / "ledger.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def assert_one_json(result: Run) -> dict[str, Any]:
    """stdout holds exactly one JSON document and stderr no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    assert document["success"] is (result.code == 0), document
    return document


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    """An empty spending ledger of this test's own, with no daily budget set: its path."""
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("IMAGEGEN_LEDGER", str(path))
    monkeypatch.delenv("IMAGEGEN_DAILY_BUDGET_USD", raising=False)
    return path
