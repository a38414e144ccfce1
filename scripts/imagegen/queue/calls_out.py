"""The paid calls a worker's jobs have out, kept in their leases.

A job's lease names each paid call before its request is sent and drops it once the call's ledger
line is written. So whatever ends the worker, the call is charged once: a worker killed with
SIGKILL leaves the names for the next drain's recovery to write (``leases.record_calls_out``), and
one stopped by a signal writes them itself and clears them (:meth:`CallsOut.abandon`).
"""

from __future__ import annotations

import threading
from typing import Any

from ..fsutil import now_iso
from . import leases
from .layout import QueueDirs, request_of


class CallsOut:
    """job id -> its paid calls out now; changed under the worker's ``lock``, with its leases."""

    def __init__(self, dirs: QueueDirs, lock: threading.Lock) -> None:
        self.dirs, self.lock = dirs, lock
        self.calls: dict[str, list[dict[str, Any]]] = {}

    def of(self, name: str) -> list[dict[str, Any]] | None:
        """The calls a job has out (the caller holds the lock), for its lease's heartbeat."""
        return self.calls.get(name)

    def told(self, worker: leases.Worker, in_flight: dict[str, float], name: str,
             call: dict[str, Any] | None) -> None:
        """A job's call goes out (``call``) or is over (None): its lease says so at once."""
        with self.lock:
            calls = self.calls.setdefault(name, [])
            if call is not None:
                calls.append({**call, "since": now_iso()})
            elif calls:
                calls.pop(0)
            if name in in_flight:
                leases.refresh(self.dirs, name, worker, in_flight[name], calls)
            if not calls:
                self.calls.pop(name, None)

    def abandon(self, worker: leases.Worker | None, in_flight: dict[str, float]) -> int:
        """The drain is interrupted with calls out: each goes in the ledger as charge_unknown now and
        leaves its job's lease, so the recovery of the job does not add it again. How many."""
        written = 0
        with self.lock:
            for name, calls in list(self.calls.items()):
                path = self.dirs.lease_path(name)
                if not calls or not path.exists():
                    continue
                written += leases.record_calls_out(path, {"job_id": name, "request_id": request_of(name)},
                                                   "interrupted")
                if worker is not None and name in in_flight:
                    leases.refresh(self.dirs, name, worker, in_flight[name], None)
            self.calls.clear()
        return written
