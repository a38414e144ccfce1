"""What each route's live catalogue lists today, read from the caches on disk (never fetched here).

OpenRouter's is the image catalogue ``models.py --refresh`` caches (:mod:`models.catalogue`), with
the ids of its text models beside it (``models-openrouter-text.json``);
Google's (``GET /v1beta/models``) and OpenAI's (``GET /v1/models``) are lists of ids cached beside
it by the same refresh. A cache older than :data:`MAX_AGE_SECONDS`, missing or broken
counts as no catalogue: resolution then takes each chain's first candidate.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

from .. import config

CACHE_VERSION = 1
MAX_AGE_SECONDS = 7 * 24 * 3600  # as the OpenRouter catalogue's (catalogue.MAX_AGE_SECONDS)
MAX_BYTES = 4 * 1024 * 1024
OPENROUTER_TEXT = "openrouter-text"  # the cache name of OpenRouter's text models
_memo: dict[Path, tuple[int, dict[str, Any] | None]] = {}


def path(route: str) -> Path:
    return config.user_cache_dir() / f"models-{route}.json"


def listed(route: str, models: str = "image") -> frozenset[str] | None:
    """The ids the route's fresh catalogue lists, or None when there is none. OpenRouter keeps two:
    its image catalogue, and the ids of its text models (``models="text"``: review, enhance)."""
    if route == "openrouter" and models == "text":
        route = OPENROUTER_TEXT  # the ids models.py --refresh cached from GET /models?output_modalities=text
    elif route == "openrouter":
        if not config.catalogue_path().exists():
            return None  # the catalogue (and its module) load only when one was fetched
        from . import catalogue

        fresh = catalogue.fresh()
        return frozenset(fresh.models) if fresh is not None else None
    document = _read(path(route))
    if document is None or time.time() - document["fetched_at_epoch"] >= MAX_AGE_SECONDS:
        return None
    return frozenset(document["ids"])


def expiration(model_id: str, route: str) -> str | None:
    """The date after which the route's catalogue says ``model_id`` may be removed (OpenRouter's
    ``expiration_date``), or None."""
    if route != "openrouter" or not config.catalogue_path().exists():
        return None
    from . import catalogue

    fresh = catalogue.fresh()
    entry = fresh.models.get(model_id) if fresh is not None else None
    value = entry.get("expiration_date") if entry else None
    return value if isinstance(value, str) else None


def save(route: str, ids: list[str]) -> Path:
    """Cache ``ids`` as the route's catalogue, fetched now."""
    from ..fsutil import iso, write_json_atomic

    target = path(route)
    target.parent.mkdir(parents=True, exist_ok=True)
    now = time.time()
    write_json_atomic(target, {"version": CACHE_VERSION, "fetched_at": iso(now), "fetched_at_epoch": now,
                               "ids": sorted(set(ids))})
    _memo.pop(target, None)
    return target


def age_seconds(route: str) -> float | None:
    """How long ago the route's cache was last written, or None without one."""
    try:
        written = (config.catalogue_path() if route == "openrouter" else path(route)).stat().st_mtime
    except OSError:
        return None
    return max(0.0, time.time() - written)


def _read(target: Path) -> dict[str, Any] | None:
    """The cached list, or None: a missing, oversized, non-regular or malformed file is no list
    (opened without blocking, so a FIFO put in its place cannot hang a run)."""
    try:
        status = target.stat()
    except OSError:
        return None
    cached = _memo.get(target)
    if cached and cached[0] == status.st_mtime_ns:
        return cached[1]
    document: dict[str, Any] | None = None
    if stat.S_ISREG(status.st_mode) and status.st_size <= MAX_BYTES:
        try:
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as handle:
                raw = json.loads(handle.read(MAX_BYTES + 1))
            ids = [i for i in raw["ids"] if isinstance(i, str)]
            document = {"fetched_at_epoch": float(raw["fetched_at_epoch"]), "ids": ids}
        except (OSError, ValueError, KeyError, TypeError, RecursionError):
            document = None
    _memo[target] = (status.st_mtime_ns, document)
    return document
