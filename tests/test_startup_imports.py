"""Import budget: a plain text-to-image run loads no module of a feature it does not use.

Each case runs ``python3 -S -X importtime scripts/generate.py ...`` in a subprocess (against the
loopback fake where it talks to a provider) and reads the modules it imported from stderr. ``-S``
keeps site-packages out: the .pth files installed on a machine can import modules (threading,
pathlib, typing, ...) before the script starts, which would hide them from ``-X importtime`` on
one machine and not on the next. The scripts are standard library only, so they run alike.

A failure names each forbidden module with its import time, so the culprit is easy to find.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SCRIPTS

# What a plain run (`generate.py --prompt "a red fox" --output-dir DIR`, n=1, non-TTY stderr) and
# a plain --dry-run must not import; --help is held to the same "stdlib" list.
#
# "stdlib": exact module names; a listed package also forbids its submodules. Not listed, because
# a stdlib client cannot avoid them: ssl (http.client imports it at import time even for an http://
# URL), email.* and socket (http.client), json, base64, hashlib, datetime, argparse and its
# gettext/locale. dataclasses drags in inspect, which drags in ast, dis and tokenize (~3 ms).
# threading and concurrent.futures are for concurrency, which one image on a pipe does not use.
#
# "imagegen": feature modules of the library, matched as substrings of the LAST dotted component
# of any module loaded from scripts/ (so "imagegen.presets", "imagegen.style.presets" and
# "imagegen.style_presets" all match): the modules are being renamed, the features are not.
FORBIDDEN = {
    "stdlib": ["dataclasses", "inspect", "ast", "dis", "tokenize", "copy", "threading", "concurrent.futures",
               "asyncio", "multiprocessing", "subprocess", "logging"],
    "imagegen": ["presets", "baseline", "rails", "enhance", "images_api", "openrouter_images", "catalogue", "svg",
                 "direct", "error_kinds"],
}

# Every project module a plain run (and a plain --dry-run, which needs a subset) may import, by the
# last dotted component: the path from the flags to one saved image, its sidecar and its ledger line.
# A module that is not here fails the test: import it in the function that needs it, or, when the
# plain path really uses it, add it here.
PLAIN_ALLOWED = (
    "imagegen", "commands", "cli", "models", "prompt", "pipeline", "spending", "images", "http", "providers",
    "generate", "options", "command_options", "flags", "runner", "signals", "from_flags", "requests", "validate",
    "contract", "names", "record",
    "errors", "reply_words", "config", "costs", "fsutil", "localjson", "jsonshape", "progress",
    "registry", "table", "live", "chains", "pricing", "listings",
    "choices", "plan", "steering", "clarify", "wording", "intent", "lazyre", "compose",
    "run_generation", "generation", "routes", "images_options", "parameters", "outputs", "paid_call", "save",
    "guard", "ledger", "lines", "reservations", "observed",
    "files", "writer", "blank", "png", "claims", "credentials",
    "openrouter", "openrouter_chat", "call", "replies", "client", "transport", "statuses", "b64stream",
)

# The project modules --help may import: what building the parser needs (the declared options, the
# shared contract, the choices and the model registry whose aliases the --model help lists, with
# the alias chains it is built from). Matched on the last dotted component too.
HELP_ALLOWED = ("imagegen", "commands", "generate", "cli", "runner", "options", "command_options", "flags",
                "validate", "contract", "choices", "names", "errors", "reply_words", "models", "registry", "table",
                "live", "chains", "pricing", "prompt", "record")

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)")

def imported(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, dict[str, int]]:
    """Run generate.py under -S -X importtime; every module it imported -> self and cumulative us."""
    done = subprocess.run([sys.executable, "-S", "-X", "importtime", str(SCRIPTS / "generate.py"), *args],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    modules = {}
    for line in done.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            modules[match[3]] = {"self_us": int(match[1]), "cumulative_us": int(match[2])}
    assert "argparse" in modules, "no -X importtime output: " + done.stderr[-2000:]
    return modules


def project_modules(modules: dict[str, dict[str, int]]) -> list[str]:
    """The imported modules that load from scripts/ (whatever the package is called)."""
    def ours(name: str) -> bool:
        top = name.split(".")[0]
        return (SCRIPTS / top / "__init__.py").is_file() or (SCRIPTS / f"{top}.py").is_file()

    return sorted(name for name in modules if ours(name))


def forbidden_stdlib(modules: dict[str, dict[str, int]]) -> list[str]:
    return sorted(name for name in modules
                  if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN["stdlib"]))


def forbidden_imagegen(modules: dict[str, dict[str, int]]) -> list[str]:
    return sorted(name for name in project_modules(modules)
                  if any(word in name.rsplit(".", 1)[-1] for word in FORBIDDEN["imagegen"]))


def describe(names: list[str], modules: dict[str, dict[str, int]]) -> str:
    return ", ".join(f"{name} ({modules[name]['self_us'] / 1000:.1f} ms self)" for name in names)


PLAIN = {
    "run": ["--prompt", "a red fox", "--output-dir", "out"],
    "dry-run": ["--prompt", "a red fox", "--dry-run"],
}


@pytest.mark.parametrize("case", ["run", "dry-run"])
def test_plain_run_imports_no_unused_stdlib_feature(case, env, workdir):
    modules = imported(PLAIN[case], env, workdir)
    found = forbidden_stdlib(modules)
    assert not found, f"generate.py {case} imports {describe(found, modules)}"


@pytest.mark.parametrize("case", ["run", "dry-run"])
def test_plain_run_imports_no_unused_imagegen_feature(case, env, workdir):
    modules = imported(PLAIN[case], env, workdir)
    found = forbidden_imagegen(modules)
    assert not found, f"generate.py {case} imports {describe(found, modules)}"


@pytest.mark.parametrize("case", ["run", "dry-run"])
def test_plain_run_imports_only_the_modules_it_uses(case, env, workdir):
    modules = imported(PLAIN[case], env, workdir)
    extra = [name for name in project_modules(modules) if name.rsplit(".", 1)[-1] not in PLAIN_ALLOWED]
    assert not extra, f"generate.py {case} imports {describe(extra, modules)}"


def test_plain_run_is_measured_against_the_fake(env, workdir, fake):
    """The run case really makes its request, so its imports are those of a real run."""
    modules = imported(PLAIN["run"], env, workdir)
    assert len(fake.requests_for("chat")) == 1
    assert list((workdir / "out").glob("*.png"))
    assert "http.client" in modules


def test_help_imports_only_what_the_parser_needs(env, workdir):
    modules = imported(["--help"], env, workdir)
    extra = [name for name in project_modules(modules) if name.rsplit(".", 1)[-1] not in HELP_ALLOWED]
    assert not extra, f"--help imports {describe(extra, modules)}"
    found = forbidden_stdlib(modules)
    assert not found, f"--help imports {describe(found, modules)}"
