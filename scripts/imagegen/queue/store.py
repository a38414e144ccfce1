"""Job files and their moves between states. Every move is one atomic rename, so a job is in
exactly one state directory at any moment (a crash between "write the result" and "drop the
running copy" leaves both, and recovery resolves that in favour of the result)."""

from __future__ import annotations

import fcntl
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import localjson, validate
from ..contract import json_text
from ..errors import UsageError
from ..fsutil import create_exclusive, now_iso, open_lock, remove_entry, write_json_atomic
from .job import DONE, FAILED, FORMAT, PENDING, RUNNING, STATUS_OF, SUBMITTED, CorruptJob
from .layout import STATES, QueueDirs, job_id, request_of, valid_job_id

INDEX_LOCK = ".lock"  # in index/<request_id>/: held while a variant is found or claimed
MAX_JOB_BYTES = 1024 * 1024  # no job the enqueuers write comes near; a bigger file is not a job
MAX_INDEX_BYTES = 64 * 1024  # an index record holds a job id and an output path
# Fields the worker reads besides the request, and the JSON types they may have when present.
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "kind": str, "format": int, "variant": int, "output": str, "variation": str, "enqueued_by": dict,
    "history": list, "deferred_limit": str, "charge_unknown": bool, "preset_asked": str, "via": str, "batch": dict,
}

SETTING_CHECKS = {"timeout": validate.positive_float, "retries": validate.retries}


def origin() -> dict[str, Any]:
    """Who is enqueueing: used to detect a drain in the same session as the enqueue."""
    return {"pid": os.getpid(), "sid": os.getsid(0), "host": os.uname().nodename, "cwd": os.getcwd()}


def read_job(path: Path) -> dict[str, Any]:
    """A job file's record, shape checked (CorruptJob if it is not one); FileNotFoundError if it is gone."""
    job = _load(path)
    if not isinstance(job, dict) or not isinstance(job.get("job_id"), str) \
            or not isinstance(job.get("request", job.get("args")), dict):
        raise CorruptJob(f"{path.name}: JSON but not a job (needs job_id and request)")
    if not valid_job_id(job["job_id"]):  # it becomes a file name in results/ or failed/
        raise CorruptJob(f"{path.name}: its job_id {job['job_id'][:80]!r} cannot be a file name")
    if path.suffix == ".json" and job["job_id"] != path.stem:
        # Results are filed under the job_id: a mismatch would leave this file behind, or write outside the queue.
        raise CorruptJob(f"{path.name}: its job_id {job['job_id'][:80]!r} does not match the file name")
    if job.get("request_id") != request_of(job["job_id"]):
        raise CorruptJob(f"{path.name}: its request_id {str(job.get('request_id'))[:80]!r} is not its job's")
    for key, kinds in (("attempts", int), ("rate_limited_count", int), ("not_before", (int, float)),
                       ("request_max_cost_usd", (int, float))):
        value = job.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)
                                  or not math.isfinite(value) or (kinds is int and value < 0)):
            raise CorruptJob(f"{path.name}: '{key}' is not a usable number: {str(value)[:40]}")
    for key, check in SETTING_CHECKS.items():  # the enqueuer's --timeout and --retries, held to the flags' rules
        if key in job:
            try:
                job[key] = check(job[key])
            except ValueError as error:
                raise CorruptJob(f"{path.name}: '{key}' is not usable: {error}") from None
    for key, types in FIELD_TYPES.items():
        value = job.get(key)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool) and types is int):
            raise CorruptJob(f"{path.name}: '{key}' is {type(value).__name__}, not {_type_name(types)}")
    return job


def _load(path: Path) -> Any:
    """The JSON of a regular file of at most MAX_JOB_BYTES, opened non-blocking without following a link."""
    try:
        return localjson.read_json(path, MAX_JOB_BYTES)
    except localjson.LocalFileError as error:
        raise CorruptJob(f"not a job file: {error}") from None


def _type_name(kinds: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "a whole number", dict: "an object", list: "a list", bool: "true or false"}
    return " or ".join(names.get(kind, kind.__name__) for kind in (kinds if isinstance(kinds, tuple) else (kinds,)))


