"""What each tool runs: a typed library call, made with the call's checked request and values.

The same functions the commands call after their parsers (the Namespace stops at ``commands/``):
the paid tools run the pipeline with a paid run a cancellation can stop (``watch``), the others the
queue, registry, ledger and preflight functions. A tool never speaks to the user's terminal, so
nothing here prints hints or notes (``quiet``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .invoke import Invocation

MAX_WAIT_SEC = 600.0  # queue_status wait: longer waits are cut to this (the call holds one of --max-calls slots)


def generate(call: Invocation) -> dict[str, Any]:
    from ..pipeline import run_generation

    return run_generation.run_request(call.request, call.paid_run(), call.context.fields)


def edit(call: Invocation) -> dict[str, Any]:
    from ..pipeline.edit import run_request

    return run_request(call.request, call.paid_run(), call.context.fields)


def review(call: Invocation) -> dict[str, Any]:
    from ..pipeline.review import run

    call.context.fields["image"] = call.request.image
    return run(call.request, call.paid_run(), call.context.fields)


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    from ..queue import submit

    return submit.job_settings(values["timeout"], values["retries"], values["via"], values["request_max_cost"])


def enqueue(call: Invocation) -> dict[str, Any]:
    from ..queue import submit
    from ..queue.layout import QueueDirs, request_id_or_new

    values = call.values
    plan = submit.validate(call.request, via=values["via"])
    return submit.queue_requests(QueueDirs.at(values["queue_dir"]), [(call.request, plan)],
                                 request_id=request_id_or_new(call.request.request_id), settings=_settings(values),
                                 variant_index=values["variant_index"], dry_run=values["dry_run"], quiet=True)


def enqueue_variants(call: Invocation) -> dict[str, Any]:
    from ..cli.queue_flags import variant_batch
    from ..queue import variants
    from ..queue.layout import request_id_or_new

    values = call.values
    queued = variants.enqueue_batch(call.request, variant_batch(values),
                                    request_id=request_id_or_new(call.request.request_id),
                                    base=Path.cwd(), show_hints=False, settings=_settings(values),
                                    dry_run=values["dry_run"], quiet=True)
    return queued if values["dry_run"] else {"status": "queued", **queued}


def queue_status(call: Invocation) -> dict[str, Any]:
    """queue_status with its wait capped and stopped by a cancellation (which frees the call's slot)."""
    from ..queue import status
    from ..queue.layout import QueueDirs

    values = call.values
    return status.report(QueueDirs.at(values["queue_dir"]), request_id=values["request_id"], wait=values["wait"],
                         timeout=min(values["timeout"], MAX_WAIT_SEC), cancel=values["cancel"],
                         slots=values["max_background_workers"], quiet=True, stop=call.watch.wait)


def models(call: Invocation) -> dict[str, Any]:
    from ..models import describe

    values = call.values
    refreshed: dict[str, Any] = {"refreshed": False}
    if values["refresh"]:
        from ..providers import model_lists

        refreshed = model_lists.refresh_all(timeout=values["timeout"], retries=values["retries"], quiet=True,
                                            cancelled=call.watch.is_cancelled)
    return {**describe.listing(values["alias"]), **refreshed}


def spend(call: Invocation) -> dict[str, Any]:
    from ..spending import report

    return report.spend_report(call.values["since"], call.values["until"], call.values["request_id"])


def preflight(call: Invocation) -> dict[str, Any]:
    from ..preflight import Options, report, run_checks

    values, started = call.values, time.monotonic()
    options = Options(output_dir=Path(values["output_dir"]), queue_dir=Path(values["queue_dir"]),
                      fix=values["fix"], online=values["online"], timeout=values["timeout"],
                      orphan_timeout=values["orphan_timeout_sec"], max_attempts=values["max_attempts"],
                      slots=values["max_background_workers"], cancelled=call.watch.is_cancelled)
    return report(run_checks(options), started)


def preflight_passed(document: dict[str, Any]) -> bool:
    """A failed check is a report, not an error: success says whether every required check passed."""
    return not document["required_failures"]
