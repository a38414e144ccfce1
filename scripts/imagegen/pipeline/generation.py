"""Generation: a plan sent through its provider's route (OpenRouter's chat completions or Images API,
Google's generateContent, OpenAI's /images/generations), images saved.

:func:`prepare` turns a request into a checked plan (the queue calls it at enqueue time and again
at run time); :func:`run` spends; :func:`dry_run` describes what :func:`run` would send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import BudgetError, ImageGenError
from ..progress import note
from ..prompt.plan import GenerationPlan, build, switch_to_successor
from ..record import Record
from ..requests import GenerateRequest
from . import routes
from .images_options import ImagesOptions
from .outputs import releasing_outputs

if TYPE_CHECKING:
    from ..images.writer import ImageWriter
    from ..providers.call import Call
    from .paid_call import PaidRun


class Prepared(Record):
    plan: GenerationPlan
    options: ImagesOptions | None  # None: chat completions
    enhance_model: str | None  # set when the prompt is to be enhanced first


def prepare(request: GenerateRequest, *, show_hints: bool = False) -> Prepared:
    """Every check a run makes before sending, touching no provider (the same at enqueue and run time)."""
    if request.provider:
        routes.route(request.provider).options(request)  # refused before any file is read
    try:
        plan = build(request)
    except ImageGenError as error:
        notify_hints(error.extra.get("clarify_hints") or [], show_hints)
        raise
    route = routes.route(plan.provider)
    options = route.options(request)
    route.adapt(plan, options, request.prompt_upsampling)
    notify_hints([hint.to_dict() for hint in plan.clarify_hints], show_hints)
    if request.request_id:
        plan.extra_result["request_id"] = request.request_id
    try:
        route.check(plan, options)
    except ImageGenError as error:
        from ..models.alternatives import with_fallbacks  # failure path only

        raise with_fallbacks(error, plan.provider, plan.spec.id, image_input=plan.takes_images) from None
    return Prepared(plan, options, request.enhance_model if request.enhance else None)


def image_calls(plan: GenerationPlan, options: ImagesOptions | None) -> list[Call]:
    """The calls that make the plan's images, as its route builds them."""
    return routes.route(plan.provider).image_calls(plan, options)


def dry_run(prepared: Prepared, writer: ImageWriter, paid: PaidRun) -> dict[str, Any]:
    """What :func:`run` would send (with the spending limits it would meet); nothing is sent."""
    plan = prepared.plan
    budget = paid.authorize(plan.estimate_usd, model=plan.spec.alias, count=plan.count)
    enhance_request = None
    if prepared.enhance_model:
        from . import enhance_call

        enhance_request = enhance_call.dry_run_request(plan, prepared.enhance_model)
    result = {
        "dry_run": True,
        "request": image_calls(plan, prepared.options)[0].display(),
        "target_paths": [str(writer.planned_name(i, _extension(prepared.options))) for i in range(plan.count)],
        **plan.summary(),
        "budget": budget,
        "warnings": [*plan.warnings, *paid.warnings],  # what a real run would report, as it would
    }
    if enhance_request is not None:
        result["enhance_request"] = enhance_request
    return result


def _extension(options: ImagesOptions | None) -> str:
    """The file extension the asked-for format takes (the saved file's is the format it arrives in)."""
    from ..images.files import EXTENSIONS

    return EXTENSIONS.get(options.output_format or "png", ".png") if options is not None else ".png"


