"""Stop signals as exceptions: SIGTERM and SIGHUP end a run the way Ctrl-C (SIGINT) does.

Python turns SIGINT into :class:`KeyboardInterrupt` where the main thread is; SIGTERM and SIGHUP
would end the process at once, skipping every ``finally``, so a paid call that was out would
leave no ledger line. While a command runs they raise :class:`Interrupted` (a KeyboardInterrupt)
instead: the paid-call path records what may have been billed, and the runner prints the one
``interrupted`` document. A closed stdout needs nothing here: Python ignores SIGPIPE, so the run
finishes and records its calls before it finds no one is reading.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

STOP_SIGNALS = ("SIGTERM", "SIGHUP")


class Interrupted(KeyboardInterrupt):
    """A stop signal, raised where the main thread was."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.signal_name = name


def _raise(signum: int, frame: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise :class:`Interrupted` (in the main thread only:
    a run called from another thread leaves the process's signals alone)."""
    previous = {}
    for name in STOP_SIGNALS:
        number = getattr(signal, name, None)
        if number is None or signal.getsignal(number) not in (signal.SIG_DFL, None):
            continue  # someone chose what this signal does (a server, a test): theirs
        try:
            previous[number] = signal.signal(number, _raise)
        except ValueError:  # not the main thread (threading is not imported just to ask)
            break
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
