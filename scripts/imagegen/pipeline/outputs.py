"""The end of a paid pipeline's run: its output claims (and the holds kept while a charge is looked
up) are let go however it ends.

Kept apart from ``paid_call`` so that a pipeline module can use it at import time without loading
the spending code (start-up is a budget).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

Run = TypeVar("Run", bound=Callable[..., Any])


def releasing_outputs(run: Run) -> Run:
    """Decorate a pipeline's ``run(plan, writer, paid, ...)``: ``paid.finish()`` when it returns or
    fails (the claims ``paid.prepare_output`` took on its output files are released)."""

    @functools.wraps(run)
    def released(plan: Any, writer: Any, paid: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return run(plan, writer, paid, *args, **kwargs)
        finally:
            paid.finish()

    return released  # type: ignore[return-value]
