#!/usr/bin/env python3
"""Run the tests on any machine, from a fresh checkout, in one command:

    python3 tests/run.py            # installs what the tests need, runs them, says how long it took
    python3 tests/run.py -m slow    # arguments go to pytest
    python3 tests/run.py -n 0       # one test at a time, in this process

What the tests need is pyproject.toml's ``test`` extras. When this Python has them all, they are
used as they are; otherwise they go into a virtual environment beside the tests (``.venv-tests``,
reused by later runs, seeing this Python's packages too), so nothing is installed into the
system's Python. pytest and hypothesis are required; a test whose optional package (the C2PA
verifier, the MCP SDK) could not be installed skips and says why. With pytest-xdist the tests are
spread over one worker process per CPU (``-n``; an ``-n`` of your own wins); without it, or on
one CPU, they run one after another, as a plain ``python3 -m pytest`` runs them. Standard library
only.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-tests"
REQUIRED = ("pytest", "hypothesis")  # the import names the suite cannot run without
IMPORT_NAMES = {"c2pa-python": "c2pa", "pytest-xdist": "xdist"}  # distribution -> import name, where they differ
# Each worker collects the whole suite first (seconds of CPU), so past a few workers more buy little.
MAX_WORKERS = 8


def test_extras() -> list[str]:
    """The ``test`` extras of pyproject.toml (read without tomllib, which Python 3.10 lacks)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    match = re.search(r"^test\s*=\s*\[(.*?)\]", text, re.MULTILINE | re.DOTALL)
    if not match:
        raise SystemExit("tests/run.py: pyproject.toml has no test extras ([project.optional-dependencies] test)")
    return re.findall(r'"([^"]+)"', match[1])


def import_name(requirement: str) -> str:
    name = re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
    return IMPORT_NAMES.get(name, name.replace("-", "_"))


def missing(python: str, requirements: list[str]) -> list[str]:
    """The requirements ``python`` cannot import."""
    if python == sys.executable:
        return [r for r in requirements if importlib.util.find_spec(import_name(r)) is None]
    names = [import_name(r) for r in requirements]
    probe = ("import importlib.util, sys; "
             "print(' '.join(n for n in sys.argv[1:] if importlib.util.find_spec(n) is None))")
    found = subprocess.run([python, "-c", probe, *names], capture_output=True, text=True, check=False)
    gone = set(found.stdout.split())
    return [r for r, n in zip(requirements, names, strict=True) if n in gone]


def venv_python() -> str:
    """The tests' virtual environment's Python, made on first use."""
    python = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        print(f"tests/run.py: making {VENV.name}/ for the test extras", file=sys.stderr, flush=True)
        made = subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(VENV)], check=False)
        if made.returncode != 0:
            raise SystemExit("tests/run.py: could not make a virtual environment; install python3-venv "
                             "(Debian/Ubuntu: sudo apt install python3-venv), or install the test extras yourself")
    return str(python)


def install(python: str, requirements: list[str]) -> None:
    """Install ``requirements`` one by one, so one that cannot be had does not stop the others."""
    for requirement in requirements:
        done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "--retries", "2", "--timeout", "30", requirement], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            print(f"tests/run.py: could not install {requirement} ({tail})", file=sys.stderr, flush=True)


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity, where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def parallel(argv: list[str], cpus: int) -> list[str]:
    """pytest-xdist's arguments that spread the tests over ``cpus`` workers, before ``argv`` so that the
    caller's own ``-n`` or ``--dist`` wins; none on one CPU, when ``argv`` turns xdist off, or asks for
    the debugger (which needs the tests in this process). ``worksteal``: a worker that runs out takes
    half of a busy one's queue, so the few long tests do not leave one worker running alone at the end."""
    if cpus < 2 or any(arg.endswith("no:xdist") or arg in ("--pdb", "--trace") for arg in argv):
        return []
    return ["-n", str(min(cpus, MAX_WORKERS)), "--dist", "worksteal"]


def main(argv: list[str]) -> int:
    started = time.monotonic()
    requirements = test_extras()
    python = sys.executable
    absent = missing(python, requirements)
    if absent:
        python = venv_python()
        install(python, missing(python, requirements))
        absent = missing(python, requirements)
        needed = [r for r in absent if import_name(r) in REQUIRED]
        if needed:
            raise SystemExit(f"tests/run.py: the tests need {', '.join(needed)}, which could not be installed "
                             "(no network, or no package index?)")
    spread = [] if any(import_name(r) == "xdist" for r in absent) else parallel(argv, cpu_count())
    ready = time.monotonic() - started
    result = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *spread, *argv], cwd=ROOT,
                            check=False)
    total = time.monotonic() - started
    print(f"tests/run.py: {'passed' if result.returncode == 0 else 'FAILED'} in {total:.0f} s "
          f"({ready:.0f} s getting the test extras ready, {total - ready:.0f} s of tests)", file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
