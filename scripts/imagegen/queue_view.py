"""A read-only view of the job queue directory, for preflight checks and the gallery.

The queue scripts own the layout; this module only reads it::

    <queue>/pending/<job>.json    waiting for a worker
    <queue>/running/<job>.json    claimed by a worker
    <queue>/results/<job>.json    done: job_id, request_id, status, result (generate's JSON, with path)
    <queue>/failed/<job>.json     given up: job_id, request_id, status, error
    <queue>/workers/slot-N.lock   each live worker holds one with flock

Nothing here writes, moves or locks a job for longer than a non-blocking probe.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATES = ("pending", "running", "results", "failed")
DEFAULT_QUEUE_DIR = Path("generated") / "imagegen-queue"
ORPHAN_AFTER_SECONDS = 1800
SUBDIRS = STATES + ("workers",)


@dataclass
class Job:
    state: str
    path: Path
    data: dict[str, Any] | None  # None when the file is not readable JSON
    mtime: float

    @property
    def job_id(self) -> str:
        value = (self.data or {}).get("job_id")
        return str(value) if value else self.path.stem

    @property
    def request_id(self) -> str | None:
        value = (self.data or {}).get("request_id")
        return str(value) if value is not None else None

    @property
    def result(self) -> dict[str, Any]:
        value = (self.data or {}).get("result")
        return value if isinstance(value, dict) else {}

    @property
    def error(self) -> Any:
        return (self.data or {}).get("error")

    def image_paths(self) -> list[Path]:
        """The images a finished job made, as absolute paths (relative ones are taken from the queue dir)."""
        result = self.result
        names = result.get("all_paths") if isinstance(result.get("all_paths"), list) else []
        if not names and isinstance(result.get("path"), str):
            names = [result["path"]]
        base = self.path.parent.parent
        return [(base / name) if not Path(name).is_absolute() else Path(name) for name in names if isinstance(name, str)]


@dataclass
class Slot:
    name: str
    path: Path
    busy: bool


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def jobs(queue_dir: Path, states: tuple[str, ...] = STATES) -> list[Job]:
    """Every job file in ``states``, oldest first; a file that vanishes mid-read is skipped."""
    found: list[Job] = []
    for state in states:
        directory = queue_dir / state
        if not directory.is_dir():
            continue
        for path in directory.glob("*.json"):
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            found.append(Job(state, path, _read(path), mtime))
    return sorted(found, key=lambda job: (job.mtime, job.path.name))


def for_request(queue_dir: Path, request_id: str) -> list[Job]:
    return [job for job in jobs(queue_dir) if job.request_id == request_id]


def slot_busy(path: Path) -> bool:
    """True when a live process holds ``path`` with flock (probed without blocking)."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def slots(queue_dir: Path) -> list[Slot]:
    directory = queue_dir / "workers"
    if not directory.is_dir():
        return []
    found = sorted(directory.glob("slot-*.lock"), key=lambda p: (len(p.name), p.name))
    return [Slot(p.stem, p, slot_busy(p)) for p in found]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def stranded(queue_dir: Path, *, orphan_after: float = ORPHAN_AFTER_SECONDS,
             now: float | None = None) -> list[tuple[Job, str]]:
    """Running jobs no live worker can be holding, each with the reason it looks abandoned."""
    now = time.time() if now is None else now
    busy = sum(1 for slot in slots(queue_dir) if slot.busy)
    found: list[tuple[Job, str]] = []
    for job in jobs(queue_dir, ("running",)):
        pid = (job.data or {}).get("worker_pid")
        age = now - job.mtime
        if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 and not _pid_alive(pid):
            found.append((job, f"its worker (pid {pid}) is gone"))
        elif busy == 0:
            found.append((job, "no worker holds a slot"))
        elif age > orphan_after:
            found.append((job, f"running for {int(age)}s, longer than {int(orphan_after)}s"))
    return found


def counts(queue_dir: Path) -> dict[str, int]:
    return {state: len(list((queue_dir / state).glob("*.json"))) if (queue_dir / state).is_dir() else 0
            for state in STATES}
