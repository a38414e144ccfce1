"""One ``tools/call`` in flight: its worker thread, its progress notifications, its cancellation.

The tool runs in a worker thread so that the server keeps reading: a cancellation can arrive,
and other calls can run (at most ``slots`` at once). While it runs, and when the request carried
a ``progressToken``, a progress notification goes out every ``interval`` seconds, saying what the
call waits for. Once a call is cancelled or abandoned nothing more is written for it: no
progress, no response (as the protocol asks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..contract import error_document
from ..progress import note
from . import content
from .invoke import invoke
from .roots import Roots
from .tools import Tool
from .watch import Watch

Write = Callable[[dict[str, Any]], None]


class Call:
    def __init__(self, request_id: Any, tool: Tool, arguments: dict[str, Any], version: str, *,
                 progress_token: Any, write: Write, respond: Callable[[Any, dict[str, Any], str], None],
                 slots: threading.Semaphore, interval: float, done: Callable[[Call], None],
                 roots: Roots | None = None) -> None:
        self.request_id, self.tool, self.arguments, self.version = request_id, tool, arguments, version
        self.progress_token, self.interval = progress_token, interval
        self._write, self._respond, self._slots, self._done = write, respond, slots, done
        self.roots = roots
        self.watch = Watch()
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._silenced = False
        self.thread = threading.Thread(target=self._run, name=f"mcp call {request_id!r}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _emit(self, send: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if not self._silenced:
                send(*args)

    def _run(self) -> None:
        ticker = None
        try:
            with self._slots:
                if self.watch.cancelled:
                    return
                if self.progress_token is not None:
                    ticker = threading.Thread(target=self._tick, name="mcp progress", daemon=True)
                    ticker.start()
                document = invoke(self.tool, self.arguments, self.watch, self.roots)
            self.finished.set()
            if ticker is not None:
                ticker.join()
            if self._silenced:  # cancelled or abandoned: its result goes to stderr, not to the client
                self._note_late(document)
                return
            result = self._result(document)
            self._emit(lambda: self._respond(self.request_id, result, self.version))
        finally:
            self.finished.set()
            self._done(self)

    def _result(self, document: dict[str, Any]) -> dict[str, Any]:
        try:
            return content.tool_result(document, self.version,
                                       inline_preview=self.arguments.get("inline_preview") is True,
                                       may_read=self.roots.holds if self.roots is not None else None)
        except Exception as error:  # a result that cannot be shown is still an answer
            return content.tool_result(error_document(error), self.version)

    def _tick(self) -> None:
        started, last = time.monotonic(), 0.0
        while not self.finished.wait(self.interval):
            elapsed = time.monotonic() - started
            last = max(round(elapsed, 1), round(last + 0.1, 1))
            message = f"{self.tool.name}: {self.watch.stage or 'working'} ({elapsed:.0f}s)"
            params = {"progressToken": self.progress_token, "progress": last, "message": message}
            self._emit(self._write, {"jsonrpc": "2.0", "method": "notifications/progress", "params": params})

    def cancel(self, reason: Any) -> None:
        """The client cancelled: send nothing more for this call, and stop it before it pays."""
        with self._lock:
            self._silenced = True
        billed = self.watch.cancel()
        why = f" ({str(reason)[:200]})" if reason else ""
        if billed:
            note(f"mcp: call {self.request_id!r} ({self.tool.name}) cancelled{why} while a provider call was out: it "
                 "may still be billed (charge_unknown). It runs to its end so that its image is saved and the "
                 "spending ledger records what it cost (spend, with its request_id).")
        else:
            note(f"mcp: call {self.request_id!r} ({self.tool.name}) cancelled{why} with no paid call out: "
                 "nothing is billed.")

    def abandon(self, reason: str) -> int:
        """The server stops before the call ends: silence it; every paid call still out goes in the ledger as
        charge_unknown. How many did."""
        with self._lock:
            self._silenced = True
        return self.watch.abandon(reason)

    def _note_late(self, document: dict[str, Any]) -> None:
        if document.get("success"):
            saved = ", ".join(document.get("all_paths") or []) or "nothing saved"
            note(f"mcp: cancelled call {self.request_id!r} ({self.tool.name}) finished anyway: {saved}; cost "
                 f"{document.get('cost_usd')}")
        elif document.get("error_kind") != "interrupted":
            note(f"mcp: cancelled call {self.request_id!r} ({self.tool.name}) ended in {document.get('error_kind')}: "
                 f"{document.get('error')}")