@releasing_outputs
def run(prepared: Prepared, writer: ImageWriter, paid: PaidRun, *, keep_response: bool = False) -> dict[str, Any]:
    """Check the output and the budget once, enhance the prompt if asked, make the images and save them.

    ``keep_response`` adds each reply (image data left out) as ``provider_response``.
    """
    from .paid_call import timed
    from .save import save_replies

    plan, options = prepared.plan, prepared.options
    paid.prepare_output(writer, plan.count)
    paid.authorize(plan.estimate_usd, model=plan.spec.alias, count=plan.count)
    if prepared.enhance_model:
        from . import enhance_call

        enhance_call.enhance_plan(plan, paid, prepared.enhance_model)
    (replies, failures, gone), elapsed_ms = timed(lambda: _make(plan, options, paid, writer))
    if not replies:
        if gone:
            failures[0].extra["model"] = plan.spec.id  # the document names the model that failed last
        from ..models.alternatives import with_fallbacks  # failure path only

        raise with_fallbacks(failures[0], plan.provider, plan.spec.id, image_input=plan.takes_images,
                             exclude=tuple(gone))
    result = save_replies(plan, replies, paid.client(), writer, elapsed_ms, keep_response=keep_response)
    routes.route(plan.provider).after_run(replies, result, paid)
    alike: dict[str, int] = {}  # one line for the calls that failed alike
    for failure in failures:
        if isinstance(failure, BudgetError):
            continue  # never sent, not failed: the stop's own warning counts them (PaidRun.send_all)
        said = f"{failure.kind}: {failure.message}"
        alike[said] = alike.get(said, 0) + 1
    for said, times in alike.items():
        result["warnings"].append(f"{'one' if times == 1 else times} of {plan.count} calls failed: {said}")
    if options is not None and result["image_count"] < plan.count:
        result["warnings"].append(f"asked for {plan.count} images, the Images API returned {result['image_count']}")
    result["warnings"] += paid.warnings
    return result


def _make(plan: GenerationPlan, options: ImagesOptions | None, paid: PaidRun,
          writer: ImageWriter) -> tuple[list[Any], list[ImageGenError], list[str]]:
    """Send the plan's calls: the replies, the errors of the calls that failed, and the models found
    gone. A model from an alias or a default that its provider says is gone gives way, once, to its
    chain's next candidate."""
    from .paid_call import Priced

    gone: list[str] = []
    for attempt in range(2):
        calls = image_calls(plan, options)
        label = f"waiting for {plan.spec.alias}" + (" (Images API)" if options is not None else "")
        one_call = options is not None  # the Images APIs make every image in one call
        estimate_each = plan.estimate_usd if one_call else plan.estimate_each_usd
        price = Priced(plan.price_key(), plan.count if one_call else 1)
        paid.look_up_cost = routes.route(plan.provider).cost_lookup(paid)  # for the call that learns a price
        outcomes = paid.send_all(calls, model=plan.spec.id, estimate_each=estimate_each, label=label,
                                 spool_dir=writer.target_dir(), alias=plan.spec.model_alias, price=price)
        replies = [o for o in outcomes if not isinstance(o, ImageGenError)]
        failures = [o for o in outcomes if isinstance(o, ImageGenError)]
        if replies or attempt or failures[0].kind != "model_unavailable" or not plan.spec.successors:
            break
        gone.append(plan.spec.id)
        switch_to_successor(plan)
        warning = (f"{plan.spec.requested} resolved to {gone[-1]}, which the provider says is gone "
                   f"({failures[0].message}); tried {plan.spec.id} instead")
        paid.warnings.append(warning)
        note("warning: " + warning, paid.quiet)
    return replies, failures, gone


def writer_for(request: Any, slug: str) -> ImageWriter:
    """The writer the request's output fields ask for, naming files ``<stamp>-<slug>``."""
    from pathlib import Path

    from ..images.writer import ImageWriter

    output_file = Path(request.output_file).expanduser() if request.output_file else None
    return ImageWriter(Path(request.output_dir).expanduser(), output_file, slug,
                       overwrite=request.overwrite, sidecars=request.sidecar)


def notify_warnings(warnings: list[str], quiet: bool) -> None:
    for warning in warnings:
        note("warning: " + warning, quiet)


def notify_hints(hints: list[dict[str, str]], show: bool) -> None:
    """Print clarify hints on stderr when --clarify-hints asked for them (even under --quiet)."""
    if show:
        from ..prompt import clarify

        for hint in hints:
            note(clarify.hint_line(hint))

