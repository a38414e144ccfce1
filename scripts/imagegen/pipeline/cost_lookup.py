"""What OpenRouter calls cost when their replies did not say: ``GET /generation``, after the images
are saved (best effort and bounded: a lookup that fails leaves the cost unknown, counted at its
estimate, and says so)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ImageGenError

if TYPE_CHECKING:
    from .paid_call import PaidRun

COST_LOOKUP_TIMEOUT = 5.0  # seconds for each GET /generation; the images are already saved
COST_LOOKUP_TRIES = 3
COST_LOOKUP_WAIT = 0.5  # times the back-off base: OpenRouter records a cost a little after the reply


def look_up_missing_costs(replies: list[Any], result: dict[str, Any], paid: PaidRun) -> None:
    """Fill in the cost of replies without ``usage.cost`` from ``GET /generation`` (best effort: a lookup
    that fails leaves the cost unknown, counted at its estimate, and says so)."""
    missing = [r for r in replies if r.cost_usd is None and isinstance(r.generation_id, str) and r.generation_id]
    if not missing:
        return
    found = sum(1 for reply in missing if look_up_cost(reply, paid) is not None)
    costs = [r.cost_usd for r in replies if r.cost_usd is not None]
    result["cost_usd"] = round(sum(costs), 6) if costs else None
    if found:
        result["cost_usd_source"] = "generation lookup"
    if found < len(missing):
        result["warnings"].append(f"the cost of {len(missing) - found} call(s) is not known yet (the reply did not "
                                  "say and GET /generation had no answer); the ledger counts them at their estimate")


def look_up_cost(reply: Any, paid: PaidRun) -> float | None:
    """A reply's cost from ``GET /generation`` (a few quick tries), written into the reply and told to
    ``paid``; None when OpenRouter has no answer yet."""
    from ..config import retry_base_seconds
    from ..http.client import sleep_unless
    from ..providers import openrouter_account

    client = paid.side_client(COST_LOOKUP_TIMEOUT)
    for attempt in range(COST_LOOKUP_TRIES):
        try:
            cost = openrouter_account.generation_cost(client, reply.generation_id)
        except ImageGenError as error:
            if error.kind == "interrupted":
                return None  # the caller cancelled: no more tries
            cost = None
        if cost is not None:
            reply.usage = {**reply.usage, "cost": cost}
            paid.cost_found(reply.generation_id, cost)
            return cost
        if attempt + 1 < COST_LOOKUP_TRIES and sleep_unless(paid.cancelled, COST_LOOKUP_WAIT * retry_base_seconds()):
            return None
    return None
