"""Batch records: one JSON file per batch handed to a provider's engine, in the queue's ``batches/``.

A record is written before the provider is asked (``state: "submitting"``), naming its jobs; once
the provider answers it carries the batch id (``"submitted"``). Its jobs wait in ``submitted/``
until a later drain collects the batch. A record still "submitting" when a drain finds it was cut
off mid-submission: the provider is asked whether it has a batch of the record's name before
anything is sent again, so nothing is submitted twice.

Like job files, records are input, not trust: each is shape-checked when read.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..fsutil import now_iso, open_lock, unlink_quietly, write_json_atomic
from .layout import QueueDirs, valid_job_id, valid_request_id
from .store import _load

SUBMITTING, SUBMITTED = "submitting", "submitted"
NAME = re.compile(r"imagegen-\d{8}T\d{6}-[0-9a-f]{8}")
# A provider's batch id goes into a URL path: OpenAI's "batch_abc", Gemini's "batches/abc".
# A job's hold on its request's --max-cost: batch-<job id>-<8 hex>, the job id any a request id makes.
HOLD = re.compile(r"batch-(.+)-[0-9a-f]{8}", re.DOTALL)
BATCH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]{0,255}")
PROVIDERS = ("google", "openai")
LOCK = ".lock"


class CorruptRecord(Exception):
    """A file in batches/ that is not a batch record this queue wrote."""


def valid_hold(hold: Any) -> bool:
    match = HOLD.fullmatch(hold) if isinstance(hold, str) else None
    return match is not None and valid_job_id(match[1])


def new_name() -> str:
    return time.strftime("imagegen-%Y%m%dT%H%M%S-", time.gmtime()) + secrets.token_hex(4)


def path_of(dirs: QueueDirs, name: str) -> Path:
    return dirs.checked("batches") / f"{name}.json"


def new_record(provider: str, model: str, request_id: str, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """``jobs``: each ``{"job_id", "estimate_usd", "reservation"}``, and ``request_hold`` when the
    request has a --max-cost."""
    return {"name": new_name(), "provider": provider, "model": model, "request_id": request_id,
            "state": SUBMITTING, "jobs": jobs, "created_at": now_iso(), "batch_id": None}


def write(dirs: QueueDirs, record: dict[str, Any]) -> None:
    record["updated_at"] = now_iso()
    write_json_atomic(path_of(dirs, record["name"]), record)


def remove(dirs: QueueDirs, name: str) -> None:
    unlink_quietly(path_of(dirs, name))


def read(path: Path) -> dict[str, Any]:
    """A record, shape-checked: CorruptRecord when it is not one."""
    try:
        record = _load(path)
    except Exception as error:  # noqa: BLE001 - CorruptJob, a bad JSON: whatever it is, it is no record
        raise CorruptRecord(f"{path.name}: {error}") from None
    if not isinstance(record, dict) or record.get("name") != path.stem or not NAME.fullmatch(path.stem):
        raise CorruptRecord(f"{path.name}: not a batch record of this queue")
    if record.get("provider") not in PROVIDERS or record.get("state") not in (SUBMITTING, SUBMITTED):
        raise CorruptRecord(f"{path.name}: unknown provider or state")
    if not isinstance(record.get("model"), str) or not 0 < len(record["model"]) <= 200:
        raise CorruptRecord(f"{path.name}: no usable model")
    jobs = record.get("jobs")
    if not isinstance(jobs, list) or not jobs or not all(
            isinstance(j, dict) and valid_job_id(j.get("job_id")) for j in jobs):
        raise CorruptRecord(f"{path.name}: its jobs are not job ids")
    if not all(j.get("request_hold") is None or valid_hold(j["request_hold"]) for j in jobs):
        raise CorruptRecord(f"{path.name}: a job's budget hold is not one this queue makes")
    if not valid_request_id(record.get("request_id")):
        raise CorruptRecord(f"{path.name}: its request id is not one")
    batch_id = record.get("batch_id")
    if batch_id is not None and not (isinstance(batch_id, str) and BATCH_ID.fullmatch(batch_id)
                                     and ".." not in batch_id and "//" not in batch_id):
        raise CorruptRecord(f"{path.name}: its batch id is not one a provider gives")
    return record


def all_records(dirs: QueueDirs) -> Iterator[tuple[Path, dict[str, Any] | None]]:
    """Every record in batches/, oldest first, with None for a file that is not one."""
    folder = dirs.checked("batches")
    try:
        names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".json") and not e.name.startswith("."))
    except FileNotFoundError:
        return
    for name in names:
        path = folder / name
        try:
            yield path, read(path)
        except CorruptRecord:
            yield path, None


def find(dirs: QueueDirs, name: Any) -> dict[str, Any] | None:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return None
    try:
        return read(path_of(dirs, name))
    except (CorruptRecord, OSError):
        return None


@contextmanager
def exclusive(dirs: QueueDirs) -> Iterator[bool]:
    """The batch lock, taken without waiting: True when this drain is the one to submit and collect
    (another worker holding it is doing so now)."""
    folder = dirs.checked("batches")
    folder.mkdir(exist_ok=True)
    fd = open_lock(folder / LOCK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
