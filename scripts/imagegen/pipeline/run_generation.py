"""A generation request run whole, as generate.py and the MCP generate tool run it: the review loop
when the request asks for one (``pipeline.review_loop``), else one generation (``pipeline.generation``):
plan, then describe (dry run) or make and save the images."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..requests import GenerateRequest
from . import generation

if TYPE_CHECKING:
    from .paid_call import PaidRun


def run_request(request: GenerateRequest, paid: PaidRun, fields: dict[str, Any]) -> dict[str, Any]:
    """The request's result document; ``fields`` learns the model, for an error document."""
    if request.review_loop():
        from . import review_loop

        return review_loop.run_request(request, paid, fields)
    fields["model"] = request.model
    prepared = generation.prepare(request, show_hints=paid.options.show_hints)
    fields["model"] = prepared.plan.spec.id
    generation.notify_warnings(prepared.plan.warnings, paid.options.quiet)
    writer = generation.writer_for(request, prepared.plan.spec.slug)
    if paid.options.dry_run:
        return generation.dry_run(prepared, writer, paid)
    return generation.run(prepared, writer, paid)
