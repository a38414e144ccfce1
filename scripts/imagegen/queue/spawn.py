"""Handing the drain to a detached worker: new session, stdin from /dev/null, output to a log
file, never waited on. Nothing is spawned when every worker slot is already busy: the running
workers pick the new jobs up (they look again before leaving)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import leases
from .layout import QueueDirs

_BOOT = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
         "from imagegen.commands.run_image_queue import main; raise SystemExit(main())")


def hand_off(dirs: QueueDirs, *, slots: int, orphan_timeout: float, max_attempts: int,
             allow_roots: list[str] | None = None, dry_run: bool = False) -> dict[str, Any]:
    busy = leases.busy_slots(dirs, slots)
    if dry_run:
        return {"state": "not_spawned", "busy_slots": busy, "slots": slots}
    if len(busy) >= slots:
        return {"state": "already_running", "busy_slots": busy, "slots": slots}
    log = dirs.logs / f"worker-{time.strftime('%Y%m%d-%H%M%S')}-{os.urandom(3).hex()}.log"
    package_parent = str(Path(__file__).resolve().parent.parent.parent)
    command = [sys.executable, "-c", _BOOT, package_parent, "--queue-dir", str(dirs.root),
               "--max-background-workers", str(slots), "--orphan-timeout-sec", str(orphan_timeout),
               "--max-attempts", str(max_attempts), "--handoff-mode", "background"]
    for root in allow_roots or ():
        command += ["--allow-root", os.path.abspath(root)]
    with open(log, "ab") as handle:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=handle, stderr=handle,
                                   start_new_session=True, close_fds=True, cwd=os.getcwd())
    return {"state": "spawned", "pid": process.pid, "log": str(log), "busy_slots": busy, "slots": slots}
