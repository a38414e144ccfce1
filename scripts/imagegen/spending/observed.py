"""What providers actually charged, read back from the recent end of the ledger.

A price table is a guess with a date; the ledger holds what was really charged. Once the recent
charges of a (provider, model, size) disagree with the table, their median is the estimate, and
the estimate says so (``observed from N calls``). Only the ledger's last :data:`TAIL_BYTES` are
read (a budget check must not grow with history), and that read is kept until the ledger changes.

A charge learned after its call's ledger line was written (OpenRouter's ``GET /generation``, asked
once the image is saved) goes to ``<ledger>.prices``, read the same way: it teaches the price
without counting as spending a second time (``spend.py`` reads the ledger alone).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from .. import config
from ..costs import plausible_cost
from ..fsutil import now_iso
from ..record import Record
from .lines import parse

TAIL_BYTES = 256 * 1024  # about a thousand recent calls
RECENT_CALLS = 5  # the median of at most this many recent charges
DISAGREE = 0.25  # observed and table differ by more than this fraction: the observed price wins
WELL_ABOVE = 1.5  # a charge this many times the estimate is warned about


class PriceKey(Record):
    """What a price depends on: who is paid, for which model, at which size (``WIDTHxHEIGHT``)."""

    provider: str
    model: str
    size: str

    def fields(self) -> dict[str, str]:
        """What a ledger line records of the key (its model is already there)."""
        return {"provider": self.provider, "size": self.size}

    def joined(self) -> str:
        """The key as one string, as a request budget's holds name it."""
        return f"{self.provider}|{self.model}|{self.size}"


_cache: dict[str, Any] = {}  # file -> (stamp, lines): replaced whole, so threads never see half of it


def prices_path() -> Path:
    ledger = config.ledger_path()
    return ledger.with_name(ledger.name + ".prices")


def remember(key: PriceKey, cost: float, images: int, generation_id: Any = None) -> None:
    """Keep a charge learned after its call's ledger line was written (best effort)."""
    line = {"time": now_iso(), "model": key.model, **key.fields(), "outcome": "success", "cost_usd": cost,
            "images": images, "generation_id": generation_id if isinstance(generation_id, str) else None}
    data = (json.dumps(line) + "\n").encode("utf-8")
    try:
        fd = os.open(prices_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError:
        return
    try:
        os.write(fd, data)  # one write on an append-only descriptor: lines never interleave
    except OSError:
        pass
    finally:
        os.close(fd)


def _tail() -> list[dict[str, Any]]:
    """The recent lines of the ledger and the learned prices that carry a price key and a charge."""
    found = _read_tail(config.ledger_path(), "ledger") + _read_tail(prices_path(), "prices")
    return sorted(found, key=lambda entry: str(entry.get("time")))


def _read_tail(path: Path, name: str) -> list[dict[str, Any]]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return []
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return []
        stamp = (str(path), info.st_size, info.st_mtime_ns)
        cached = _cache.get(name)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        start = max(0, info.st_size - TAIL_BYTES)
        data = os.pread(fd, info.st_size - start, start)
    except OSError:
        return []
    finally:
        os.close(fd)
    lines = data.split(b"\n")
    if start:
        lines = lines[1:]  # the first is cut
    found = []
    for raw in lines:
        if b'"size"' not in raw or b'"success"' not in raw:
            continue
        entry = parse(raw)  # hostile until parsed: bounded in length and depth, with a readable time
        if entry is not None and entry.get("outcome") == "success" and not entry.get("batch_id"):
            found.append(entry)
    _cache[name] = (stamp, found)
    return found


def charges(key: PriceKey) -> list[float]:
    """The per-image charges of the most recent calls of ``key`` that reported a cost, oldest first."""
    found = []
    for entry in _tail():
        if (entry.get("model"), entry.get("provider"), entry.get("size")) != (key.model, key.provider, key.size):
            continue
        cost = plausible_cost(entry.get("cost_usd"))
        images = entry.get("images")
        if cost is None or not isinstance(images, int) or isinstance(images, bool) or images < 1:
            continue
        found.append(cost / images)
    return found[-RECENT_CALLS:]


def confirmed(key: PriceKey) -> bool:
    """Whether a charge for ``key`` has been seen: until then, one call goes alone to learn it."""
    return bool(charges(key))


def learned(key: PriceKey, table_each: float | None) -> tuple[float, int] | None:
    """(the per-image price to use, how many calls it comes from) when recent charges disagree
    with ``table_each`` (or the table has none); None when the table stands."""
    seen = charges(key)
    if not seen:
        return None
    ordered = sorted(seen)
    middle = len(ordered) // 2
    each = round(ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2, 6)
    if table_each is not None and abs(each - table_each) <= DISAGREE * table_each:
        return None
    return each, len(seen)


def correct(estimate: Any, key: PriceKey, count: int) -> Any:
    """``estimate`` (a registry Estimate of ``count`` images) replaced by the observed price when
    recent charges disagree with it; its basis then says so."""
    table_each = estimate.usd / count if estimate.usd is not None and count else None
    found = learned(key, table_each)
    if found is None:
        return estimate
    each, calls = found
    was = f"${table_each:.4f}" if table_each is not None else "unknown"
    basis = (f"observed from {calls} recent call{'s' if calls != 1 else ''}: ${each:.4f} an image at {key.size} "
             f"(the table said {was}; {estimate.basis})")
    return estimate._replace(usd=round(each * count, 6), basis=basis, guess=False)


def current(key: PriceKey, estimate: float | None, images: int) -> float | None:
    """The estimate of one call of ``images`` images right now: the observed price when it disagrees."""
    table_each = estimate / images if estimate is not None and images else None
    found = learned(key, table_each)
    return estimate if found is None else round(found[0] * max(1, images), 6)


def well_above(cost: float | None, estimate: float | None) -> str | None:
    """The warning for a charge well above its estimate."""
    if cost is None or not estimate or cost <= WELL_ABOVE * estimate:
        return None
    return (f"the provider charged ${cost:.4f} for a call estimated at ${estimate:.4f} ({cost / estimate:.1f}x); "
            "later estimates of this model and size use the observed price")
