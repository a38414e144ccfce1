"""The folders a tool call may touch: ``--workdir``, every ``--allow-root``, the ``allow_roots`` of the
user's config file and, when the client offers them, the roots it lists (MCP ``roots/list``).

A tool call comes from a model, so its paths are held to the folders the user chose, as a queued
job's are (``queue.roots``): every path argument (outputs, inputs, masks, the queue folder, a preset
file) is resolved (``~``, ``..`` and every symbolic link) and refused when it leads outside them,
before anything is read, sent or written. A preset file may also come from the preset folders.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ..errors import UsageError
from ..queue.roots import OutsideRoots, configured_roots


def _resolved(path: str | Path) -> str:
    return os.path.realpath(os.path.expanduser(str(path)))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "data:"))


class Roots:
    """The folders of one server, shared by its calls (the client's roots may change while it runs)."""

    def __init__(self, workdir: str | Path, allowed: Iterable[str | Path] = (), *, use_config: bool = True) -> None:
        from ..prompt.presets import search_dirs

        extra = [(str(folder), "--allow-root") for folder in allowed]
        if use_config:
            from ..queue.roots import config_file

            extra += [(folder, str(config_file())) for folder in configured_roots()]
        for folder, source in extra:
            if not os.path.isdir(_resolved(folder)):
                raise UsageError(f"allowed root {folder} (from {source}) is not a folder",
                                 details="create it, or fix the name")
        self.own = tuple(dict.fromkeys([_resolved(workdir), *(_resolved(folder) for folder, _ in extra)]))
        self.client: tuple[str, ...] = ()
        self.preset_folders = tuple(_resolved(d) for d in search_dirs())
        self._lock = threading.Lock()

    @property
    def folders(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(dict.fromkeys(self.own + self.client))

    def set_client_roots(self, roots: Any) -> list[str]:
        """Take the client's ``roots/list`` answer (``{"roots": [{"uri": "file:///..."}]}``): the
        ``file:`` folders that exist. Returns them."""
        found = []
        for root in roots if isinstance(roots, list) else []:
            uri = root.get("uri") if isinstance(root, dict) else None
            if not isinstance(uri, str) or not uri.startswith("file://"):
                continue
            parts = urlsplit(uri)
            if parts.netloc not in ("", "localhost"):
                continue
            path = unquote(parts.path)
            if os.path.isabs(path) and os.path.isdir(path):
                found.append(_resolved(path))
        with self._lock:
            self.client = tuple(dict.fromkeys(found))
        return found

    def holds(self, path: str | Path, *, presets: bool = False) -> bool:
        resolved = _resolved(path)
        folders = self.folders + (self.preset_folders if presets else ())
        return any(_inside(resolved, folder) for folder in folders)

    def check_call(self, tool_name: str, arguments: Iterable[Any], request: Any, values: dict[str, Any]) -> None:
        """Refuse (OutsideRoots) a call whose path arguments lead outside the roots; nothing is read."""
        for name, path, presets in _paths(arguments, request, values):
            if not self.holds(path, presets=presets):
                resolved = _resolved(path)
                shown = path if resolved == path else f"{path} ({resolved})"
                raise OutsideRoots(
                    f"{tool_name}: {name} {shown} is outside the folders this server may use "
                    f"({', '.join(self.folders)})", retryable=False,
                    details="use a path inside them, or have the user start the server with --allow-root DIR "
                            "(or list the folder among the client's roots)")


def _paths(arguments: Iterable[Any], request: Any, values: dict[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(argument, path, may be in a preset folder) for every path a call names."""
    from .. import validate

    for argument in arguments:
        field = argument.field
        if not (field.path or field.check is validate.path or argument.convert is not None):
            continue
        value = getattr(request, argument.name, None) if argument.in_request else values.get(argument.name)
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is None or not str(item) or _is_url(str(item)):
                continue
            item = str(item)
            if argument.name == "preset":
                if "/" not in item and not os.path.isabs(item):
                    continue  # a preset's name, found in the preset folders
                yield argument.name, item, True
            else:
                yield argument.name, item, False
