"""The one path every call that can cost money takes: image generation by either API, edits,
reviews and prompt enhancement.

A :class:`PaidRun` belongs to one run (one script invocation, or one queued job). In order:
the output pre-check (``writer.check_before_request``: refuse a taken name or an unwritable
folder before paying), the spending check (once per run, against the whole run's estimate),
then each call under a progress ticker, recorded in the ledger whatever its outcome, and parsed
by its endpoint module. Saving images is :mod:`pipeline.save`'s.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import ImageGenError
from ..progress import Ticker
from ..spending import guard as spending, ledger

if TYPE_CHECKING:
    from ..http.client import HttpClient, RateGate
    from ..images.writer import ImageWriter
    from ..providers.call import Call
    from ..providers.replies import ProviderReply
    from ..requests import RunOptions

MAX_PARALLEL_CALLS = 4


class PaidRun:
    """Who pays, how to send, and what the run has already checked."""

    def __init__(self, spend: spending.Spend, options: RunOptions, *, gate: RateGate | None = None) -> None:
        self.spend = spend
        self.options = options
        self.gate = gate
        self.warnings: list[str] = []
        self.budget: dict[str, Any] | None = None  # the limits met, once checked
        self._client: HttpClient | None = None

    @property
    def quiet(self) -> bool:
        return self.options.quiet

    def client(self) -> HttpClient:
        if self._client is None:
            from .. import config
            from ..http.client import HttpClient

            secrets = [config.api_key(p) for p in ("openrouter", "openai", "anthropic") if config.key_variable(p)]
            self._client = HttpClient(timeout=self.options.timeout, retries=self.options.retries, secrets=secrets,
                                      verbose=not self.options.quiet, gate=self.gate)
        return self._client

    def authorize(self, estimate_usd: float | None, *, model: str, count: int) -> dict[str, Any]:
        """The spending check, once per run: BudgetError (nothing sent) when a limit refuses the run."""
        if self.budget is None:
            self.budget = spending.check(estimate_usd, self.spend.max_cost, model=model, count=count)
        return self.budget

    def prepare_output(self, writer: ImageWriter, count: int = 1) -> None:
        """Refuse what would fail after paying: a taken output name, an unwritable folder."""
        writer.check_before_request(count)

    def send(self, call: Call, *, model: str, estimate: float | None, label: str,
             spool_dir: Any = None) -> ProviderReply:
        """One call, ledger-recorded, under a ticker; the run must have been authorized."""
        assert self.budget is not None, "authorize() before sending"
        with Ticker(label, quiet=self.quiet):
            return self._recorded(call, model, estimate, spool_dir)

    def send_all(self, calls: Sequence[Call], *, model: str, estimate_each: float | None, label: str,
                 spool_dir: Any = None) -> list[ProviderReply | ImageGenError]:
        """Several calls (at most four at once): each reply, or the error that call ended in."""
        assert self.budget is not None, "authorize() before sending"

        def one(call: Call) -> ProviderReply | ImageGenError:
            try:
                return self._recorded(call, model, estimate_each, spool_dir)
            except ImageGenError as error:
                return error

        with Ticker(label, quiet=self.quiet):
            if len(calls) == 1:
                return [one(calls[0])]
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(len(calls), MAX_PARALLEL_CALLS)) as pool:
                return list(pool.map(one, calls))

    def _recorded(self, call: Call, model: str, estimate: float | None, spool_dir: Any) -> ProviderReply:
        """Send ``call``; every attempt that reached the provider leaves its ledger line before the
        next step (a retry, reading the reply, saving) can fail."""
        heard: list[ImageGenError] = []
        answered = False

        def on_attempt(error: ImageGenError) -> None:  # a failed attempt that reached the provider
            heard.append(error)
            self._note(ledger.record_call(self.spend, model, estimate, error=error))

        def parse(response: Any) -> ProviderReply:
            nonlocal answered
            answered = True
            return call.parse(response)

        client = self.client().observed(on_attempt)
        try:
            reply = call._replace(parse=parse).send(client, spool_dir)
        except ImageGenError as error:
            if not any(error is known for known in heard):
                self._note(ledger.record_call(self.spend, model, estimate, error=error, answered=answered))
            raise
        except Exception as error:  # a reply we could not read: it was still answered, and maybe billed
            if answered:
                unreadable = ImageGenError(f"unreadable reply: {type(error).__name__}", kind="internal")
                self._note(ledger.record_call(self.spend, model, estimate, error=unreadable, answered=True))
            raise
        self._note(ledger.record_call(self.spend, model, estimate, reply=reply))
        self._note(_implausible_cost(reply, estimate))
        return reply

    def _note(self, warning: str | None) -> None:
        if warning and warning not in self.warnings:
            self.warnings.append(warning)


def _implausible_cost(reply: ProviderReply, estimate: float | None) -> str | None:
    """The warning for a reported cost that is no price (NaN, negative, absurd): it was recorded as unknown."""
    reported = reply.usage.get("cost") if isinstance(reply.usage, dict) else None
    if reported is None or reply.cost_usd is not None:
        return None
    counted = f"its estimate ${estimate:.4f}" if estimate is not None else "its estimate, which is unknown"
    return (f"the provider reported a cost of {str(reported)[:40]!r}, which is not a plausible price; "
            f"the call is recorded with an unknown cost and counted at {counted}")


def timed(function: Callable[[], Any]) -> tuple[Any, int]:
    """``function()`` and how long it took in milliseconds."""
    started = time.monotonic()
    result = function()
    return result, int((time.monotonic() - started) * 1000)
