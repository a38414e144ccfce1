"""What a drain is asked to do (:class:`DrainOptions`, from run_image_queue.py's flags) and what it
did (:class:`DrainStats`, the counts its summary reports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ImageGenError
from . import leases
from .layout import QueueDirs
from .roots import Roots


@dataclass
class DrainOptions:
    queue_dir: QueueDirs
    concurrency: int = 4
    slots: int = leases.DEFAULT_SLOTS
    orphan_timeout: float = leases.DEFAULT_ORPHAN_TIMEOUT
    max_attempts: int = leases.DEFAULT_MAX_ATTEMPTS
    max_jobs: int | None = None
    request_id: str | None = None
    job_timeout: float = 300.0
    retries: int = 2
    idle_exit: float = 3.0
    handoff_mode: str = "foreground"
    quiet: bool = False
    roots: Roots | None = None  # default: Roots.for_worker(queue_dir.root)


@dataclass
class DrainStats:
    done: int = 0
    failed: int = 0
    deferred: int = 0
    corrupt: int = 0
    cost_usd: float = 0.0
    recovered: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    missing_key: ImageGenError | None = None  # the last job (or batch) that found no key for its provider
    waiting_for_key: set[str] = field(default_factory=set)  # the jobs that did
