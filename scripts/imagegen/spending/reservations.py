"""Reservations: the estimates of calls in flight, which every daily-budget check counts as spent.

A call reserves its estimate before it is sent; the reservation goes when the call's ledger line
is written, under the same lock in the same step, so a call is never counted twice or not at all.
They live beside the ledger in ``<ledger>.reservations``, one JSON object a line, and are read and
written only while the ledger's flock is held. A reservation also ends when its deadline passes
(the longest its call can run) or when its process is gone, so a crashed run never blocks the
budget. Reservations are not spending: spend.py never reads them.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from ..localjson import loads, read_bytes

_counter = 0


def path_for(ledger: Path) -> Path:
    return ledger.with_name(ledger.name + ".reservations")


def new(usd: float, seconds: float, *, detached: bool = False) -> dict[str, Any]:
    """A reservation held by this process (it dies with it), or ``detached``: held by a batch at a
    provider, which outlives the worker that submitted it, until settled or ``seconds`` pass."""
    global _counter
    _counter += 1
    pid = os.getpid()
    entry = {"id": f"{pid}-{time.time_ns()}-{_counter}", "pid": None if detached else pid,
             "host": socket.gethostname(), "usd": usd, "expires": time.time() + seconds}
    return entry


def read(ledger: Path) -> tuple[list[dict[str, Any]], bool]:
    """The live reservations, and whether stale ones (expired, of a dead process, unreadable) were seen."""
    try:
        data = read_bytes(path_for(ledger), 64 * 1024 * 1024, follow_links=True)
    except FileNotFoundError:
        return [], False
    except ValueError:  # not a regular file (a FIFO would block every budgeted run), or absurdly big
        return [], True
    live, stale = [], False
    for raw in data.splitlines():
        try:
            entry = loads(raw)
        except ValueError:  # LocalFileError included: not JSON, or nested too deep
            stale = True
            continue
        if _is_live(entry):
            live.append(entry)
        else:
            stale = True
    return live, stale


def write(ledger: Path, entries: list[dict[str, Any]]) -> None:
    """Replace the reservations (the ledger's lock is held: nobody reads a half-written file)."""
    data = "".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in entries).encode("utf-8")
    # Non-blocking: a FIFO planted in its place must fail the write (ENXIO), not hang every budgeted run.
    fd = os.open(path_for(ledger), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NONBLOCK, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def total(entries: list[dict[str, Any]]) -> float:
    return round(sum(float(entry["usd"]) for entry in entries), 6)


def _is_live(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return False
    usd, expires, pid = entry.get("usd"), entry.get("expires"), entry.get("pid")
    if not isinstance(usd, (int, float)) or not isinstance(expires, (int, float)) or expires <= time.time():
        return False
    if not 0 <= usd < float("inf"):
        return False
    if isinstance(pid, int) and pid > 0 and entry.get("host", socket.gethostname()) == socket.gethostname():
        return _process_exists(pid)
    return True  # another machine's process: only its deadline can end it


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, alive
    return True
