"""Feedback on stderr: a live elapsed-time line on a terminal; off one (a pipe, a log, cron), a plain
line every :func:`interval` seconds while a call is waited for, so a long wait never looks hung."""

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


def interval() -> float:
    """Seconds between progress lines off a terminal (``config.progress_interval``)."""
    from .config import progress_interval

    return progress_interval()


class Every:
    """Call ``action`` every ``seconds`` until :meth:`stop`: by SIGALRM when this is the main thread of a
    Unix process (a plain run loads no threading), else from a daemon thread."""

    def __init__(self, seconds: float, action: Any) -> None:
        self.seconds, self.action = seconds, action
        self._previous: Any = None
        self._stop: Any = None
        self._thread: Any = None
        import signal

        if hasattr(signal, "setitimer"):
            try:
                self._previous = signal.signal(signal.SIGALRM, self._alarm)
            except ValueError:  # not the main thread: signals cannot be used here
                self._previous = None
            else:
                signal.setitimer(signal.ITIMER_REAL, seconds, seconds)
                return
        import threading

        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _alarm(self, signum: int, frame: Any) -> None:
        try:
            self.action()
        except RuntimeError:  # stderr was being written when the alarm came: skip this line
            pass

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            self.action()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            return
        import signal

        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, self._previous)


class Ticker:
    """``with Ticker("waiting for flux.2-pro"):`` shows ``… 12s`` on a TTY's stderr, and off a terminal
    prints ``image-gen: waiting for flux.2-pro … 15 s`` every :func:`interval` seconds; never on stdout."""

    def __init__(self, label: str, quiet: bool = False) -> None:
        self.label = terminal_text(label)
        self.enabled = not quiet and sys.stderr is not None and sys.stderr.isatty()
        self.lines = not quiet and not self.enabled and sys.stderr is not None
        self._stop: Any = None
        self._thread: Any = None
        self._every: Every | None = None
        self.started = time.monotonic()

    def __enter__(self) -> Ticker:
        self.started = time.monotonic()
        if self.enabled:  # threading loads only when there is a terminal to tick on
            import threading

            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        elif self.lines:
            self._every = Every(interval(), self._line)
        return self

    def _line(self) -> None:
        line(f"image-gen: {self.label} … {time.monotonic() - self.started:.0f} s")

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            sys.stderr.write(f"\r{self.label} … {time.monotonic() - self.started:4.0f}s")
            sys.stderr.flush()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._every is not None:
            self._every.stop()
            self._every = None
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
