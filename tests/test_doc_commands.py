"""Every command line the docs show runs as written, against the loopback fake.

The commands are read from the fenced ``bash`` blocks of README.md, SKILL.md, references/*.md and
examples/*.md (``{baseDir}`` and ``$IMAGE_GEN`` are this checkout) and run in the order a reader
meets them, one document to a folder, so a later command finds what an earlier one made. Files a
reader would bring (an input image with its sidecar, a mask, a jobs file) are made first. Each
command must print one JSON document (or the text its flags ask for) and exit with the documented
code: 0 unless :data:`EXPECTED_CODES` says otherwise.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fake_api import make_png

# examples/agent-transcript.md is a shell session with redirections: tests/test_examples.py runs it whole.
DOCS = [ROOT / "README.md", ROOT / "SKILL.md", *sorted((ROOT / "references").glob("*.md"))]
FENCE = re.compile(r"```(?:bash|sh|shell)\n(.*?)```", re.S)
# A command's expected exit code when it is not 0 (a documented refusal), by a phrase it contains.
EXPECTED_CODES: dict[str, int] = {}
# Commands that print text, not JSON, because a person asked for text.
TEXT_FLAGS = ("--help", "--version", "--table", "--markdown")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
SETUP_COMMANDS = ("mkdir ", "cp ")  # the shell steps a reader takes between commands (run with bash)


def documented_commands() -> list[tuple[str, str]]:
    """(where, command) for every ``python3 scripts/...`` line in a fenced shell block."""
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in FENCE.findall(text):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #", 1)[0].strip()
                if line.startswith(SETUP_COMMANDS):
                    found.append((path.relative_to(ROOT).as_posix(), line))
                    continue
                if "scripts/" not in line or not line.startswith(("python3", "PYTHONPATH")):
                    continue
                if any(sign in line for sign in ("|", ">", "&&", ";", "$(")):
                    continue  # shell plumbing around a command: the command itself is shown elsewhere
                line = line.replace("{baseDir}/", "").replace('"$IMAGE_GEN/scripts/', '"scripts/')
                found.append((path.relative_to(ROOT).as_posix(), line))
    return found


def _bring_files(argv: list[str], workdir: Path) -> None:
    """Create the files a reader would already have: images, masks, jobs files."""
    for index, arg in enumerate(argv):
        previous = argv[index - 1] if index else ""
        if arg.startswith("-") or arg.startswith(("http://", "https://")):
            continue
        path = workdir / arg
        if path.exists() or not (arg.lower().endswith(IMAGE_SUFFIXES) or arg.endswith(".jsonl")):
            continue
        if previous in ("--out", "--output-file", "--out-dir", "--output-dir"):
            continue  # where results go, not something to bring
        path.parent.mkdir(parents=True, exist_ok=True)
        if arg.endswith(".jsonl"):
            path.write_text(json.dumps({"prompt": "A lighthouse at dusk, oil painting", "out": "jobs/a.png"}) + "\n")
        elif "mask" in path.name:
            path.write_bytes(make_png(64, 64, rgba=True, color=(0, 0, 0, 0)))
        else:  # an image made earlier, with the sidecar that remembers its prompt
            path.write_bytes(make_png(64, 64))
            path.with_name(path.name + ".json").write_text(json.dumps(
                {"request": {"prompt": "A lighthouse at dusk, oil painting", "model": "black-forest-labs/flux.2-pro"}}))


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """The conftest environment with a Gemini key too: the docs' --provider google and batch commands need one."""
    return {**env, "GEMINI_API_KEY": "gm-docs-KEYMARKER-2b3c"}


COMMANDS = documented_commands()
BY_DOC = {where: [c for w, c in COMMANDS if w == where] for where, _ in COMMANDS}


def test_the_docs_show_commands():
    assert len(COMMANDS) >= 40 and set(BY_DOC) >= {"README.md", "SKILL.md"}


def run_documented(command: str, run: Any, workdir: Path, env: dict[str, str]) -> str | None:
    """Run one documented command (through the suite's runner); what is wrong with its outcome, or None."""
    if command.startswith(SETUP_COMMANDS):
        import shutil
        import subprocess

        if command.startswith("cp ") and "presets/" in command:  # the project's own files, from here
            for name in ("presets",):
                if not (workdir / name).exists():
                    shutil.copytree(ROOT / name, workdir / name)
        command = command.replace("/path/to/image-gen", str(ROOT))  # the install guide's placeholder
        done = subprocess.run(["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True)
        return None if done.returncode == 0 else f"{command}: {done.stderr[-300:]}"
    argv = shlex.split(command)
    if argv[0] != "python3" or not argv[1].startswith("scripts/"):
        return f"not a python3 scripts/... command: {command}"
    _bring_files(argv[2:], workdir)
    done = run(argv[1][len("scripts/"):], *argv[2:])
    if "Traceback" in done.stderr:
        return f"{command}: traceback {done.stderr[-800:]}"
    text_wanted = any(flag in argv for flag in TEXT_FLAGS) or ("preflight_check.py" in command and "--json" not in argv)
    if not text_wanted:
        try:
            if not isinstance(json.loads(done.stdout), dict):
                return f"{command}: stdout is not one JSON object"
        except ValueError:
            return f"{command}: stdout is not JSON: {done.stdout[:300]!r}"
    expected = next((code for phrase, code in EXPECTED_CODES.items() if phrase in command), 0)
    if done.code != expected:
        return f"{command}: exit {done.code}, documented {expected}: {done.stdout[-700:]}"
    return None


@pytest.fixture
def brief_idle(monkeypatch):
    """A documented worker leaves 50 ms after the queue is empty instead of 3 s: the same drain, sooner."""
    from imagegen.commands import run_image_queue

    build = run_image_queue.build_parser

    def quick() -> Any:
        parser = build()
        parser.set_defaults(idle_exit_sec=0.05)
        return parser

    monkeypatch.setattr(run_image_queue, "build_parser", quick)


@pytest.mark.parametrize("where", sorted(BY_DOC))
def test_every_command_of_a_document_runs_as_written(where, run, fake, workdir, env, brief_idle):
    """In the document's order; a command whose input a later section makes (a reference section
    before the tutorial) gets a second run once the whole document has."""
    failed = [command for command in BY_DOC[where] if run_documented(command, run, workdir, env)]
    problems = [problem for command in failed if (problem := run_documented(command, run, workdir, env))]
    assert not problems, "\n\n".join(problems)
