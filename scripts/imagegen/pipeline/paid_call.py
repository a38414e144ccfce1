"""The one path every call that can cost money takes: image generation by either API, edits,
reviews and prompt enhancement.

A :class:`PaidRun` belongs to one run (one script invocation, or one queued job). In order:
the output claim and pre-check (``images.claims``, ``writer.check_before_request``: refuse a name
another run is making, a taken name or an unwritable folder before paying; the claims are let go
when the run ends, ``pipeline.outputs``), the spending check (once per run, against the whole run's estimate),
then each call: checked again against what this run has already spent (``--max-cost``) and
reserved against the daily budget under the ledger's lock (and, for a queue job, against its
request's ``--max-cost``: ``spending.request_budget``), sent under a progress ticker, recorded in
the ledger attempt by attempt whatever its outcome (the reservation settled by its last line),
and parsed by its endpoint module. Saving images is :mod:`pipeline.save`'s.

Calls that make images name their price key (:class:`Priced`): their ledger lines record it,
their estimate is what the provider recently charged for it when that disagrees with the table
(``spending.observed``), and while it has no confirmed charge one call goes alone to learn it
before the others are sent. A run interrupted (Ctrl-C, SIGTERM, SIGHUP) after a request went out
leaves a ``charge_unknown`` line counted at the estimate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from ..errors import BudgetError, ImageGenError, ProviderError
from ..progress import Ticker
from ..record import Record
from ..spending import guard, ledger, observed

if TYPE_CHECKING:
    from ..http.client import HttpClient
    from ..http.rate_gate import RateGate
    from ..images.writer import ImageWriter
    from ..providers.call import Call
    from ..providers.replies import ProviderReply
    from ..requests import RunOptions

MAX_PARALLEL_CALLS = 4
MAX_RETRY_WAIT = 60.0  # the longest back-off between attempts (http.client.MAX_RETRY_AFTER)
HOLD_MARGIN_SEC = 120.0  # a reservation outlives its call's longest run by this much


class _Held(Record):
    """What a call in flight holds: its reservation of the daily budget (None: none kept), its
    estimate counted against --max-cost, its hold on the request's budget (None: none), and the
    estimate its ledger lines record."""

    reservation: str | None
    usd: float
    account: str | None = None
    estimate: float | None = None


class Priced(Record):
    """The price key of calls that make images, and how many images each call makes."""

    key: observed.PriceKey
    images: int = 1


class RequestCap(Record):
    """A queue request's ``--max-cost`` over all its jobs, and the account that holds it."""

    max_cost: float
    account: Any  # spending.request_budget.RequestBudget