def locate(dirs: QueueDirs, job: str) -> tuple[str, Path] | None:
    """(state, path) of a job; finished states win over running (see module docstring)."""
    for state in (DONE, FAILED, SUBMITTED, RUNNING, PENDING):
        path = dirs.job_path(state, job)
        if path.exists():
            return state, path
    return None


def _claim_variant(folder: Path, variant: int, record: dict[str, Any]) -> bool:
    return create_exclusive(folder / f"{variant:04d}", json_text(record, indent=None).encode("utf-8"))


@contextmanager
def _request_locked(dirs: QueueDirs, request_id: str) -> Iterator[Path]:
    """The request's index folder, held exclusively: two enqueuers of one output must not both see it
    unclaimed and take two variant numbers."""
    dirs.checked("index")
    folder = dirs.checked(f"index/{request_id}")
    folder.mkdir(parents=True, exist_ok=True)
    fd = open_lock(folder / INDEX_LOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        os.close(fd)


def request_index(dirs: QueueDirs, request_id: str) -> list[tuple[int, dict[str, Any]]]:
    """The variants claimed for a request, in order: [(variant, {"job_id", "output"})]."""
    folder = dirs.index / request_id
    entries = []
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        entries.append((int(name), index_record(folder / name, request_id)))
    return entries


def index_record(path: Path, request_id: str) -> dict[str, Any]:
    """One claimed variant's record ``{"job_id", "output"}``, or {} when the file is not one (a FIFO, a
    link, a foreign job id): its number stays claimed, but nothing in it is trusted."""
    try:
        record = localjson.read_json(path, MAX_INDEX_BYTES)
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict):
        return {}
    name = record.get("job_id")
    if not (isinstance(name, str) and valid_job_id(name) and request_of(name) == request_id):
        record.pop("job_id", None)
    if not isinstance(record.get("output"), str):
        record.pop("output", None)
    return {key: record[key] for key in ("job_id", "output") if key in record}


def has_request(dirs: QueueDirs, request_id: str) -> bool:
    """Whether any variant of the request has been claimed (without reading the index's records)."""
    try:
        return any(name.isdigit() for name in os.listdir(dirs.index / request_id))
    except (FileNotFoundError, NotADirectoryError):
        return False


def request_ids(dirs: QueueDirs) -> list[tuple[float, str]]:
    """(time of the last claim, request id) of every request the queue has an index for."""
    found = []
    try:
        with os.scandir(dirs.index) as scan:
            for entry in scan:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        found.append((entry.stat(follow_symlinks=False).st_mtime, entry.name))
                except FileNotFoundError:
                    continue
    except FileNotFoundError:
        return []
    return found


def enqueue(dirs: QueueDirs, job: dict[str, Any], variant: int | None) -> tuple[dict[str, Any], bool]:
    """Write ``job`` to pending/. Returns (job, created); an existing job for the same request and
    variant (or, with no variant given, the same output path) is returned instead of a duplicate."""
    return enqueue_all(dirs, [job], [variant])[0]


def enqueue_all(dirs: QueueDirs, jobs: list[dict[str, Any]],
                variants: list[int | None]) -> list[tuple[dict[str, Any], bool]]:
    """:func:`enqueue` for jobs of one request, under one hold of its lock and one read of its index:
    a batch costs the same per job however long it is."""
    if not jobs:
        return []
    request_id = jobs[0]["request_id"]
    assert all(job["request_id"] == request_id for job in jobs), "one request per call"
    with _request_locked(dirs, request_id) as folder:
        index = _ClaimedVariants(folder, request_index(dirs, request_id))
        return [_write_pending(dirs, job, index.find_or_claim(job, variant))
                for job, variant in zip(jobs, variants, strict=True)]


class _ClaimedVariants:
    """A request's index as read once under its lock, kept up to date with the claims made since."""

    def __init__(self, folder: Path, entries: list[tuple[int, dict[str, Any]]]) -> None:
        self.folder = folder
        self.by_output: dict[Any, int] = {}
        for number, record in entries:
            self.by_output.setdefault(record.get("output"), number)
        self.next_free = len(entries)

    def find_or_claim(self, job: dict[str, Any], variant: int | None) -> int:
        """The variant number of this job: the given one, the one already queued for its output, or the next free."""
        request_id, output = job["request_id"], job.get("output")
        if variant is None and output:
            variant = self.by_output.get(output)
        if variant is not None:
            _claim_variant(self.folder, variant, {"job_id": job_id(request_id, variant), "output": output})
        else:
            variant = self.next_free
            while not _claim_variant(self.folder, variant, {"job_id": job_id(request_id, variant), "output": output}):
                variant += 1
            self.next_free = variant + 1
        if output:
            self.by_output.setdefault(output, variant)
        return variant


