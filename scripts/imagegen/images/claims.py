"""Claims on explicit output files, taken before anything is paid for.

Two runs asked for the same ``--output-file`` (or two queue jobs with one target) must not both pay
and then find that only one image can be saved. Before sending, a run claims each name it will
write: a file ``.imagegen-<name>.claim`` beside it, created if need be and held under an exclusive
``flock`` for as long as the run lives. A second run finds the lock taken and is refused with
``output_exists`` before anything is sent. Liveness is the lock, never a pid: the kernel drops it
when its process dies however it dies, so a crashed run's claim is taken over by the next run (or
cleared by the temp sweep, which removes ``.imagegen-`` files nobody holds). The claimant's pid and
start time are written inside only to be shown.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from ..errors import OutputExistsError
from ..fsutil import TEMP_PREFIX, unlink_quietly

try:
    import fcntl
except ImportError:  # no flock on this platform: no claims (the final exclusive link still holds)
    fcntl = None  # type: ignore[assignment]

MAX_NAME = 255
MAX_CLAIM_BYTES = 4096


def claim_path(target: Path) -> Path:
    name = f"{TEMP_PREFIX}{target.name}.claim"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NAME:
        name = f"{TEMP_PREFIX}{hashlib.sha256(os.fsencode(target.name)).hexdigest()[:32]}.claim"
    return target.with_name(name)


class Claims:
    """The claims one run holds; :meth:`release` lets them all go (safe to call more than once)."""

    def __init__(self) -> None:
        self._held: list[tuple[Path, int]] = []

    def take(self, targets: list[Path]) -> None:
        """Claim every target, or none: OutputExistsError when another live run holds one."""
        if fcntl is None:
            return
        try:
            for target in targets:
                self._held.append((claim_path(target), _take(target)))
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        held, self._held = self._held, []
        for path, fd in held:
            unlink_quietly(path)  # while still locked: nobody can take this inode for a live claim
            os.close(fd)


def _take(target: Path) -> int:
    path = claim_path(target)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputExistsError(
                f"output is being made by another run: {target}{holder}",
                details="nothing was sent; wait for that run, or choose another --output-file") from None
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)  # released (unlinked) between our open and our lock: take a fresh one
    record = json.dumps({"pid": os.getpid(), "host": os.uname().nodename, "since": time.time()}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, record, 0)
    return fd


def _holder(fd: int) -> str:
    """Who holds a claim, for the message (its pid), or nothing when it cannot be read."""
    try:
        record = json.loads(os.pread(fd, MAX_CLAIM_BYTES, 0) or b"{}")
        pid = record.get("pid") if isinstance(record, dict) else None
    except (OSError, ValueError):
        return ""
    return f" (process {pid})" if isinstance(pid, int) and not isinstance(pid, bool) else ""
