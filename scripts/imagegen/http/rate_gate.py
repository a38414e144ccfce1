"""The back-off the queue's threads share: after a 429 none of them sends until the gate reopens."""

from __future__ import annotations

import time


class RateGate:
    """A back-off shared by threads: after a 429 nobody sends until the gate reopens."""

    def __init__(self) -> None:
        import threading  # only the queue's threads share a gate

        self._lock = threading.Lock()
        self._open_at = 0.0

    def defer(self, seconds: float) -> None:
        with self._lock:
            self._open_at = max(self._open_at, time.monotonic() + seconds)

    def wait(self) -> None:
        while True:
            with self._lock:
                delay = self._open_at - time.monotonic()
            if delay <= 0:
                return
            time.sleep(min(delay, 1.0))