def _write_pending(dirs: QueueDirs, job: dict[str, Any], variant: int) -> tuple[dict[str, Any], bool]:
    request_id = job["request_id"]
    job_name = job_id(request_id, variant)
    found = locate(dirs, job_name)
    if found is not None:
        try:
            existing = read_job(found[1])
        except (CorruptJob, FileNotFoundError):
            existing = {"job_id": job_name, "request_id": request_id, "variant": variant}
        existing["state"] = found[0]
        return existing, False
    job = {**job, "format": FORMAT, "job_id": job_name, "variant": variant, "attempts": job.get("attempts", 0),
           "created_at": now_iso(), "updated_at": now_iso()}
    try:
        write_json_atomic(dirs.job_path(PENDING, job_name), job, exclusive=True)
    except FileExistsError:
        return read_job(dirs.job_path(PENDING, job_name)), False
    except OSError as error:
        raise UsageError(f"could not write the job to {dirs.root}: {error.strerror or error}",
                         kind="queue_dir") from None
    job["state"] = PENDING
    return job, True


def pending_names(dirs: QueueDirs, request_id: str | None = None) -> list[str]:
    """Pending job ids, oldest first (one directory scan)."""
    entries = []
    prefix = f"{request_id}--" if request_id else ""
    with os.scandir(dirs.state_dir(PENDING)) as scan:
        for entry in scan:
            name = entry.name
            if not name.endswith(".json") or name.startswith(".") or not name.startswith(prefix):
                continue
            try:
                stamp = entry.stat().st_mtime_ns
            except FileNotFoundError:
                continue
            entries.append((stamp, name[:-5]))
    entries.sort()
    return [name for _, name in entries]


def move(dirs: QueueDirs, job: str, source: str, target: str) -> bool:
    """Atomically move a job between states; False if it was no longer there."""
    dirs.checked(target)
    try:
        os.rename(dirs.job_path(source, job), dirs.job_path(target, job))
    except FileNotFoundError:
        return False
    return True


def rewrite(dirs: QueueDirs, state: str, job: dict[str, Any]) -> None:
    dirs.checked(state)
    job["updated_at"] = now_iso()
    write_json_atomic(dirs.job_path(state, job["job_id"]), job)


def finish(dirs: QueueDirs, job: dict[str, Any], state: str, source: str = RUNNING,
           status: str | None = None) -> Path:
    """Record the outcome in results/ or failed/ (``status``: which end, by default the folder's),
    then drop the ``source`` copy (running/ or submitted/) and its lease."""
    job["status"] = status or STATUS_OF[state]
    job["updated_at"] = now_iso()
    dirs.checked(state)
    target = dirs.job_path(state, job["job_id"])
    write_json_atomic(target, job)
    for path in (dirs.job_path(source, job["job_id"]), dirs.lease_path(job["job_id"])):
        remove_entry(path)
    return target


def counts(dirs: QueueDirs) -> dict[str, int]:
    result = {}
    for state in STATES:
        try:
            with os.scandir(dirs.state_dir(state)) as scan:
                result[state] = sum(1 for e in scan if e.name.endswith(".json") and not e.name.startswith("."))
        except FileNotFoundError:
            result[state] = 0
    return result


def jobs_of_request(dirs: QueueDirs, request_id: str) -> Iterator[tuple[str, str | None, dict[str, Any] | None]]:
    """(job_id, state or None, job or None) for every variant of a request."""
    for _, record in request_index(dirs, request_id):
        name = record.get("job_id")
        if not name or request_of(name) != request_id:
            continue
        found = locate(dirs, name)
        if found is None:
            yield name, None, None
            continue
        try:
            yield name, found[0], read_job(found[1])
        except (CorruptJob, FileNotFoundError):
            yield name, found[0], None

