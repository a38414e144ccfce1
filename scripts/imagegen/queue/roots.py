"""Where a queued job may read and write: folders the worker is given, never folders a job names.

A job file is input (anyone who can write to ``pending/`` can plant one), so the paths in its
request are held to the worker's roots: the folder that holds the queue directory, the worker's
working directory, every ``--allow-root`` and the ``allow_roots`` of the user's
``$XDG_CONFIG_HOME/image-gen/config.json``. Each path is resolved first (``~``, ``..`` and every
symbolic link), so a link inside a root that leads out counts as outside. Outputs never land in
the queue directory itself, where an image's sidecar could pose as a job. A preset file, and the
reference images it names, may also come from the preset folders (the user's own).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .. import config, localjson
from ..errors import EXIT_USAGE, ConfigError, ImageGenError, UsageError
from ..record import Record

CONFIG_KEY = "allow_roots"


class OutsideRoots(ImageGenError):
    """A job names a path outside the worker's roots: refused before anything is read or sent."""

    kind = "outside_roots"
    exit_code = EXIT_USAGE


def config_file() -> Path:
    return config.user_config_dir() / "config.json"


def _resolved(path: str | Path) -> str:
    return os.path.realpath(os.path.expanduser(str(path)))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def configured_roots() -> list[str]:
    """The ``allow_roots`` of the user's config file (none when it does not exist)."""
    path = config_file()
    try:
        document = localjson.read_json(path, follow_links=True)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {path}: {error}", details="fix the file, or move it away") from None
    roots = document.get(CONFIG_KEY, []) if isinstance(document, dict) else None
    if not isinstance(roots, list) or not all(isinstance(root, str) and root.strip() for root in roots):
        raise ConfigError(f"{path}: '{CONFIG_KEY}' must be a list of folder names",
                          details=f'e.g. {{"{CONFIG_KEY}": ["~/Pictures", "/srv/images"]}}')
    return roots


class Roots(Record):
    folders: tuple[str, ...]  # resolved
    queue: str  # the queue directory, resolved: never an output
    preset_folders: tuple[str, ...]

    @classmethod
    def for_worker(cls, queue_root: Path, allowed: Iterable[str | Path] = ()) -> Roots:
        """The worker's roots: the queue's parent, the working directory, ``allowed`` and the config file's."""
        from ..prompt.presets import search_dirs

        extra = [(str(folder), "--allow-root") for folder in allowed]
        extra += [(folder, str(config_file())) for folder in configured_roots()]
        for folder, source in extra:
            if not os.path.isdir(_resolved(folder)):
                raise UsageError(f"allowed root {folder} (from {source}) is not a folder",
                                 details="create it, or fix the name")
        queue = _resolved(queue_root)
        folders = [os.path.dirname(queue), os.getcwd(), *(_resolved(folder) for folder, _ in extra)]
        return cls(tuple(dict.fromkeys(folders)), queue, tuple(_resolved(d) for d in search_dirs()))

    def holds(self, path: str, *, presets: bool = False) -> bool:
        folders = self.folders + (self.preset_folders if presets else ())
        return any(_inside(path, folder) for folder in folders)

    def check_request(self, request: Any, job_id: str) -> None:
        """Refuse a request whose outputs, workspace or input files leave the roots; nothing is read."""
        from ..prompt.baseline import is_url

        outputs = [request.output_file, request.output_file + ".json"] if request.output_file else [request.output_dir]
        for path in outputs:
            self._check(job_id, "output", path, output=True)
        inputs = [("workspace root", request.workspace_root), ("input image", request.baseline_image)]
        inputs += [("input image", path) for path in request.input_images]
        inputs += [("style reference", path) for path in request.style_refs]
        for what, path in inputs:
            if path and not is_url(path):
                self._check(job_id, what, path)
        if request.preset and ("/" in request.preset or os.path.isabs(request.preset)):
            self._check(job_id, "preset", request.preset, presets=True)

    def check_plan(self, plan: Any, job_id: str) -> None:
        """Refuse images the plan loaded from outside the roots (a preset's reference_images)."""
        for image in plan.input_images + plan.style_refs:
            self._check(job_id, "image", str(image.path), presets=True)

    def _check(self, job_id: str, what: str, path: str, *, output: bool = False, presets: bool = False) -> None:
        resolved = _resolved(path)
        if output and _inside(resolved, self.queue):
            raise self._refusal(job_id, f"its {what} {path} is inside the queue directory {self.queue}")
        if not self.holds(resolved, presets=presets):
            shown = path if resolved == path else f"{path} ({resolved})"
            raise self._refusal(job_id, f"its {what} {shown} is outside the folders this worker may use "
                                        f"({', '.join(self.folders)})")

    def _refusal(self, job_id: str, problem: str) -> OutsideRoots:
        return OutsideRoots(f"job {job_id[:80]}: {problem}", retryable=False,
                            details=f"queue it again with paths inside them, or start the worker with --allow-root "
                                    f"DIR (or list DIR under '{CONFIG_KEY}' in {config_file()})")
