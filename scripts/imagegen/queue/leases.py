"""Who holds what: worker slots, worker liveness, job leases, and recovery of orphaned jobs.

Liveness is proved with ``fcntl.flock``, never with pids: each worker holds an exclusive lock on
``workers/w-<worker_id>.lock`` for as long as it lives, and the kernel drops the lock when the
process dies, however it dies. Nobody ever signals another process.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import localjson
from ..fsutil import (
    holds_other_than_a_file,
    now_iso,
    open_lock,
    remove_entry,
    set_aside,
    sweep_abandoned,
    unlink_quietly,
    write_json_atomic,
)
from . import store
from .job import DONE, FAILED, PENDING, RUNNING, CorruptJob, corrupt_record
from .layout import STATES, QueueDirs, valid_job_id, valid_worker_id

MAX_LEASE_BYTES = 64 * 1024  # a lease holds a worker id, a pid, a host and two times
LEASE_WRITE_GRACE = 10.0  # a lease younger than this may still be being written
DEFAULT_SLOTS = 2
DEFAULT_ORPHAN_TIMEOUT = 1800.0
DEFAULT_MAX_ATTEMPTS = 3


def _try_lock(path: Path, create: bool) -> int | None:
    """An fd holding an exclusive flock on ``path``, or None if someone else holds it (or it is not a
    regular file: a FIFO or device planted there is never opened for blocking)."""
    flags = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | (os.O_CREAT if create else 0)
    try:
        fd = os.open(path, flags, 0o644)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@dataclass
class Slot:
    number: int
    fd: int

    def release(self) -> None:
        os.close(self.fd)


def acquire_slot(dirs: QueueDirs, slots: int) -> Slot | None:
    """One of the ``slots`` worker slots, or None when all are busy."""
    for number in range(slots):
        fd = _try_lock(dirs.workers / f"slot-{number}.lock", create=True)
        if fd is not None:
            return Slot(number, fd)
    return None


def busy_slots(dirs: QueueDirs, slots: int) -> list[int]:
    """Which slots a live worker holds right now (probing takes and drops each free lock)."""
    busy = []
    for number in range(slots):
        path = dirs.workers / f"slot-{number}.lock"
        if not path.exists():
            continue
        fd = _try_lock(path, create=False)
        if fd is None:
            busy.append(number)
        else:
            os.close(fd)
    return busy


class Worker:
    """This process's identity in the queue, alive while its lock is held."""

    def __init__(self, dirs: QueueDirs) -> None:
        self.dirs = dirs
        host = re.sub(r"[^A-Za-z0-9._-]", "_", os.uname().nodename).strip("._-")[:64] or "host"
        self.id = f"{host.replace('..', '_')}-{os.getpid()}-{os.urandom(4).hex()}"
        assert valid_worker_id(self.id)
        self.lock_path = dirs.workers / f"w-{self.id}.lock"
        fd = _try_lock(self.lock_path, create=True)
        assert fd is not None  # a fresh random name cannot be held by anyone else
        self.fd = fd

    def close(self) -> None:
        unlink_quietly(self.lock_path)
        os.close(self.fd)

    def lease(self, started: float | None = None) -> dict[str, Any]:
        now = time.time()
        return {"worker_id": self.id, "pid": os.getpid(), "host": os.uname().nodename,
                "started": started or now, "heartbeat": now}


def worker_alive(dirs: QueueDirs, worker_id: str, *, tidy: bool = True) -> bool:
    """Whether the worker still holds its lock. ``tidy`` removes a dead worker's lock file.

    ``worker_id`` comes from a lease, a file anyone could have planted: it must be a worker id
    (``layout.valid_worker_id``) before it names a file, or ``/../`` in it would reach outside the queue."""
    if not valid_worker_id(worker_id):
        raise ValueError(f"not a worker id: {worker_id[:80]!r}")
    path = dirs.workers / f"w-{worker_id}.lock"
    try:
        fd = _try_lock(path, create=False)
    except OSError:  # a link, FIFO or device where a worker's lock belongs: no worker holds it
        return False
    if fd is None:
        return path.exists()  # held by a live process (missing file: its owner is long gone)
    if tidy:
        unlink_quietly(path)  # we hold the dead worker's lock now: clear it away
    os.close(fd)
    return False


