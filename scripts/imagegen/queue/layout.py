"""Where everything lives in a queue directory, and the names that are safe to use there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

DEFAULT_QUEUE_DIR = Path("./generated/imagegen-queue")
STATES = ("pending", "running", "submitted", "results", "failed")
FIRST_STATES = ("pending", "running", "results", "failed")  # every queue has these; submitted/ came with batch mode
SUBDIRS = STATES + ("index", "workers", "logs", "batches")
# Anything a file name can hold safely: no separators, whitespace or control characters, no dot first.
SAFE_ID = re.compile(r"^[A-Za-z0-9<(\[{_][^/\\\s\x00-\x1f\x7f]{0,127}\Z")  # \Z: $ allows a final newline
VARIANT_SEPARATOR = "--"
# A worker's id is <host>-<pid>-<8 hex>, the host name reduced to these characters (leases.Worker).
WORKER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}-[0-9]{1,10}-[0-9a-f]{8}\Z")


def check_request_id(value: str) -> str:
    """Request ids become file names: refuse anything that could leave the queue directory."""
    if not valid_request_id(value):
        raise UsageError(
            f"invalid request id {value!r}",
            details="at most 128 characters, starting with a letter or digit, without '/', '\\', spaces or '..', "
                    "e.g. discord-1234",
            kind="usage",
        )
    return value


def request_id_or_new(value: str | None) -> str:
    """The given request id, checked, or a fresh one when none was given."""
    if value is None:
        import os
        import time

        return f"req-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}"
    return check_request_id(value)


def valid_request_id(value: object) -> bool:
    """Whether ``value`` (read from a file, so of any type) may become part of a path as a request id."""
    return isinstance(value, str) and bool(SAFE_ID.match(value)) and ".." not in value


def valid_job_id(value: object) -> bool:
    """Whether ``value`` may become part of a path as a job id (``<request>--NNNN`` or a legacy id)."""
    return valid_request_id(value)


def valid_worker_id(value: object) -> bool:
    """Whether ``value`` (a lease's ``worker_id``) may name a lock file under ``workers/``."""
    return isinstance(value, str) and bool(WORKER_ID.match(value)) and ".." not in value


def job_id(request_id: str, variant: int) -> str:
    return f"{request_id}{VARIANT_SEPARATOR}{variant:04d}"


def request_of(job: str) -> str:
    return job.rsplit(VARIANT_SEPARATOR, 1)[0]


@dataclass(frozen=True)
class QueueDirs:
    root: Path

    @classmethod
    def at(cls, root: str | Path) -> QueueDirs:
        return cls(Path(root).expanduser().resolve())

    def state_dir(self, state: str) -> Path:
        return self.root / state

    def job_path(self, state: str, job: str) -> Path:
        return self.root / state / f"{job}.json"

    def request_account(self, request_id: str) -> Path:
        """The file of a request's budget (its --max-cost over all its jobs), beside its index; its
        folders are refused when they are symbolic links, its id when it is no safe name."""
        check_request_id(request_id)
        self.checked("index")
        return self.checked(f"index/{request_id}") / "budget.json"

    def lease_path(self, job: str) -> Path:
        return self.root / "running" / f"{job}.lease"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def workers(self) -> Path:
        return self.root / "workers"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def ensure(self) -> QueueDirs:
        """Create the queue's folders; refuse one that is a symbolic link (a job filed through it would
        land wherever it points)."""
        try:
            for name in SUBDIRS:
                (self.checked(name)).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"queue directory is not usable: {self.root} ({error.strerror or error})",
                             details="choose another --queue-dir or fix its permissions", kind="queue_dir") from None
        return self

    def checked(self, name: str) -> Path:
        """The queue folder ``name`` (a state, index, workers, logs), refused when it is a symbolic link."""
        path = self.root / name
        if path.is_symlink():
            raise UsageError(f"queue folder {path} is a symbolic link; the queue's folders must be real folders",
                             details=f"move the link away (mv {path} {path}.link) and run again", kind="queue_dir")
        return path

    def exists(self) -> bool:
        return all((self.root / name).is_dir() for name in FIRST_STATES)

    @property
    def batches(self) -> Path:
        return self.root / "batches"
