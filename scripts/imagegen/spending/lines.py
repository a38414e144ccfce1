"""Reading the ledger's lines without holding its history: the recent end, read backwards, and the
whole ledger, streamed one bounded line at a time.

A budget check needs only the last few days. Lines are appended as calls end, so their times
rise through the file; :func:`read_recent` reads blocks from the end and stops once it has passed
a run of lines older than the window, so its cost follows the window's lines, not the ledger's
length. :func:`stream` yields every entry of the first ``size`` bytes with memory that does not
grow with the ledger.

Every line is hostile until parsed: a line longer than :data:`MAX_LINE`, one that is not a JSON
object with a readable ``time``, or one nested too deep (``localjson.loads`` bounds the depth) is
skipped and counted as damaged, never a crash.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, BinaryIO

from ..localjson import loads

BLOCK = 64 * 1024
MAX_LINE = 64 * 1024  # a ledger line is under 2 KiB: one longer than this was not written by us
# Lines older than the window tolerated before reading stops: appends from workers whose entries were
# stamped a little apart, or an old line pasted in by hand, do not end the reading early.
OLD_RUN = 100
_DAMAGED = b"\x00damaged"


@functools.cache
def _stamp() -> re.Pattern[bytes]:
    """Lines written by this project start with their time; a line that does not is parsed in full.
    (Compiled when the ledger is first read, not by every run that imports this module.)"""
    return re.compile(rb'^\{\s*"time"\s*:\s*"(\d{4}-\d{2}-\d{2})')


class Reading:
    """What a read found: the entries (oldest first), how many lines were damaged, and its cost.
    (A plain class: dataclasses would cost every paid run its import.)"""

    __slots__ = ("bad", "bytes_read", "entries", "lines_parsed")

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries
        self.bad = self.bytes_read = self.lines_parsed = 0


def entry_time(entry: dict[str, Any]) -> datetime | None:
    """A ledger entry's time as an aware local datetime (naive times are taken as local), or None."""
    value = entry.get("time")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return None
    return moment.astimezone()


def parse(raw: bytes) -> dict[str, Any] | None:
    """One line as an entry, or None when it is damaged (not JSON, too deep, no object, no time)."""
    if len(raw) > MAX_LINE:
        return None
    try:
        entry = loads(raw, name="a ledger line")  # depth-bounded: a line nested thousands deep is refused
    except ValueError:
        return None
    if isinstance(entry, dict) and entry_time(entry) is not None:
        return entry
    return None


def _raw_day(raw: bytes) -> date | None:
    match = _stamp().match(raw)
    if match is None:
        return None
    try:
        return date.fromisoformat(match[1].decode())
    except ValueError:
        return None


def _backward(fd: int, size: int, reading: Reading) -> Iterator[bytes]:
    """The lines of the first ``size`` bytes of ``fd``, last first; an overlong line comes as _DAMAGED."""
    position, tail, overlong = size, b"", False
    while position > 0:
        step = min(BLOCK, position)
        position -= step
        block = os.pread(fd, step, position)
        reading.bytes_read += len(block)
        parts = block.split(b"\n")
        if overlong:
            if len(parts) == 1:
                continue  # still inside the long line
            parts[-1], overlong = _DAMAGED, False
        else:
            parts[-1] += tail
        yield from reversed(parts[1:])
        tail = parts[0]
        if len(tail) > MAX_LINE:
            tail, overlong = b"", True
    if overlong:
        yield _DAMAGED
    elif tail:
        yield tail


def read_recent(fd: int, since: date, size: int | None = None) -> Reading:
    """The entries whose own date is ``since - 1`` or later (a local date is within a day of any
    offset's), read from the end of ``fd`` until :data:`OLD_RUN` lines in a row are older."""
    size = os.fstat(fd).st_size if size is None else size
    reading = Reading([])
    first = since - timedelta(days=1)
    old_in_a_row = 0
    for raw in _backward(fd, size, reading):
        if raw is _DAMAGED:
            reading.bad += 1
            continue
        if not raw.strip():
            continue
        day = _raw_day(raw)
        if day is not None and day < first:
            old_in_a_row += 1
            if old_in_a_row >= OLD_RUN:
                break
            continue
        reading.lines_parsed += 1
        entry = parse(raw)
        if entry is None:
            reading.bad += 1
            continue
        moment = entry_time(entry)
        if day is None and moment is not None and moment.date() < first:
            old_in_a_row += 1
            if old_in_a_row >= OLD_RUN:
                break
            continue
        old_in_a_row = 0
        reading.entries.append(entry)
    reading.entries.reverse()
    return reading


def stream(handle: BinaryIO, size: int, reading: Reading) -> Iterator[dict[str, Any]]:
    """Every entry in the first ``size`` bytes of ``handle``, oldest first, one line in memory at a time;
    damaged lines are counted in ``reading.bad``."""
    left = size
    while left > 0:
        raw = handle.readline(min(left, MAX_LINE + 1))
        if not raw:
            break
        left -= len(raw)
        reading.bytes_read += len(raw)
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            reading.bad += 1
            while left > 0:  # skip the rest of the overlong line
                rest = handle.readline(min(left, BLOCK))
                if not rest:
                    return
                left -= len(rest)
                reading.bytes_read += len(rest)
                if rest.endswith(b"\n"):
                    break
            continue
        if not raw.strip():
            continue
        reading.lines_parsed += 1
        entry = parse(raw)
        if entry is None:
            reading.bad += 1
        else:
            yield entry
