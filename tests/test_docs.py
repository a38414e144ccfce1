"""The documentation stays true: files it names exist, every script and variable is documented."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

REFERENCES = ["contract.md", "prompt-templates.md", "style-consistency.md", "model-card.md", "api-reference.md",
              "installation-guide.md", "queue-operations.md", "mcp.md", "providers.md", "architecture.md"]
DOCS = [ROOT / "README.md", ROOT / "SKILL.md", *(ROOT / "references" / name for name in REFERENCES),
        ROOT / "examples" / "agent-transcript.md"]


def frontmatter(text: str) -> dict[str, str]:
    match = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert match, "SKILL.md must start with a --- frontmatter block"
    fields = {}
    for line in match[1].splitlines():
        key, _, value = line.partition(":")
        assert value, f"frontmatter keys must be single-line 'key: value': {line!r}"
        fields[key.strip()] = value.strip()
    return fields


def test_skill_frontmatter_and_size():
    text = (ROOT / "SKILL.md").read_text()
    fields = frontmatter(text)
    assert fields["name"] == "image-gen"
    assert 40 <= len(fields["description"]) <= 200 and "image" in fields["description"]
    assert len(text.splitlines()) < 250


@pytest.mark.parametrize("name", REFERENCES)
def test_reference_exists_and_has_a_title(name):
    text = (ROOT / "references" / name).read_text()
    assert text.startswith("# ") and len(text) > 1500


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_files_exist(doc):
    text = doc.read_text()
    named = set(re.findall(r"`((?:references|examples|presets)/[\w./-]+)`", text))
    for path in named:
        if "<" in path or path.endswith("/"):
            continue
        assert (ROOT / path).exists(), f"{doc.name} names {path}, which does not exist"


def test_skill_commands_use_existing_scripts():
    text = (ROOT / "SKILL.md").read_text()
    for script in set(re.findall(r"python3 scripts/(\w+\.py)", text)):
        assert (ROOT / "scripts" / script).is_file(), script


def test_readme_covers_every_script_and_variable():
    readme = (ROOT / "README.md").read_text()
    for script in sorted((ROOT / "scripts").glob("*.py")):
        assert f"### {script.name}" in readme, f"README has no section for {script.name}"
    source = "\n".join(p.read_text() for p in (ROOT / "scripts" / "imagegen").rglob("*.py"))
    variables = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source))
    variables |= set(re.findall(r'"((?:IMAGEGEN|OPENROUTER|OPENAI|ANTHROPIC)_[A-Z_]+)"', source))
    for variable in sorted(variables):
        assert variable in readme, f"README does not mention {variable}"


@pytest.mark.parametrize("doc", DOCS + [ROOT / "examples" / "series.sh", ROOT / "examples" / "crontab"],
                         ids=lambda p: p.name)
def test_no_machine_paths(doc):
    text = doc.read_text()
    for marker in ("/work/", "/root/", "/tmp/pytest", "/Users/"):
        assert marker not in text, f"{doc.name} mentions {marker}"


def test_committed_cli_reference_matches_every_scripts_help():
    from imagegen.cli import reference

    committed = (ROOT / "references" / "cli.md").read_text()
    assert committed == reference.markdown(), (
        "references/cli.md is stale: run PYTHONPATH=scripts python3 -m imagegen.cli.reference > references/cli.md")
    for name in reference.scripts():
        if reference.help_text(name) is not None:
            assert f"## {name}.py\n" in committed


def test_performance_figures_say_how_they_were_measured():
    """The figures can be reproduced: the machine, its load and the commands, which bench/run.py takes."""
    import shlex
    import subprocess
    import sys

    text = (ROOT / "references" / "performance.md").read_text()
    section = text.split("**How these were measured", 1)[1].split("\n\n", 1)[0]
    for needed in ("Machine:", "Load:", "Command:", "vCPU", "CPython"):
        assert needed in section, f"references/performance.md does not say {needed}"
    commands = re.findall(r"`(python3 bench/run\.py[^`]*)`", section)
    assert commands, "references/performance.md names no bench/run.py command"
    for command in commands:  # each command's flags parse (--help after them stops before any measuring)
        done = subprocess.run([sys.executable, *shlex.split(command)[1:], "--help"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, (command, done.stderr)
