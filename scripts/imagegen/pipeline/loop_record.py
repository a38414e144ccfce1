"""The review loop's record: ``<base>.loop.json`` beside its rounds, rewritten whole after every step.

It is the loop's progress (so a queue job killed mid-loop resumes where it stopped instead of
paying for a round again) and its account afterwards (what the gallery shows side by side). It is
read as hostile input: a regular file, bounded, that must name the same job and prompt; anything
else is ignored and the loop starts afresh.

The record's ``rounds`` hold, for each round: its number, ``status`` (``started`` before its images
are paid for, ``saved`` once they are on disk, ``reviewed`` when every candidate has its verdict),
the model and prompt it used, its candidates (path, score, verdict, cost) and the generation's
result document.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..fsutil import now_iso, write_json_atomic

KIND = "review_loop"
VERSION = 1
MAX_RECORD_BYTES = 4 * 1024 * 1024
SUFFIX = ".loop.json"


def path_for(base: Path) -> Path:
    """The record of the loop whose rounds are named after ``base`` (``hero`` -> ``hero.loop.json``)."""
    return base.with_name(base.name + SUFFIX)


def new(prompt: str, settings: dict[str, Any], job_id: str | None) -> dict[str, Any]:
    return {"kind": KIND, "version": VERSION, "job_id": job_id, "prompt": prompt, "started_at": now_iso(),
            **settings, "rounds": [], "stop_reason": None, "chosen": None}


def load(path: Path, prompt: str, job_id: str | None) -> dict[str, Any] | None:
    """The record at ``path`` if it is this loop's (same job, same prompt), else None."""
    from ..localjson import read_json

    try:
        record = read_json(path, MAX_RECORD_BYTES)
    except (OSError, ValueError):
        return None
    if not _usable(record) or record.get("job_id") != job_id or record.get("prompt") != prompt:
        return None
    return record


def _usable(record: Any) -> bool:
    if not isinstance(record, dict) or record.get("kind") != KIND or record.get("version") != VERSION:
        return False
    rounds = record.get("rounds")
    if not isinstance(rounds, list):
        return False
    for number, entry in enumerate(rounds, 1):
        if not isinstance(entry, dict) or entry.get("round") != number:
            return False
        if entry.get("status") not in ("started", "saved", "reviewed"):
            return False
        if not isinstance(entry.get("candidates", []), list) or not isinstance(entry.get("cost_usd", 0), (int, float)):
            return False
        if not all(isinstance(c, dict) and isinstance(c.get("path"), str) for c in entry.get("candidates", [])):
            return False
    return True


def save(path: Path, record: dict[str, Any], warnings: list[str]) -> None:
    """Replace the record whole; a warning (the loop goes on) if the disk refuses."""
    record["updated_at"] = now_iso()
    try:
        write_json_atomic(path, record)
    except OSError as error:
        note = f"the review loop's record {path.name} could not be written: {error.strerror or error}"
        if note not in warnings:
            warnings.append(note)


ROUND_FIELDS = ("round", "path", "model", "score", "verdict", "cost_usd")


def rounds_summary(result: dict[str, Any]) -> dict[str, Any]:
    """What queue_status.py shows of a finished --review job: the chosen image, why the loop stopped,
    and each round in short (a result file is input: only well-formed rounds are shown)."""
    rounds = [{key: entry.get(key) for key in ROUND_FIELDS}
              for entry in result.get("rounds") or [] if isinstance(entry, dict)]
    return {"chosen": result.get("path"), "stop_reason": result.get("stop_reason"), "rounds": rounds}


def spent(record: dict[str, Any]) -> float:
    """What the rounds recorded so far cost (images and reviews)."""
    return round(sum(float(entry.get("cost_usd") or 0) for entry in record["rounds"]), 6)
