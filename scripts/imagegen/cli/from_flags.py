"""Requests from parsed flags: where the argparse Namespace stops.

Each function reads the flags of one command and returns the typed request the core takes. The
values were already checked by the flags' types (the same checks ``Request.from_json`` runs).
"""

from __future__ import annotations

import argparse
from typing import Any

from ..requests import EditRequest, GenerateRequest, Request, ReviewRequest, RunOptions


def _values(args: argparse.Namespace, kind: type[Request]) -> dict[str, Any]:
    fields = {field.name for field in kind.FIELDS}
    values = {}
    for name, value in vars(args).items():  # each option's dest is the field it fills (cli.options)
        if name not in fields:
            continue
        if isinstance(value, list):
            value = tuple(value)
        elif value is not None and not isinstance(value, (str, int, float, bool, tuple)):
            value = str(value)  # a Path default
        elif name == "input_images" and isinstance(value, str):
            value = (value,)  # generate.py takes one --input-image
        values[name] = value
    return {k: val for k, val in values.items() if val is not None}


def generate_request(args: argparse.Namespace) -> GenerateRequest:
    return GenerateRequest(**_values(args, GenerateRequest))


def edit_request(args: argparse.Namespace) -> EditRequest:
    return EditRequest(**_values(args, EditRequest))


def review_request(args: argparse.Namespace) -> ReviewRequest:
    return ReviewRequest(**_values(args, ReviewRequest))


def paid_run(args: argparse.Namespace, script: str, request: Any) -> Any:
    """The run's one PaidRun: who pays (the script, the request's id and --max-cost) and how to send."""
    from ..pipeline.paid_call import PaidRun
    from ..spending.guard import Spend

    return PaidRun(Spend(script, request.request_id, request.max_cost), run_options(args))


def run_options(args: argparse.Namespace) -> RunOptions:
    return RunOptions(timeout=getattr(args, "timeout", 180.0), retries=getattr(args, "retries", 2),
                      dry_run=bool(getattr(args, "dry_run", False)), quiet=bool(getattr(args, "quiet", False)),
                      show_hints=bool(getattr(args, "clarify_hints", False)))
