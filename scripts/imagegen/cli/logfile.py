"""--log-file: a run's stderr lines and its JSON document appended to a file instead of the terminal.

For cron, which mails whatever a job prints, and whose ``>> logs/x.log`` redirect fails on a fresh
folder: the shell opens the file before the script runs, so nothing can create ``logs/`` first.
A file over :data:`MAX_BYTES` is rotated before it is written (``x.log`` -> ``x.log.1`` -> ... ->
``x.log.{KEEP}``, the oldest dropped), so a worker cron starts every minute never fills the disk.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import UsageError

MAX_BYTES = 1024 * 1024  # a log over this is rotated before the next run writes to it
KEEP = 3  # rotated files kept beside the live one


def rotate(path: Path, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
    """Move ``path`` to ``path.1`` (and each older one up a number) when it has grown past ``max_bytes``.
    Renames are atomic: two runs rotating at once lose at most one old file, never a line being written."""
    import os

    try:
        if os.stat(path).st_size <= max_bytes:
            return
    except OSError:
        return  # no log yet (or one we cannot see): open() says what is wrong
    for number in range(keep - 1, 0, -1):
        try:
            os.replace(f"{path}.{number}", f"{path}.{number + 1}")
        except OSError:
            pass  # that generation does not exist yet
    try:
        os.replace(path, f"{path}.1")
    except OSError:
        pass


class LogFile:
    """``with LogFile() as log:`` ... ``log.open(path)`` sends stdout and stderr to ``path`` (its folders
    created) until the block ends; the streams are restored then, whatever happened."""

    def __init__(self) -> None:
        self.handle: Any = None
        self.saved: tuple[Any, Any] | None = None

    @property
    def active(self) -> bool:
        return self.handle is not None

    def open(self, path: Path) -> None:
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            rotate(path)
            handle = open(path, "a", encoding="utf-8", errors="backslashreplace", buffering=1)
        except OSError as error:
            raise UsageError(f"cannot write --log-file {path}: {error.strerror or error}",
                             details="choose a file in a folder you can write to") from None
        self.saved = (sys.stdout, sys.stderr)
        self.handle = handle
        sys.stdout = sys.stderr = handle

    def __enter__(self) -> LogFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self.saved is not None:
            sys.stdout, sys.stderr = self.saved
            self.saved = None
        if self.handle is not None:
            self.handle.close()
            self.handle = None
