"""references/cli.md: every script's ``--help``, generated, so the flag reference cannot drift.

    PYTHONPATH=scripts python3 -m imagegen.cli.reference > references/cli.md

A test fails when the committed file differs from what this prints.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

HEADER = """# Command-line reference

Every script's `--help`, generated from the parsers themselves (do not edit by hand:
`PYTHONPATH=scripts python3 -m imagegen.cli.reference > references/cli.md`). Each script prints one
JSON document on stdout (`references/contract.md`); installed with `pipx install .`, the same
commands are on PATH under these names, and their `--help` uses them:
"""


def scripts() -> list[str]:
    """The script names, in the order people meet them: generation first, then the rest by name."""
    folder = Path(__file__).resolve().parent.parent.parent
    names = sorted(path.stem for path in folder.glob("*.py"))
    first = [name for name in ("generate", "generate_image", "edit", "review") if name in names]
    return first + [name for name in names if name not in first]


def commands() -> dict[str, ModuleType]:
    """Each script's command module (imported here, not looked up by name, so the dependency shows)."""
    from ..commands import (
        edit,
        enqueue_image_job,
        enqueue_variants,
        gallery,
        generate,
        generate_image,
        mcp_server,
        models,
        preflight_check,
        queue_and_return,
        queue_status,
        review,
        run_image_queue,
        spend,
    )

    return {module.__name__.rpartition(".")[2]: module for module in (
        edit, enqueue_image_job, enqueue_variants, gallery, generate, generate_image, mcp_server, models,
        preflight_check, queue_and_return, queue_status, review, run_image_queue, spend)}


def help_text(name: str) -> str | None:
    """``name``'s ``--help`` text, or None for a script without an argparse parser."""
    build = getattr(commands()[name], "build_parser", None)
    if build is None:
        return None
    return build().format_help().rstrip()


def markdown() -> str:
    from ..names import COMMANDS

    installed = ", ".join(f"`{script}`: `{command}`" for script, command in COMMANDS.items())
    sections = [HEADER + installed + ".\n"]
    for name in scripts():
        text = help_text(name)
        if text is not None:
            sections.append(f"## {name}.py\n\n```text\n{text}\n```\n")
    return "\n".join(sections)


if __name__ == "__main__":
    print(markdown(), end="")
