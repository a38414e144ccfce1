"""Files, written safely: whole or not at all, names claimed exclusively, leftovers swept, one timestamp.

Every writer of the project (the image writer, the queue, the model catalogue, the ledger, review
files) goes through here. A temp file is ``flock``-ed by its writer until it has its final name,
so the temp files of a writer that was killed (the only ones nobody holds) can be told apart and
swept away by :func:`sweep_abandoned`.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # no flock on this platform: temp files are still removed by their own writer
    fcntl = None  # type: ignore[assignment]

TEMP_PREFIX = ".imagegen-"

_FILE_MODE: int | None = None


def now_iso() -> str:
    """The current local time as the project writes it everywhere: RFC 3339 with the UTC offset."""
    from datetime import datetime

    return datetime.now().astimezone().isoformat(timespec="seconds")


def iso(epoch: float) -> str:
    """``epoch`` in the form of :func:`now_iso`."""
    from datetime import datetime

    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (0666 less the umask): mkstemp's 0600
    would leave images unreadable to the web server or the colleague the user shares them with."""
    global _FILE_MODE
    if _FILE_MODE is None:
        try:  # the umask can be read without changing it (Linux 4.7+)
            with open("/proc/self/status", encoding="ascii", errors="replace") as status:
                umask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
        except (OSError, StopIteration, ValueError, IndexError):
            umask = 0o022
        _FILE_MODE = 0o666 & ~umask
    return _FILE_MODE


def unlink_quietly(path: str | Path) -> None:
    """Remove ``path`` if it is there; a file that is already gone is not an error."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def remove_entry(path: str | Path) -> None:
    """Remove a queue entry that should be a file: gone already is fine; a directory planted in its
    place is renamed aside (``.corrupt-<name>-<ms>``, which no scan reads) so it blocks nothing."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except (IsADirectoryError, PermissionError):
        set_aside(path)


def set_aside(path: str | Path) -> None:
    """Rename ``path`` to a hidden name beside it that no queue scan reads (it is kept for a person to look at)."""
    path = Path(path)
    try:
        os.rename(path, path.with_name(f".corrupt-{path.name}-{time.time_ns() // 1_000_000}"))
    except FileNotFoundError:
        pass


def holds_other_than_a_file(path: str | Path) -> bool:
    """Whether something that is not a regular file (a directory, FIFO, link) stands at ``path``:
    one lstat, so an entry another process renames away meanwhile reads as missing, never as odd."""
    try:
        return not stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def new_temp(directory: Path, suffix: str = ".part") -> tuple[int, str]:
    """A temp file in ``directory``, locked for as long as the returned descriptor stays open."""
    while True:
        fd, temp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX, suffix=suffix)
        os.fchmod(fd, file_mode())
        if fcntl is None:
            return fd, temp
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(temp).st_ino == os.fstat(fd).st_ino:
                return fd, temp
        except FileNotFoundError:
            pass
        os.close(fd)  # a sweep took it between its creation and our lock: take another name


def sweep_abandoned(directory: Path) -> list[str]:
    """Remove the temp files that writers killed mid-write left in ``directory``; their names.

    A live writer holds the lock on its temp file, so only leftovers can be locked here.
    """
    if fcntl is None:
        return []
    try:
        names = [name for name in os.listdir(directory) if name.startswith(TEMP_PREFIX)]
    except OSError:
        return []
    removed = []
    for name in names:
        path = directory / name
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                os.unlink(path)
                removed.append(name)
        except OSError:
            continue  # held by a live writer, already gone, or not ours to remove
        finally:
            os.close(fd)
    return removed


class Sweeper:
    """:func:`sweep_abandoned` at most once every ``interval`` seconds per folder: a long-lived writer
    (the queue worker) filling one big folder must not list all of it again for every file."""

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self.last: dict[str, float] = {}

    def sweep(self, directory: Path) -> None:
        import time

        now, key = time.monotonic(), os.path.abspath(directory)
        if now - self.last.get(key, float("-inf")) >= self.interval:
            self.last[key] = now
            sweep_abandoned(directory)


def write_atomic(path: Path, data: bytes, *, exclusive: bool = False, durable: bool = True) -> None:
    """Write ``data`` to ``path`` whole or not at all (exclusive: FileExistsError if it exists).
    ``durable=False`` skips the fsync: whole across a killed process, not across a power cut."""
    fd, temp = new_temp(path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
            # Named while still open (so still locked): no sweep can take the temp file first.
            if exclusive:
                os.link(temp, path)
            else:
                os.replace(temp, path)
    finally:
        unlink_quietly(temp)


def write_json_atomic(path: Path, document: Any, *, exclusive: bool = False, durable: bool = True) -> None:
    """Write ``document`` as JSON, whole or not at all, with any API key masked."""
    from .contract import json_text

    write_atomic(path, (json_text(document) + "\n").encode("utf-8"), exclusive=exclusive, durable=durable)


def open_lock(path: Path) -> int:
    """A descriptor on the lock file ``path`` (created if missing) to ``flock``: opened without following
    a link and without blocking, and refused (OSError) when something other than a regular file is there,
    so a FIFO planted in its place cannot hang whoever takes the lock."""
    import errno
    import stat

    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file (a lock file must be one)", str(path))
    return fd


def create_exclusive(path: Path, data: bytes, mode: int = 0o644) -> bool:
    """Create ``path`` holding ``data`` unless it exists; False when another writer was first."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return True
