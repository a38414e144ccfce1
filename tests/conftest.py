"""Shared fixtures: the loopback fake API, and running scripts the way an agent does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(ROOT))

from tests.fake_api import FakeAPI  # noqa: E402

TEST_KEY = "sk-or-test-KEYMARKER-4f1d2c"
OPENAI_TEST_KEY = "sk-openai-test-KEYMARKER-9a8b"
ANTHROPIC_TEST_KEY = "sk-anthropic-test-KEYMARKER-77c1"


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
def run(env: dict[str, str], workdir: Path):
    """run("generate.py", "--prompt", "x") -> Run, executed in ``workdir`` against the fake."""

    def runner(script: str, *args: str, env_extra: dict[str, str] | None = None,
               cwd: Path | None = None, timeout: float = 60) -> Run:
        proc_env = {**env, **(env_extra or {})}
        proc_env = {k: v for k, v in proc_env.items() if v is not None}
        completed = subprocess.run(
            [sys.executable, str(SCRIPTS / script), *args],
            cwd=cwd or workdir, env=proc_env, capture_output=True, text=True, timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Run(completed.returncode, completed.stdout, completed.stderr)

    return runner


def assert_one_json(result: Run) -> dict[str, Any]:
    """stdout holds exactly one JSON document and stderr no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    assert document["success"] is (result.code == 0), document
    return document
