"""Feedback on stderr: a live elapsed-time line on a terminal, plain notes elsewhere."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any


# C0 and C1 control characters, DEL included, and how each is written instead.
_CONTROL_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}


def terminal_text(text: str) -> str:
    """``text`` as it may reach a terminal, on one line: keys masked (``config.redact``), and every
    control character (newlines too) written as an escape, so provider text cannot move the cursor,
    recolour the terminal, forge or rewrite a line, or ring the bell."""
    from .config import redact

    return redact(str(text)).translate(_CONTROL_ESCAPES)


def note(text: str, quiet: bool = False) -> None:
    if not quiet:
        line(f"image-gen: {text}")


def line(text: str) -> None:
    """One line on stderr, safe for a terminal (see :func:`terminal_text`); nothing when stderr is closed
    (``print(file=None)`` would write to stdout, the JSON document's stream)."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(terminal_text(text) + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass  # stderr gone: a note is not worth failing a run for


class Ticker:
    """``with Ticker("waiting for flux.2-pro"):`` shows ``… 12s`` on a TTY's stderr, never on stdout."""

    def __init__(self, label: str, quiet: bool = False) -> None:
        self.label = terminal_text(label)
        self.enabled = not quiet and sys.stderr is not None and sys.stderr.isatty()
        self._stop: Any = None
        self._thread: Any = None

    def __enter__(self) -> "Ticker":
        if self.enabled:  # threading loads only when there is a terminal to tick on
            import threading

            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(0.5):
            sys.stderr.write(f"\r{self.label} … {time.monotonic() - started:4.0f}s")
            sys.stderr.flush()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