def claim(dirs: QueueDirs, job_id: str, worker: Worker) -> dict[str, Any] | None:
    """Take a pending job: lease first (O_EXCL), then the atomic rename. None if someone was faster;
    CorruptJob (after filing it in failed/) if the file is not a job."""
    lease_path = dirs.checked(RUNNING) / f"{job_id}.lease"
    pending = dirs.job_path(PENDING, job_id)
    if holds_other_than_a_file(pending):
        # A directory or FIFO where a job file should be: file it as corrupt, never move it about.
        set_aside(pending)
        store.finish(dirs, corrupt_record(job_id, CorruptJob(f"{pending.name}: not a regular file")), FAILED)
        raise CorruptJob(f"{pending.name}: not a regular file")
    try:
        fd = os.open(lease_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        if holds_other_than_a_file(lease_path):
            set_aside(lease_path)  # no worker makes a lease that is not a file: it holds nothing
        return None
    with os.fdopen(fd, "w") as handle:
        json.dump(worker.lease(), handle)
    if not store.move(dirs, job_id, PENDING, RUNNING):
        os.unlink(lease_path)
        return None
    try:
        return store.read_job(dirs.job_path(RUNNING, job_id))
    except CorruptJob as error:
        store.finish(dirs, corrupt_record(job_id, error), FAILED)
        raise  # filed in failed/; the caller counts it


def refresh(dirs: QueueDirs, job_id: str, worker: Worker, started: float,
            calls: list[dict[str, Any]] | None = None) -> None:
    """Rewrite a held lease with a new heartbeat and the paid calls out now, ``calls_out`` (never
    create one that is gone): a worker that dies leaves in its lease what may have been billed."""
    if not dirs.lease_path(job_id).exists():
        return
    lease = worker.lease(started)
    if calls:
        lease["calls_out"] = calls
    try:  # a lease outlives its worker's death, never the machine's: no fsync on the hot path
        write_json_atomic(dirs.lease_path(job_id), lease, durable=False)
    except OSError:
        pass  # a lease we cannot refresh is recovered only once we are dead: safe


def read_lease(path: Path) -> dict[str, Any] | None:
    """A lease's record, or None when the file is not one: not a regular file (a FIFO would block),
    too big, not JSON, or naming no valid worker id."""
    try:
        lease = localjson.read_json(path, MAX_LEASE_BYTES)
    except (OSError, ValueError):
        return None
    if not isinstance(lease, dict) or not valid_worker_id(lease.get("worker_id")):
        return None
    return lease


@dataclass
class Stranded:
    job_id: str
    reason: str


def find_orphans(dirs: QueueDirs, orphan_timeout: float, *, tidy: bool = True) -> list[Stranded]:
    """Leases whose worker is gone, and running jobs without a lease past the timeout.

    A lease whose worker's lock is free is an orphan at once; one whose worker cannot be probed
    (another host) only once its heartbeat is older than ``orphan_timeout``. With ``tidy=False``
    nothing is changed on disk (dead workers' lock files are left for the next recovery)."""
    now = time.time()
    found: list[Stranded] = []
    running = dirs.state_dir(RUNNING)
    try:
        names = sorted(os.listdir(running))
    except FileNotFoundError:
        return []
    for name in names:
        path = running / name
        if name.endswith((".lease", ".json")) and not valid_job_id(name.rsplit(".", 1)[0]):
            continue  # no job of ours has that name: nothing to recover
        if name.endswith(".lease"):
            job = name[:-6]
            try:
                age = now - path.lstat().st_mtime
            except FileNotFoundError:
                continue
            lease = read_lease(path)
            if lease is None or "worker_id" not in lease:
                if age > LEASE_WRITE_GRACE:
                    found.append(Stranded(job, "unreadable lease"))
                continue
            try:
                heartbeat_age = now - float(lease.get("heartbeat", 0))
            except (TypeError, ValueError):  # not one we wrote: judge it by the file's age
                heartbeat_age = age
            if not worker_alive(dirs, str(lease["worker_id"]), tidy=tidy):
                found.append(Stranded(job, f"worker {lease['worker_id']} is gone"))
            elif heartbeat_age > orphan_timeout and lease.get("host") != os.uname().nodename:
                found.append(Stranded(job, f"no heartbeat for {heartbeat_age:.0f}s from another host"))
        elif name.endswith(".json") and not name.startswith("."):
            job = name[:-5]
            if not (running / f"{job}.lease").exists():
                try:
                    age = now - path.stat().st_ctime
                except FileNotFoundError:
                    continue
                if age > orphan_timeout:
                    found.append(Stranded(job, "running without a lease"))
    return found


def recover(dirs: QueueDirs, orphan_timeout: float, max_attempts: int) -> list[dict[str, Any]]:
    """Return orphaned jobs to pending (attempts + 1) or, past ``max_attempts``, to failed/, and
    clear the temp files dead workers left in the queue."""
    fd = open_lock(dirs.checked("workers") / "recovery.lock")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # one recoverer at a time, or two would requeue one job twice
        actions = [_recover_one(dirs, s, max_attempts) for s in find_orphans(dirs, orphan_timeout)]
        for state in STATES:
            sweep_abandoned(dirs.state_dir(state))
    finally:
        os.close(fd)
    return [a for a in actions if a]


def record_calls_out(lease_path: Path, job: dict[str, Any], why: str = "worker_lost") -> int:
    """Put in the ledger, as ``charge_unknown`` at their estimates, the paid calls a lease says were
    out when its worker stopped (every call that may have reached a provider is there); how many."""
    from ..spending import ledger
    from .execute import SCRIPT

    lease = read_lease(lease_path) or {}
    calls = lease.get("calls_out")
    written = 0
    for call in calls[:MAX_CALLS_OUT] if isinstance(calls, list) else ():
        if not isinstance(call, dict):
            continue
        entry = ledger.new_entry(script=SCRIPT, model=str(call.get("model") or "unknown")[:200],
                                 request_id=job.get("request_id"), estimate=call.get("estimate_usd"),
                                 outcome="charge_unknown", error_kind=why, job_id=job.get("job_id"))
        entry.update({k: str(call[k])[:40] for k in ("provider", "size") if isinstance(call.get(k), str)})
        ledger.write(entry)
        written += 1
    return written


MAX_CALLS_OUT = 10  # a job makes at most this many calls at once (--n)


def _recover_one(dirs: QueueDirs, stranded: Stranded, max_attempts: int) -> dict[str, Any] | None:
    job_id = stranded.job_id
    lease = dirs.lease_path(job_id)
    running = dirs.job_path(RUNNING, job_id)
    if dirs.job_path(DONE, job_id).exists() or dirs.job_path(FAILED, job_id).exists():
        remove_entry(running)  # it finished; the worker died while tidying up
        remove_entry(lease)
        return {"job_id": job_id, "action": "already_finished"}
    if not running.exists():
        remove_entry(lease)  # died between taking the lease and the rename: the job is still pending
        return {"job_id": job_id, "action": "released_lease"}
    try:
        job = store.read_job(running)
    except CorruptJob as error:
        store.finish(dirs, corrupt_record(job_id, error), FAILED)
        return {"job_id": job_id, "action": "failed", "reason": str(error)}
    except FileNotFoundError:
        return None
    record_calls_out(dirs.lease_path(job_id), job)
    job["attempts"] = int(job.get("attempts", 0)) + 1
    job["charge_unknown"] = True  # the dead worker may have been mid-call
    job.setdefault("history", []).append({"at": now_iso(), "error_kind": "worker_lost",
                                          "error": stranded.reason, "charge_unknown": True})
    if job["attempts"] >= max_attempts:
        job.update(error_kind="worker_lost",
                   error=f"gave up after {job['attempts']} attempts; last: {stranded.reason}")
        store.finish(dirs, job, FAILED)
        return {"job_id": job_id, "action": "failed", "reason": stranded.reason}
    store.rewrite(dirs, RUNNING, job)
    store.move(dirs, job_id, RUNNING, PENDING)
    remove_entry(lease)
    return {"job_id": job_id, "action": "requeued", "reason": stranded.reason}
