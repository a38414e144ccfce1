"""Output never fails a success: stdout is UTF-8 whatever the locale, a closed or broken stdout (or a
closed stdin or stderr) is no traceback, and a paid, saved image is reported as saved (exit 0).

Each case runs the real script in a real process, its streams set up by a shell as a user's or a
cron's would be.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import SCRIPTS, Run, assert_one_json, ledger_entries

PROMPT = "A snowman \u2603 on a hill, watercolour"


def shell(command: str, env: dict[str, str], cwd, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], env=env, cwd=cwd, capture_output=True, timeout=timeout)


def generate(out: str = "out") -> str:
    return f'"{sys.executable}" "{SCRIPTS / "generate.py"}" --prompt "{PROMPT}" --output-dir {out}'


@pytest.mark.parametrize("locale", [{"PYTHONIOENCODING": "latin-1"}, {"PYTHONIOENCODING": "ascii:strict"},
                                    {"LANG": "C", "LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}],
                         ids=["latin-1", "ascii-strict", "C-locale"])
def test_a_non_utf8_locale_still_gets_the_success_as_utf8(env, fake, workdir, locale):
    done = shell(generate(), {**env, **locale}, workdir)
    doc = assert_one_json(Run(done.returncode, done.stdout.decode("utf-8"), done.stderr.decode("utf-8", "replace")))
    assert doc["warnings"] == []
    assert done.returncode == 0 and doc["success"] is True, doc
    if "LANG" not in locale:  # under C the argument itself arrives as undecodable bytes, written as \udcXX
        assert "\u2603" in json.dumps(doc, ensure_ascii=False)
    assert list((workdir / "out").glob("*.png"))


def test_a_closed_stdout_after_paying_still_exits_0_without_a_traceback(env, fake, workdir):
    done = shell(generate() + " >&-", env, workdir)
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr and b"could not write the result" in done.stderr
    assert list((workdir / "out").glob("*.png"))
    assert [line["outcome"] for line in ledger_entries(env)] == ["success"]


def test_a_broken_pipe_on_stdout_still_exits_0(env, fake, workdir):
    done = shell(f"set -o pipefail; {generate()} | (exec 0<&-; sleep 0); echo \"status=${{PIPESTATUS[0]}}\" >&2",
                 env, workdir)
    assert b"status=0" in done.stderr and b"Traceback" not in done.stderr, done.stderr
    assert list((workdir / "out").glob("*.png"))


@pytest.mark.parametrize("redirect", ["<&-", "2>&-", "<&- 2>&-"])
def test_closed_stdin_or_stderr_is_no_traceback(env, fake, workdir, redirect):
    done = shell(f"{generate()} {redirect}", env, workdir)
    doc = json.loads(done.stdout)
    assert done.returncode == 0 and doc["success"] is True, (done.stdout, done.stderr)
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize("redirect", ["<&-", ">&-", "</dev/null >&-"])
def test_the_mcp_server_with_a_closed_stream_says_so_and_stops(env, workdir, redirect):
    done = shell(f'"{sys.executable}" "{SCRIPTS / "mcp_server.py"}" {redirect}', env, workdir, timeout=30)
    assert done.returncode == 1 and b"Traceback" not in done.stderr, done.stderr
    assert b"needs open stdin and stdout" in done.stderr


def test_a_success_holding_nan_is_still_a_success(capsys):
    from imagegen.contract import emit

    assert emit({"success": True, "contract_version": 1, "cost_usd": float("nan")}) is True
    doc = json.loads(capsys.readouterr().out)
    assert doc["success"] is True and doc["cost_usd"] is None and "null" in doc["warnings"][0]
