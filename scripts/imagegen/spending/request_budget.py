"""A request's ``--max-cost`` across all its jobs, held on what was actually charged.

The account is one small JSON file (the queue keeps it beside the request's index), replaced whole
and only under the exclusive ``flock`` of its ``.lock`` file beside it: the cap, what the request's
calls were charged (each call's ledger amount, added as its lines are written), and what the calls
in flight hold (their estimates). A call is sent only when charged + held + its estimate stays
within the cap; otherwise it is refused with ``limit: "request_max_cost"``. While a price key has no
confirmed charge, only one call of that key is out at a time: the others wait for it, and are then
estimated on its charge. So the request passes its cap by at most one call's actual cost.

A job sent in a provider's batch (``queue.batch_drain``) holds its batch estimate from submission
until its batch is collected (:meth:`hold_batch`, :meth:`close`): the hold belongs to the batch, not
to the drain's process, and its charge is counted once however often a killed collection is taken up
again. Its price cannot be learned before the others go (charges are known only at collection), so a
request never has more than its cap's worth of estimates out, and once a batch job of a price key
was charged more than its estimate, that charge is what the key's next batch jobs hold.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..contract import json_text
from ..costs import finite_amount
from ..errors import BudgetError
from ..fsutil import open_lock, write_atomic

EPSILON = 1e-9
WAIT_STEP_SEC = 0.2  # how often a call waiting for the price to be learned looks again
MAX_ACCOUNT_BYTES = 256 * 1024
LAPSED_KEPT_SEC = 30 * 86400  # a lapsed batch hold's charge is taken in instead of its estimate this long


class RequestBudget:
    """The account of one request's cap; safe to share between threads and processes."""

    def __init__(self, path: Path, request_id: str) -> None:
        self.path, self.request_id = path, request_id

    def hold(self, hold_id: str, usd: float | None, *, cap: float, key: str | None, learn_first: bool,
             seconds: float, estimate_now: Any = None) -> float | None:
        """Hold ``usd`` for a call about to be sent; BudgetError when ``cap`` leaves no room.

        ``learn_first``: ``key`` has no confirmed price, so wait while another call of it is out
        (``estimate_now()`` then gives the estimate learned from its charge). The estimate held."""
        while True:
            with self._locked() as state:
                state["max_cost_usd"] = cap
                holds = _live(state)
                if learn_first and key and key not in state.get("tried", []) and \
                        any(h.get("key") == key for h in holds.values()):
                    waiting = True
                else:
                    waiting = False
                    if estimate_now is not None:
                        usd = estimate_now()
                    _take(state, holds, hold_id, usd, cap, self.request_id,
                          {"key": key, "pid": os.getpid(), "host": os.uname().nodename,
                           "until": time.time() + seconds})
                    return usd
            if waiting:
                time.sleep(WAIT_STEP_SEC)

    def hold_batch(self, hold_id: str, usd: float | None, *, cap: float, key: str, seconds: float) -> float | None:
        """Hold a batch job's estimate (or what ``key`` was last charged in a batch of this request,
        when that is more) until :meth:`close`, or until ``seconds`` pass; BudgetError when ``cap``
        leaves no room. The estimate held."""
        with self._locked() as state:
            state["max_cost_usd"] = cap
            learned = finite_amount(_dict(state, "batch_charges").get(key))
            if usd is not None and learned is not None and learned > usd:
                usd = learned
            _take(state, _live(state), hold_id, usd, cap, self.request_id,
                  {"key": key, "detached": True, "until": time.time() + seconds})
            return usd

    def close(self, hold_id: str, charged: float, *, key: str | None = None) -> bool:
        """A batch job is over: its hold goes and ``charged`` (what its ledger line counts) is spent.
        Once only: a hold closed already changes nothing (False). A hold that lapsed was counted at
        its estimate; that count becomes ``charged``. ``key``: remember the charge for the next holds."""
        with self._locked() as state:
            holds, lapsed = _live(state), _dict(state, "lapsed")
            if hold_id in holds:
                counted = 0.0
                holds.pop(hold_id)
            elif hold_id in lapsed:
                gone = lapsed.pop(hold_id)
                counted = finite_amount(gone.get("usd") if isinstance(gone, dict) else None) or 0.0
            else:
                return False
            spent = finite_amount(state.get("spent_usd")) or 0.0
            state["spent_usd"] = round(max(0.0, spent + charged - counted), 6)
            if key and charged > 0:
                state["batch_charges"] = {**_dict(state, "batch_charges"), key: round(charged, 6)}
            return True

    def charge(self, usd: float) -> None:
        """A line the request's calls wrote (an attempt, or a call's end): what it counts is spent.
        Negative: a charge learned later was below the estimate that was counted."""
        if usd:
            with self._locked() as state:
                state["spent_usd"] = round(max(0.0, (finite_amount(state.get("spent_usd")) or 0.0) + usd), 6)

    def learning(self, hold_id: str) -> None:
        """The call is over but its charge is still being looked up: it holds nothing more, yet calls
        waiting to learn its price keep waiting until :meth:`settle`."""
        with self._locked() as state:
            holds = _live(state)
            if hold_id in holds:
                holds[hold_id]["usd"] = 0.0

    def settle(self, hold_id: str, *, key: str | None) -> None:
        """The call is over (its lines charged): its hold goes, and its key counts as tried."""
        with self._locked() as state:
            holds = _live(state)
            holds.pop(hold_id, None)
            state["holds"] = holds
            if key:
                tried = [k for k in state.get("tried", []) if isinstance(k, str)]
                state["tried"] = tried if key in tried else [*tried, key]

    def snapshot(self) -> dict[str, Any] | None:
        """``max_cost_usd``, ``spent_usd`` and ``held_usd`` now; None when the request has no cap."""
        state = _read(self.path)
        cap = finite_amount(state.get("max_cost_usd"))
        if cap is None:
            return None
        held = sum(finite_amount(h.get("usd")) or 0.0 for h in _live(state).values())
        return {"max_cost_usd": cap, "spent_usd": round(finite_amount(state.get("spent_usd")) or 0.0, 6),
                "held_usd": round(held, 6)}

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        """The account read under the exclusive lock of its lock file, and replaced whole (a new file
        renamed over it) when the block ends without error: a process killed while writing leaves the
        account as it was, never a torn file that would read as nothing spent."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = open_lock(self.path.with_name(self.path.name + ".lock"))
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = _read(self.path)
            before = json_text(state, indent=None)
            yield state
            after = json_text(state, indent=None)
            if after != before:
                write_atomic(self.path, after.encode("utf-8"))
        finally:
            os.close(lock)


def refusal(cap: float, spent: float, held: float, usd: float | None, request_id: str) -> BudgetError:
    shown = "an unknown amount" if usd is None else f"${usd:.4f}"
    return BudgetError(
        f"the request's --max-cost {cap:g} stops this job: ${spent:.4f} was charged and ${held:.4f} is held by "
        f"calls in flight, and this job's estimate {shown} would pass it",
        details="nothing was sent for this job; queue_status.py shows what was spent. Queue the rest again under "
                "a new --request-id with a higher --max-cost if you want them",
        extra={"limit": "request_max_cost", "max_cost_usd": cap, "spent_usd": round(spent, 6),
               "held_usd": round(held, 6), "estimate_usd": usd, "request_id": request_id})


def _take(state: dict[str, Any], holds: dict[str, Any], hold_id: str, usd: float | None, cap: float,
          request_id: str, hold: dict[str, Any]) -> None:
    """Add the hold when charged + held + ``usd`` stays within ``cap``; else BudgetError."""
    spent = finite_amount(state.get("spent_usd")) or 0.0
    held = sum(finite_amount(h.get("usd")) or 0.0 for h in holds.values())
    if usd is None or spent + held + usd > cap + EPSILON:
        raise refusal(cap, spent, held, usd, request_id)
    holds[hold_id] = {"usd": usd, **hold}
    state["holds"] = holds


def _dict(state: dict[str, Any], name: str) -> dict[str, Any]:
    found = state.get(name)
    if not isinstance(found, dict):
        found = state[name] = {}
    return found


def _live(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The holds whose call can still be out (not past its longest run), kept in ``state``. A hold
    whose process died while its call was out is spent at its estimate: the call may be billed.
    So is a batch job's hold that outlived its batch uncollected; it is kept in ``lapsed`` so that
    collecting the job later counts its charge instead (:meth:`RequestBudget.close`)."""
    now = time.time()
    live = {}
    holds = state.get("holds")
    for name, hold in holds.items() if isinstance(holds, dict) else ():
        if not isinstance(hold, dict) or not isinstance(hold.get("until"), (int, float)):
            continue
        if hold.get("detached") is True:
            if hold["until"] < now:
                _lapse(state, name, hold, now)
            else:
                live[name] = hold
            continue
        if hold["until"] < now:
            continue
        if hold.get("host") == os.uname().nodename and not _alive(hold.get("pid")):
            spent = finite_amount(state.get("spent_usd")) or 0.0
            state["spent_usd"] = round(spent + (finite_amount(hold.get("usd")) or 0.0), 6)
            continue
        live[name] = hold
    state["holds"] = live
    return live


def _lapse(state: dict[str, Any], name: str, hold: dict[str, Any], now: float) -> None:
    usd = finite_amount(hold.get("usd")) or 0.0
    state["spent_usd"] = round((finite_amount(state.get("spent_usd")) or 0.0) + usd, 6)
    lapsed = {k: v for k, v in _dict(state, "lapsed").items()
              if isinstance(v, dict) and isinstance(v.get("at"), (int, float)) and v["at"] > now - LAPSED_KEPT_SEC}
    lapsed[name] = {"usd": usd, "at": now}
    state["lapsed"] = lapsed


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parse(fd: int) -> dict[str, Any]:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ACCOUNT_BYTES:
        return {}
    try:
        state = json.loads(os.pread(fd, info.st_size, 0) or b"{}")
    except (ValueError, RecursionError):
        return {}
    return state if isinstance(state, dict) else {}


def _read(path: Path) -> dict[str, Any]:
    """The account as it was last replaced ({} when there is none). The shared lock waits out a writer
    of the older layout, which rewrote the file in place under a lock on itself."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return {}
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        return _parse(fd)
    finally:
        os.close(fd)
