"""Where presets come from (issue 13, points 5 and 6): built-ins ship as package data and are found from
any folder; an explicit path beats the current folder's presets/, which beats the user's folder, which
beats the built-ins; results name the preset as asked and the file used; preflight's preset fixups
work when pasted."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imagegen.models.table import RETIRED_NOTES
from tests.conftest import ROOT, assert_one_json

QUEUE = "generated/imagegen-queue"


def write_preset(folder: Path, name: str, model: str, inner_name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"name": inner_name or name, "defaults": {"model": model}}))
    return path


@pytest.fixture
def user_presets(env):
    return Path(env["XDG_CONFIG_HOME"]) / "image-gen" / "presets"


def dry_run(run, preset: str, cwd: Path | None = None) -> dict:
    """The dry run of ``preset``, which warns of nothing but a retired model's note."""
    doc = assert_one_json(run("generate.py", "--prompt", "A fox in snow, 35mm photo", "--preset", preset,
                              "--dry-run", cwd=cwd))
    assert doc["warnings"] == ([RETIRED_NOTES[doc["model"]]] if doc["model"] in RETIRED_NOTES else [])
    return doc


def test_the_checkout_presets_folder_is_the_package_data():
    from imagegen.prompt import presets

    assert (ROOT / "presets").resolve() == presets.builtin_dir() == ROOT / "scripts" / "imagegen" / "presets"
    assert sorted(p.name for p in presets.builtin_dir().glob("*.json")) == sorted(
        p.name for p in (ROOT / "presets").glob("*.json"))


def test_package_data_ships_every_builtin_preset():
    text = (ROOT / "pyproject.toml").read_text()
    section = re.search(r"^\[tool\.setuptools\.package-data\]\n(.*?)(?:^\[|\Z)", text, re.MULTILINE | re.DOTALL)
    assert section, "pyproject.toml has no [tool.setuptools.package-data]"
    globs = json.loads(re.search(r"^imagegen = (\[.*?\])", section[1], re.MULTILINE)[1])
    package = ROOT / "scripts" / "imagegen"
    shipped = {path for pattern in globs for path in package.glob(pattern)}
    assert shipped and shipped >= set((package / "presets").glob("*.json"))
    assert shipped >= set((package / "references").glob("*.md"))  # the documents the commands' help names


def test_a_user_copy_beats_the_builtin_even_from_the_project_folder(run, user_presets):
    write_preset(user_presets, "cinematic-still", "nanobanana", inner_name="my cinema")
    for cwd in (None, ROOT):  # a fresh folder, and the checkout itself (whose presets/ is the built-in one)
        doc = dry_run(run, "cinematic-still", cwd=cwd)
        assert doc["model"] == "google/gemini-2.5-flash-image", cwd
        assert doc["preset"] == "cinematic-still" and doc["preset_file"] == str(user_presets / "cinematic-still.json")


def test_lookup_order_path_then_local_then_user_then_builtin(run, workdir, user_presets):
    from imagegen.prompt import presets

    assert dry_run(run, "default")["preset_file"] == str(presets.builtin_dir() / "default.json")
    write_preset(user_presets, "default", "nanobanana")
    assert dry_run(run, "default")["preset_file"] == str(user_presets / "default.json")
    local = write_preset(workdir / "presets", "default", "nanobanana-pro")
    assert dry_run(run, "default")["preset_file"] == str(local.resolve())
    explicit = write_preset(workdir / "elsewhere", "default", "gpt-5-image")
    doc = dry_run(run, "elsewhere/default.json")
    assert doc["preset"] == "elsewhere/default.json" and doc["preset_file"] == str(explicit.resolve())
    assert doc["model"] == "openai/gpt-5-image"


def test_the_name_asked_for_is_reported_not_the_one_inside(run, user_presets):
    write_preset(user_presets, "yours", "nanobanana", inner_name="Something Else Entirely")
    assert dry_run(run, "yours")["preset"] == "yours"


def test_a_queued_job_reports_the_preset_as_asked(run, workdir, user_presets):
    write_preset(user_presets, "yours", "nanobanana", inner_name="inner")
    assert_one_json(run("enqueue_image_job.py", "--prompt", "A fox in snow, 35mm photo", "--preset", "yours",
                        "--out", "fox.png", "--request-id", "p1"))
    summary = assert_one_json(run("run_image_queue.py", "--queue-dir", QUEUE, "--idle-exit-sec", "0", "--quiet",
                                  "--allow-root", str(user_presets)))
    assert summary["done"] == 1, summary
    (record,) = [json.loads(p.read_text()) for p in (workdir / QUEUE / "results").glob("*.json")]
    assert record["result"]["preset"] == "yours"
    assert record["result"]["preset_file"] == str(user_presets / "yours.json")


