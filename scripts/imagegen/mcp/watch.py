"""What one tool call is doing, as far as its cancellation and the bill are concerned.

A cancelled call must not start paying, and a call that has already sent a paid request cannot
be recalled: the provider may bill it whatever we do. :class:`WatchedPaidRun` is the one paid-call
path (``pipeline.paid_call.PaidRun``) with a check before each send: once the call is cancelled
nothing more is sent, and what is in flight is known, so a server that has to stop while a call
is out can say it may be billed (and write that to the ledger).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ImageGenError, ProviderError
from ..pipeline.paid_call import PaidRun
from ..spending import ledger


class Cancelled(ImageGenError):
    """The client cancelled the call before anything was sent: nothing to pay."""

    kind = "interrupted"
    exit_code = 130


class Watch:
    """Cancellation and the paid calls in flight for one tool call (shared by its threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._event = threading.Event()  # set on cancellation: wakes a call that waits (queue_status wait)
        self._abandoned = False
        self.stage: str | None = None  # what the call waits for now, for progress messages
        self._in_flight: dict[int, tuple[Any, str | None, float | None]] = {}  # id -> (spend, model, estimate)
        self._ids = itertools.count()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def is_cancelled(self) -> bool:
        """:attr:`cancelled` as a call: what an HttpClient for requests that pay for nothing asks."""
        return self._cancelled

    def cancel(self) -> bool:
        """Stop the call sending anything more; True when a paid call is out (it may be billed)."""
        with self._lock:
            self._cancelled = True
            self._event.set()
            return bool(self._in_flight)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking at once on a cancellation; True when the call is cancelled."""
        return self._event.wait(seconds)

    @contextmanager
    def sends(self, spend: Any, label: str | None, calls: list[tuple[str | None, float | None]]) -> Iterator[None]:
        with self._lock:
            if self._cancelled:
                raise Cancelled("cancelled by the client before anything was sent", retryable=True,
                                details="nothing was sent, so nothing is billed; call the tool again to run it")
            ids = [next(self._ids) for _ in calls]
            self._in_flight.update(zip(ids, ((spend, model, estimate) for model, estimate in calls), strict=True))
            self.stage = label
        try:
            yield
        finally:
            with self._lock:
                for number in ids:
                    self._in_flight.pop(number, None)
                self.stage = None

    def abandon(self, reason: str) -> int:
        """Record every paid call still out as ``charge_unknown`` in the ledger (the server is stopping
        and cannot wait for its reply); how many there were."""
        with self._lock:
            if self._abandoned:
                return 0
            self._abandoned, self._cancelled = True, True
            self._event.set()
            entries, self._in_flight = list(self._in_flight.values()), {}
        for spend, model, estimate in entries:
            error = ProviderError(reason, kind="interrupted", charge_unknown=True, retryable=True)
            ledger.record_call(spend, model or "unknown", estimate, error=error)
        return len(entries)


class WatchedPaidRun(PaidRun):
    """A PaidRun whose calls stop before sending once the tool call is cancelled."""

    def __init__(self, spend: Any, options: Any, watch: Watch) -> None:
        super().__init__(spend, options)
        self.watch = watch
        self.cancelled = watch.is_cancelled  # breaks off the run's side requests, never its paid calls

    def client(self) -> Any:
        """The HTTP client, whose waits between retries a cancellation cuts short (no attempt after it)."""
        client = super().client()
        client.pause = self.watch.wait
        return client

    def send(self, call: Any, **kwargs: Any) -> Any:
        with self.watch.sends(self.spend, kwargs.get("label"), [(kwargs.get("model"), kwargs.get("estimate"))]):
            return super().send(call, **kwargs)

    def send_all(self, calls: Any, **kwargs: Any) -> Any:
        each = (kwargs.get("model"), kwargs.get("estimate_each"))
        with self.watch.sends(self.spend, kwargs.get("label"), [each] * len(calls)):
            return super().send_all(calls, **kwargs)