class PaidRun:
    """Who pays, how to send, and what the run has already checked."""

    def __init__(self, spend: guard.Spend, options: RunOptions, *, gate: RateGate | None = None) -> None:
        self.spend = spend
        self.options = options
        self.gate = gate
        self.warnings: list[str] = []
        self.budget: dict[str, Any] | None = None  # the limits met, once checked
        self._client: HttpClient | None = None
        self._spent = 0.0  # what this run's ledger lines count
        self._held = 0.0  # the estimates of this run's calls in flight
        self._lock: Any = nullcontext()  # a real lock once calls run in threads
        self.request_cap: RequestCap | None = None  # a queue job's request budget
        self.on_call: Callable[[dict[str, Any] | None], None] | None = None  # told of a call going out, and over
        self.look_up_cost: Callable[[Any], float | None] | None = None  # a reply's cost, asked after the fact
        # Whether the caller stopped waiting (an MCP cancellation): it breaks off the side requests that
        # pay for nothing (side_client), never a paid call. None: nothing cancels the run (the CLI).
        self.cancelled: Callable[[], bool] | None = None
        self._claims: Any = None  # images.claims.Claims on the explicit output files
        # generation id -> (price, estimate, images, request hold) of replies whose charge is looked up later
        self._unpriced: dict[str, tuple[Priced, float | None, int, str | None]] = {}

    @property
    def quiet(self) -> bool:
        return self.options.quiet

    @property
    def spent(self) -> float:
        """What this run's finished calls have cost so far, as the ledger counts them."""
        with self._lock:
            return self._spent

    def client(self) -> HttpClient:
        if self._client is None:
            from .. import config
            from ..http.client import HttpClient

            secrets = [config.api_key(p) for p in config.KEY_VARS if config.key_variable(p)]
            self._client = HttpClient(timeout=self.options.timeout, retries=self.options.retries, secrets=secrets,
                                      verbose=not self.options.quiet, gate=self.gate)
        return self._client

    def side_client(self, timeout: float) -> HttpClient:
        """A client for the run's requests that pay for nothing (a cost lookup, a stale model list): one
        try, quiet, and broken off when the caller cancels."""
        from ..http.client import HttpClient

        return HttpClient(timeout=timeout, retries=0, secrets=self.client().secrets, verbose=False,
                          cancelled=self.cancelled)

    def authorize(self, estimate_usd: float | None, *, model: str, count: int) -> dict[str, Any]:
        """The spending check, once per run: BudgetError (nothing sent) when a limit refuses the run."""
        if self.budget is None:
            self.budget = guard.check(estimate_usd, self.spend.max_cost, model=model, count=count)
        return self.budget

    def prepare_output(self, writer: ImageWriter, count: int = 1) -> None:
        """Refuse what would fail after paying: an output file another run is making (each explicit
        name is claimed, until :meth:`finish`), a taken output name, an unwritable folder."""
        from ..images.claims import Claims
        from ..images.writer import ensure_writable_dir

        if writer.output_file is not None:
            ensure_writable_dir(writer.target_dir())  # the claim lives beside the file
            if self._claims is None:
                self._claims = Claims()
            self._claims.take(writer.explicit_targets(count))
        try:
            writer.check_before_request(count)
        except BaseException:
            if self._claims is not None:
                self._claims.release()
            raise

    def finish(self) -> None:
        """The run is over (see ``pipeline.outputs``): let go of its output claims, and of the holds
        kept while a charge was looked up."""
        if self._claims is not None:
            self._claims.release()
        unpriced, self._unpriced = self._unpriced, {}
        for _, _, _, hold_id in unpriced.values():
            if hold_id is not None and self.request_cap is not None:
                self.request_cap.account.settle(hold_id, key=None)

    def cost_found(self, generation_id: str, cost: float) -> None:
        """A call's charge, learned after its ledger line was written (``GET /generation``): the price
        is remembered for later estimates, and the request's budget counts it instead of the estimate."""
        found = self._unpriced.pop(generation_id, None)
        if found is None:
            return
        price, estimate, images, hold_id = found
        with self._lock:  # --max-cost counted the estimate until now
            self._spent += cost - (estimate or 0.0)
        observed.remember(price.key, cost, images, generation_id)
        self._above_estimate(cost, estimate, images, price)
        if hold_id is not None and self.request_cap is not None:
            account = self.request_cap.account
            account.charge(cost - (estimate or 0.0))
            account.settle(hold_id, key=price.key.joined())

    def send(self, call: Call, *, model: str, estimate: float | None, label: str,
             spool_dir: Any = None, alias: str | None = None, price: Priced | None = None) -> ProviderReply:
        """One call, ledger-recorded, under a ticker; the run must have been authorized. ``alias``: the
        alias or default ``model`` was resolved from, for the ledger."""
        assert self.budget is not None, "authorize() before sending"
        with Ticker(label, quiet=self.quiet):
            return self._recorded(call, (model, alias), estimate, spool_dir, price)

    def send_all(self, calls: Sequence[Call], *, model: str, estimate_each: float | None, label: str,
                 spool_dir: Any = None, alias: str | None = None,
                 price: Priced | None = None) -> list[ProviderReply | ImageGenError]:
        """Several calls (at most four at once): each reply, or the error that call ended in. While
        ``price`` has no confirmed charge, the first call goes alone and the others are estimated on it."""
        assert self.budget is not None, "authorize() before sending"

        def one(call: Call) -> ProviderReply | ImageGenError:
            try:
                return self._recorded(call, (model, alias), estimate_each, spool_dir, price)
            except ImageGenError as error:
                return error

        with Ticker(label, quiet=self.quiet):
            if len(calls) == 1:
                return [one(calls[0])]
            import threading
            from concurrent.futures import ThreadPoolExecutor

            first: list[ProviderReply | ImageGenError] = []
            if price is not None and not observed.confirmed(price.key):
                first, calls = [one(calls[0])], calls[1:]
                self._learn(first[0])
            self._lock = threading.Lock()
            with ThreadPoolExecutor(max_workers=min(len(calls), MAX_PARALLEL_CALLS)) as pool:
                outcomes = first + list(pool.map(one, calls))
        self._note(_stopped_early(outcomes))
        return outcomes

    def send_text(self, calls: Sequence[Call], *, model: str, estimate_each: float | None,
                  label: str, alias: str | None = None) -> list[ProviderReply | ImageGenError]:
        """:meth:`send_all` for text calls (reviews, prompt enhancement): a call whose HTTP 400 names a
        sampling parameter the model refuses (not charged) is sent once more without it, with a warning."""
        from ..providers import sampling

        outcomes = self.send_all(calls, model=model, estimate_each=estimate_each, label=label, alias=alias)
        again = [(index, name) for index, outcome in enumerate(outcomes) if isinstance(outcome, ProviderError)
                 and (name := sampling.rejected_parameter(outcome, calls[index].body))]
        if not again:
            return outcomes
        names = sorted({name for _, name in again})
        self._note(f"{model} refused {', '.join(names)} (HTTP 400, not charged): sent again without it")
        resent = self.send_all([sampling.without(calls[index], name) for index, name in again], model=model,
                               estimate_each=estimate_each, label=label, alias=alias)
        for (index, _), outcome in zip(again, resent, strict=True):
            outcomes[index] = outcome
        return outcomes

    def _recorded(self, call: Call, model: tuple[str, str | None], estimate: float | None,
                  spool_dir: Any, price: Priced | None = None) -> ProviderReply:
        """Send ``call``; every attempt that reached the provider leaves its ledger line before the
        next step (a retry, reading the reply, saving) can fail."""
        hold = self._hold(estimate, price)
        estimate = hold.estimate
        heard: list[ImageGenError] = []
        answered = False
        last: dict[str, Any] | None = None  # the line the call ends with, which settles its reservation
        client = self.client().observed(lambda error: on_attempt(error))

        def entry(**outcome: Any) -> dict[str, Any] | None:
            line = ledger.call_entry(self.spend, model, estimate, **outcome)
            if line is not None and price is not None:
                line.update(price.key.fields())
            return line

        def on_attempt(error: ImageGenError) -> None:  # a failed attempt that reached the provider
            heard.append(error)
            read = call.read_failure(error) if isinstance(error, ProviderError) else error
            self._write(entry(error=read), hold)

        def parse(response: Any) -> ProviderReply:
            nonlocal answered
            answered = True
            return call.parse(response)

        self._told({"model": model[0], "estimate_usd": estimate, **(price.key.fields() if price else {})})
        try:
            reply = call._replace(parse=parse).send(client, spool_dir)
            last = entry(reply=reply)
        except ImageGenError as error:
            if not any(known in (error, getattr(error, "refined_from", None)) for known in heard):
                last = entry(error=error, answered=answered)
            raise
        except Exception as error:  # a reply we could not read: it was still answered, and maybe billed
            if answered:
                unreadable = ImageGenError(f"unreadable reply: {type(error).__name__}", kind="internal")
                last = entry(error=unreadable, answered=True)
            raise
        except BaseException as stop:  # interrupted (Ctrl-C, SIGTERM, SIGHUP) while the call was out
            if answered or client.posted:
                unknown = ImageGenError(f"interrupted ({type(stop).__name__}) after the request went out",
                                        kind="interrupted", extra={"charge_unknown": True})
                last = entry(error=unknown)
                stop.charge_unknown = True  # type: ignore[attr-defined]  # for the error document
            raise
        finally:
            self._settle(hold, last, price)
            self._told(None)
        self._note(_implausible_cost(reply, estimate))
        self._above_estimate(reply.cost_usd, estimate, len(reply.images), price)
        return reply

    def _above_estimate(self, cost: float | None, estimate: float | None, images: int, price: Priced | None) -> None:
        """Warn of a charge well above its estimate, whether the reply said it or ``GET /generation`` did."""
        if price is None:
            return
        expected = estimate
        if expected and images > price.images:  # extras are billed too: per image
            expected = round(expected * images / price.images, 6)
        self._note(observed.well_above(cost, expected))

    def _learn(self, outcome: Any) -> None:
        """The call that went alone to learn a price reported none: ask for it before the others go."""
        if self.look_up_cost is None or isinstance(outcome, ImageGenError) or outcome.cost_usd is not None:
            return
        if isinstance(outcome.generation_id, str) and outcome.generation_id in self._unpriced:
            self.look_up_cost(outcome)

    def _later(self, last: dict[str, Any] | None, price: Priced | None, hold: _Held) -> bool:
        """Whether the call's charge is to be looked up after the run saves it (a success that reported
        none, with a generation id): it is kept in ``_unpriced`` until :meth:`cost_found` or :meth:`finish`."""
        generation = last.get("generation_id") if last else None
        if price is None or last is None or last.get("outcome") != "success" or last.get("cost_usd") is not None \
                or not isinstance(generation, str) or not generation:
            return False
        self._unpriced[generation] = (price, hold.estimate, last.get("images") or 1, hold.account)
        return True

    def _told(self, call: dict[str, Any] | None) -> None:
        if self.on_call is not None:
            self.on_call(call)

    def _hold(self, estimate: float | None, price: Priced | None = None) -> _Held:
        """Before a call is sent: its estimate now (what its price key was last charged, when that
        disagrees), then BudgetError when it would pass --max-cost given what this run has spent and
        holds, its request's --max-cost given what all its jobs were charged and hold, or the daily
        budget given every run's; else what it holds."""
        ledger.check_usable()  # a call whose line could not be written is never sent
        if price is not None:
            estimate = observed.current(price.key, estimate, price.images)
        account = self._hold_request(estimate, price)
        if account is not None:
            estimate = account[1]
        try:
            return self._hold_run(estimate, account[0] if account else None)
        except BaseException:
            if account is not None:
                self.request_cap.account.settle(account[0], key=None)  # type: ignore[union-attr]
            raise

    def _hold_request(self, estimate: float | None, price: Priced | None) -> tuple[str, float | None] | None:
        """The hold on the request's budget (its id and the estimate held), waiting while the price
        key is being learned by another job's call; None when the run has no request budget."""
        cap = self.request_cap
        if cap is None:
            return None
        import os

        hold_id = os.urandom(8).hex()
        key = price.key.joined() if price is not None else None
        learn_first = price is not None and not observed.confirmed(price.key)
        now = (lambda: observed.current(price.key, estimate, price.images)) if price is not None else None
        if estimate is None and price is None:
            estimate = 0.0  # a call priced only afterwards (the enhancer): counted when it is charged
        usd = cap.account.hold(hold_id, estimate, cap=cap.max_cost, key=key, learn_first=learn_first,
                               seconds=self._longest(), estimate_now=now)
        return hold_id, usd

    def _longest(self) -> float:
        options = self.options
        return options.timeout * (options.retries + 1) + options.retries * MAX_RETRY_WAIT + HOLD_MARGIN_SEC

    def _hold_run(self, estimate: float | None, account: str | None) -> _Held:
        with self._lock:
            max_cost = self.spend.max_cost
            committed = round(self._spent + self._held, 6)
            if max_cost is not None and estimate is not None and committed + estimate > max_cost + guard.EPSILON:
                raise BudgetError(
                    f"--max-cost {max_cost:g} stops this run: ${committed:.4f} is spent or in flight, and the next "
                    f"call's estimate ${estimate:.4f} would pass it",
                    details="raise --max-cost, or make fewer images per run",
                    extra={"limit": "max_cost", "max_cost_usd": max_cost, "estimate_usd": estimate,
                           "spent_this_run_usd": committed})
            reservation = guard.reserve(estimate, seconds=self._longest(), what="the next call")
            usd = estimate or 0.0
            self._held += usd
            return _Held(reservation, usd, account, estimate)

    def _settle(self, hold: _Held, last: dict[str, Any] | None, price: Priced | None = None) -> None:
        """The call is over: write its last line (if it reached the provider) and let its holds go."""
        with self._lock:  # one step, so the next call's check never sees the call neither held nor spent
            self._held -= hold.usd
            self._spent += ledger.charged(last) if last is not None else 0.0
        if last is not None:
            self._note(ledger.write(last, release=hold.reservation))
        elif hold.reservation is not None:
            ledger.release(hold.reservation)
        later = self._later(last, price, hold)
        if hold.account is not None and self.request_cap is not None:
            account = self.request_cap.account
            if last is not None:
                account.charge(ledger.charged(last))
            if later:
                account.learning(hold.account)  # calls waiting to learn this price wait for its lookup
            else:
                account.settle(hold.account, key=price.key.joined() if price is not None else None)

    def _write(self, entry: dict[str, Any] | None, hold: _Held | None = None) -> None:
        if entry is None:
            return
        with self._lock:
            self._spent += ledger.charged(entry)
        self._note(ledger.write(entry))
        if hold is not None and hold.account is not None and self.request_cap is not None:
            self.request_cap.account.charge(ledger.charged(entry))

    def _note(self, warning: str | None) -> None:
        if warning and warning not in self.warnings:
            self.warnings.append(warning)


def _stopped_early(outcomes: list[Any]) -> str | None:
    """The warning for a run a spending limit stopped after some of its calls were made."""
    stops = [o for o in outcomes if isinstance(o, BudgetError)]
    made = sum(1 for o in outcomes if not isinstance(o, ImageGenError))
    if not stops or not made:
        return None
    limit = "--max-cost" if stops[0].extra.get("limit") == "max_cost" else "the daily budget"
    return (f"{limit} stopped this run after {made} of {len(outcomes)} calls; {len(stops)} were not sent: "
            f"{stops[0].message}")


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