# -- preflight's preset fixups, pasted into a shell ----------------------------------------------------

def fixups_of(run, kind: str = "preset", **kwargs) -> dict[str, str]:
    document = json.loads(run("preflight_check.py", "--json", **kwargs).stdout)
    return {c["name"]: c["fixup"] for c in document["checks"] if c["kind"] == kind and not c["ok"]}


def paste(command: str, env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(["/bin/sh", "-c", command], env=env, cwd=cwd, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, (command, done.stdout, done.stderr)


def test_preset_fixups_work_when_pasted(run, env, workdir, user_presets):
    user_presets.mkdir(parents=True)
    (user_presets / "broken.json").write_text('{"style": {"color_palette": ["red"]}}')
    (user_presets / "lost-ref.json").write_text('{"style": {"reference_images": ["gone.png"]}}')
    editor = workdir / "fix-preset"  # stands in for the person at the editor: writes a valid preset
    editor.write_text('#!/bin/sh\nprintf \'{"name": "fixed"}\\n\' > "$1"\n')
    editor.chmod(0o755)
    fixups = fixups_of(run)
    assert set(fixups) == {"broken", "lost-ref"}
    for command in fixups.values():
        paste(command, {**env, "EDITOR": str(editor)}, workdir)
    assert fixups_of(run) == {}


def test_missing_builtin_presets_fixup_restores_them_in_a_checkout(run, env, tmp_path, monkeypatch):
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "scripts" / "imagegen" / "presets", checkout / "scripts" / "imagegen" / "presets")
    git = {**env, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for command in ("git init -q", "git add -A", "git commit -qm presets"):
        paste(command, git, checkout)
    shutil.rmtree(checkout / "scripts" / "imagegen" / "presets")
    from imagegen import config
    from imagegen.prompt import presets

    monkeypatch.setattr(presets, "BUILTIN_DIR", checkout / "scripts" / "imagegen" / "presets")
    monkeypatch.setattr(config, "project_root", lambda: checkout)
    (fixup,) = fixups_of(run).values()
    paste(fixup, git, tmp_path)
    assert sorted(presets.builtin_dir().glob("*.json")) and fixups_of(run) == {}


def source_copy(tmp_path: Path) -> Path:
    """What a build reads (pyproject.toml, README.md, the package), copied: the build's own files stay
    out of the checkout."""
    source = tmp_path / "source"
    (source / "scripts").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "scripts" / "imagegen", source / "scripts" / "imagegen",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return source


def dry_run_from(command: list[str], folder: Path, env: dict[str, str]) -> dict:
    folder.mkdir(exist_ok=True)
    clean = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    done = subprocess.run([*command, "--prompt", "A fox in snow, 35mm photo", "--preset", "watercolor-storybook",
                           "--dry-run"], cwd=folder, env=clean, capture_output=True, text=True, timeout=60)
    document = json.loads(done.stdout)
    assert done.returncode == 0 and document["preset"] == "watercolor-storybook", (document, done.stderr)
    return document


def test_the_built_package_carries_the_presets(tmp_path, env):
    """setuptools' build_py, what a wheel of this pure package holds, run on the project's own configuration."""
    source, lib = source_copy(tmp_path), tmp_path / "lib"
    built = subprocess.run([sys.executable, "-c", "from setuptools import setup; setup()", "-q", "build_py",
                            "--build-lib", str(lib)], cwd=source, capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr[-2000:]
    boot = (f"import sys; sys.path.insert(0, {str(lib)!r}); "
            "from imagegen.commands.generate import main; sys.exit(main())")
    document = dry_run_from([sys.executable, "-c", boot], tmp_path / "elsewhere", env)
    assert document["preset_file"] == str(lib / "imagegen" / "presets" / "watercolor-storybook.json")


@pytest.mark.slow  # a venv, and pip builds the wheel with setuptools from the package index: 10 s or more
def test_an_installed_package_finds_its_presets_from_any_folder(tmp_path, env):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps",
                                str(source_copy(tmp_path))], capture_output=True, text=True, timeout=600)
    if installed.returncode != 0 and "Could not find a version" in installed.stderr:
        pytest.skip("no package index reachable for the build's setuptools")
    assert installed.returncode == 0, installed.stderr[-2000:]
    document = dry_run_from([str(venv / "bin" / "image-gen-generate")], tmp_path / "elsewhere", env)
    assert "site-packages" in document["preset_file"] and os.path.isfile(document["preset_file"])
