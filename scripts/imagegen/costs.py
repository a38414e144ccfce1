"""What counts as an amount of money: the one rule for costs read from replies, estimates and the ledger.

Python reads ``NaN``, ``Infinity`` and ``-100`` as floats like any other; a NaN compares false with
every limit and a negative cost raises the budget left, so neither may count as a price.
"""

from __future__ import annotations

import math
from typing import Any

# No single image, edit or review call costs more; a larger "cost" is a broken reply, not a price.
MAX_PLAUSIBLE_COST_USD = 100.0


def finite_amount(value: Any) -> float | None:
    """``value`` as a float when it is a finite, non-negative number (not a bool); else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        amount = float(value)
    except OverflowError:  # an integer with hundreds of digits
        return None
    return amount if math.isfinite(amount) and amount >= 0 else None


def plausible_cost(value: Any) -> float | None:
    """A cost a provider could really have charged for one call: finite, >= 0, <= $100; else None."""
    amount = finite_amount(value)
    return amount if amount is not None and amount <= MAX_PLAUSIBLE_COST_USD else None
