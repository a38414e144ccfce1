"""What each script is called: a file in a checkout (``generate.py``) or the console command an
install puts on PATH (``image-gen-generate``, pyproject's ``[project.scripts]``), and where the
documents its help points at are (``references/``, shipped inside the package).

A command's help speaks of itself and its siblings by the name it was started under, so an example
copied from ``image-gen-generate --help`` runs as written under pipx, and a document it names exists.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# script file -> installed command; a test holds this to pyproject.toml
COMMANDS = {
    "generate.py": "image-gen-generate",
    "generate_image.py": "image-gen-generate-image",
    "edit.py": "image-gen-edit",
    "review.py": "image-gen-review",
    "preflight_check.py": "image-gen-preflight",
    "models.py": "image-gen-models",
    "spend.py": "image-gen-spend",
    "gallery.py": "image-gen-gallery",
    "enqueue_image_job.py": "image-gen-enqueue",
    "enqueue_variants.py": "image-gen-enqueue-variants",
    "queue_and_return.py": "image-gen-queue-and-return",
    "run_image_queue.py": "image-gen-run-queue",
    "queue_status.py": "image-gen-queue-status",
    "mcp_server.py": "image-gen-mcp",
}
PREFIX = "image-gen-"
# Compiled on use (re caches them): only an installed command's --help rewrites its text.
_SCRIPT = r"(?:python3\s+)?(?:\S*/)?\b(" + "|".join(re.escape(n[:-3]) for n in COMMANDS) + r")\.py\b"
_DOCUMENT = r"(?<!> )(?<![\w/.-])references/([\w./-]+\.(?:md|json))"


def invoked() -> str:
    """The name this process was started under (``image-gen-generate`` for an installed command)."""
    return os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""


def program_name(script: str) -> str:
    """The name to show in usage, examples and errors: an installed console command's own, else the script's."""
    name = invoked()
    return name if name.startswith(PREFIX) else script


def docs_dir() -> Path:
    """The documents the help names: ``references/``, package data of an install (a link in a checkout)."""
    return Path(__file__).resolve().parent / "references"


def commands_named(text: str) -> str:
    """``text`` with each script named by its installed command (``generate.py``: ``image-gen-generate``)."""
    return re.sub(_SCRIPT, lambda match: COMMANDS[match[1] + ".py"], text)


def for_command(text: str) -> str:
    """``text`` as an installed command shows it: scripts by their command names, documents by the path
    they were installed at (left as they are where they were not)."""
    text = commands_named(text)
    folder = docs_dir()

    def document(match: re.Match[str]) -> str:
        path = folder / match[1]
        return str(path) if path.is_file() else match[0]

    return re.sub(_DOCUMENT, document, text)
