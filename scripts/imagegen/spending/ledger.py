"""The spending ledger: one JSON line per call the provider received, and reading it back.

The ledger is ``$IMAGEGEN_LEDGER`` (default under the user's state directory). Each line is one
``write`` on an ``O_APPEND`` descriptor under an exclusive ``flock``, so concurrent workers never
interleave; a last line left without its newline (a torn write) is ended before the next line is
appended, so no line is ever glued to another. "Today" is the local calendar day.

A budget check reads only the ledger's recent end and spend.py streams it (``spending.lines``):
neither grows in time or memory with the ledger's history.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from ..contract import json_text
from ..costs import finite_amount, plausible_cost
from ..errors import ConfigError, ImageGenError
from ..fsutil import now_iso
from . import lines, reservations
from .lines import entry_time

if TYPE_CHECKING:
    from .guard import Spend

CHARGED_OUTCOMES = ("success", "charge_unknown")


@contextmanager
def _locked(fd: int, exclusive: bool) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # no flock on this platform: O_APPEND single writes still hold
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


class Book:
    """The ledger held under its exclusive lock for one decision: what was spent today, what calls
    in flight hold, and the changes (a line, a reservation made or settled) that decision makes."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd, self.path = fd, path
        self._held: list[dict[str, Any]] | None = None
        self._stale = False

    def spent_today(self) -> float:
        day = today()
        recent = lines.read_recent(self.fd, day)
        _note_damaged(self.path, recent.bad)
        return spent_on(day, recent.entries)

    def held(self) -> float:
        return reservations.total(self._reservations())

    def hold(self, usd: float, seconds: float, *, detached: bool = False) -> str:
        entry = reservations.new(usd, seconds, detached=detached)
        reservations.write(self.path, [*self._reservations(), entry])
        self._held, self._stale = [*self._reservations(), entry], False
        return entry["id"]

    def release(self, reservation: str) -> None:
        kept = [entry for entry in self._reservations() if entry.get("id") != reservation]
        if len(kept) != len(self._reservations()) or self._stale:
            reservations.write(self.path, kept)
        self._held, self._stale = kept, False

    def write_line(self, entry: dict[str, Any]) -> None:
        line = (json_text(entry, indent=None) + "\n").encode("utf-8")  # one line, keys masked, no NaN
        size = os.fstat(self.fd).st_size
        if size and os.pread(self.fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # a torn last line: end it, so this line is not glued to it
        written = os.write(self.fd, line)
        if written != len(line):
            raise OSError(f"short write to {self.path} ({written} of {len(line)} bytes)")
        os.fsync(self.fd)

    def _reservations(self) -> list[dict[str, Any]]:
        if self._held is None:
            self._held, self._stale = reservations.read(self.path)
        return self._held


def _open(path: Path, flags: int) -> int:
    """A descriptor on the ledger, opened without blocking (a FIFO planted there would hang every
    paid run) and refused with OSError unless it is a regular file."""
    fd = os.open(path, flags | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0), 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return fd


def check_usable(path: Path | None = None) -> None:
    """ConfigError before a paid call when the ledger is there but is no regular file (a FIFO, a
    directory): its line could not be written afterwards, and a paid call must never go unrecorded."""
    path = path or config.ledger_path()
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing (created on the first line) or unreachable (reported when it is written)
    if not stat.S_ISREG(mode):
        raise ConfigError(f"the spending ledger {path} is not a regular file",
                          details="remove what is in its place, or point IMAGEGEN_LEDGER at a file")


@contextmanager
def booking(path: Path | None = None) -> Iterator[Book]:
    """The ledger (created if need be) under its exclusive flock; OSError when it cannot be opened."""
    path = path or config.ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
    try:
        with _locked(fd, exclusive=True):
            yield Book(fd, path)
    finally:
        os.close(fd)


def append(entry: dict[str, Any], path: Path | None = None, *, release: str | None = None) -> Path:
    """Append ``entry`` as one line (and settle the reservation ``release`` in the same step);
    OSError when the ledger cannot be written."""
    with booking(path) as book:
        book.write_line(entry)
        if release is not None:
            book.release(release)
    return book.path


def release(reservation: str) -> None:
    """Settle a reservation whose call left no ledger line (it never reached the provider)."""
    try:
        with booking() as book:
            book.release(reservation)
    except OSError:
        pass  # it expires on its own


def new_entry(*, script: str, model: str, request_id: str | None = None, estimate: float | None = None,
              cost: float | None = None, outcome: str = "success", generation_id: str | None = None,
              error_kind: str | None = None, images: int | None = None, job_id: str | None = None,
              model_alias: str | None = None) -> dict[str, Any]:
    """One ledger line: a paid call as it ended (``model_alias``: the alias or default the model was
    resolved from, kept only when there was one)."""
    line = {
        "time": now_iso(),
        "script": script,
        "model": model,
        "request_id": request_id,
        "job_id": job_id,
        "generation_id": generation_id,
        "estimate_usd": finite_amount(estimate),
        "cost_usd": plausible_cost(cost),
        "outcome": outcome,
        "error_kind": error_kind,
        "images": images,
    }
    if model_alias:
        line["model_alias"] = model_alias
    return line


def write(entry: dict[str, Any], *, release: str | None = None) -> str | None:
    """Append ``entry``; a warning instead of a failure when the ledger cannot be written."""
    try:
        append(entry, release=release)
    except OSError as error:
        return (f"the spending ledger {config.ledger_path()} could not be written ({error.strerror or error}); "
                "this call is missing from spend.py totals and the daily budget")
    return None


def record(**fields: Any) -> str | None:
    """Add one paid call to the ledger (the fields of :func:`new_entry`); a warning when it cannot."""
    return write(new_entry(**fields))


def call_entry(spend: Spend, model: str | tuple[str, str | None], estimate: float | None, *, reply: Any = None,
               error: ImageGenError | None = None, answered: bool = False) -> dict[str, Any] | None:
    """The ledger line of one call from its reply or its error; None when it never reached the provider.
    ``model`` may be (id, the alias it was resolved from).

    ``answered``: the provider's reply arrived (the error came from reading it), so it counts
    whatever the error says."""
    model, alias = model if isinstance(model, tuple) else (model, None)
    if reply is not None:
        return new_entry(script=spend.script, model=model, request_id=spend.request_id, estimate=estimate,
                         cost=reply.cost_usd, outcome="success", generation_id=reply.generation_id,
                         images=len(reply.images), job_id=spend.job_id, model_alias=alias)
    assert error is not None
    cost = error.extra.get("cost_usd")
    if getattr(error, "charge_unknown", False) or error.extra.get("charge_unknown") is True:
        outcome = "charge_unknown"
    elif answered or getattr(error, "status", None) is not None or cost is not None or error.kind == "no_image":
        outcome = "error"
    else:
        return None  # the request never reached the provider: nothing to pay
    return new_entry(script=spend.script, model=model, request_id=spend.request_id, estimate=estimate,
                     cost=cost if isinstance(cost, (int, float)) else None, outcome=outcome,
                     generation_id=error.extra.get("generation_id"), error_kind=error.kind, job_id=spend.job_id,
                     model_alias=alias)


def record_call(spend: Spend, model: str, estimate: float | None, *, reply: Any = None,
                error: ImageGenError | None = None, answered: bool = False) -> str | None:
    """Record one call from its reply or its error; calls that never reached the provider are skipped."""
    entry = call_entry(spend, model, estimate, reply=reply, error=error, answered=answered)
    return None if entry is None else write(entry)


def committed_today() -> tuple[float, float]:
    """Today's spending and what calls in flight hold, read together under the ledger's shared lock."""
    path = config.ledger_path()
    try:
        with os.fdopen(_open(path, os.O_RDONLY), "rb") as handle, _locked(handle.fileno(), exclusive=False):
            day = today()
            recent = lines.read_recent(handle.fileno(), day)
            held, _ = reservations.read(path)
    except FileNotFoundError:
        return 0.0, 0.0
    except OSError as error:
        raise _unreadable(path, error) from None
    _note_damaged(path, recent.bad)
    return spent_on(day, recent.entries), reservations.total(held)


def read_recent(since: date, path: Path | None = None) -> lines.Reading:
    """The entries from ``since`` on (and some of the day before), read from the ledger's end: the
    cost follows those days' lines, not the ledger's length. Filter them with :func:`entry_time`."""
    path = path or config.ledger_path()
    try:
        with os.fdopen(_open(path, os.O_RDONLY), "rb") as handle, _locked(handle.fileno(), exclusive=False):
            return lines.read_recent(handle.fileno(), since)
    except FileNotFoundError:
        return lines.Reading([])
    except OSError as error:
        raise _unreadable(path, error) from None


@contextmanager
def streamed(path: Path | None = None) -> Iterator[tuple[Iterator[dict[str, Any]], lines.Reading]]:
    """Every entry, oldest first, one line in memory at a time, and the reading that counts damaged
    lines as they pass. Lines appended while it runs are left for the next reading (the shared lock
    is held only to learn where the ledger ends, so paid runs are not kept waiting)."""
    path = path or config.ledger_path()
    reading = lines.Reading([])
    try:
        handle = os.fdopen(_open(path, os.O_RDONLY), "rb")
    except FileNotFoundError:
        yield iter(()), reading
        return
    except OSError as error:
        raise _unreadable(path, error) from None
    with handle:
        try:
            with _locked(handle.fileno(), exclusive=False):
                size = os.fstat(handle.fileno()).st_size
        except OSError as error:
            raise _unreadable(path, error) from None
        yield lines.stream(handle, size, reading), reading


_noted: set[str] = set()


def _note_damaged(path: Path, count: int) -> None:
    """Say once per process that a budget check skipped damaged lines at the ledger's recent end:
    the calls they stood for are not counted against the daily budget."""
    if count and str(path) not in _noted:
        _noted.add(str(path))
        from ..progress import note

        note(f"{count} damaged line(s) near the end of the spending ledger {path} were skipped: the daily "
             "budget does not count them (spend.py --since today --table lists what it could read)")


def _unreadable(path: Path, error: OSError) -> ConfigError:
    return ConfigError(f"cannot read the spending ledger {path}: {error.strerror or error}",
                       details="fix its permissions, or point IMAGEGEN_LEDGER at a file you can read")


def charged(entry: dict[str, Any]) -> float:
    """What a ledger line costs: the reported cost, else the estimate when the call may have been billed."""
    cost = plausible_cost(entry.get("cost_usd"))
    if cost is not None:
        return cost
    estimate = finite_amount(entry.get("estimate_usd"))
    # A cost that is there but impossible (NaN, negative, huge) is as good as none: count the estimate.
    billed = entry.get("outcome") in CHARGED_OUTCOMES or entry.get("cost_usd") is not None
    return estimate if billed and estimate is not None else 0.0


def today() -> date:
    return datetime.now().astimezone().date()


def spent_on(day: date, entries: Iterable[dict[str, Any]] | None = None) -> float:
    """What the ledger's lines of ``day`` cost (``entries`` None: read from the ledger's recent end)."""
    if entries is None:
        entries = read_recent(day).entries
    total = sum(charged(e) for e in entries if (moment := entry_time(e)) is not None and moment.date() == day)
    return round(total, 6)
