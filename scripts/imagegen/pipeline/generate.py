"""Generation: a plan sent through OpenRouter's chat completions or its Images API, images saved.

:func:`prepare` turns a request into a checked plan (the queue calls it at enqueue time and again
at run time); :func:`run` spends; :func:`dry_run` describes what :func:`run` would send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import ImageGenError, UsageError
from ..progress import note
from ..prompt import plan as plans
from ..requests import GenerateRequest

if TYPE_CHECKING:
    from ..images.writer import ImageWriter
    from ..providers.call import Call
    from .paid_call import PaidRun

OPTION_FLAGS = (("quality", "--quality"), ("output_format", "--output-format"), ("background", "--background"),
                ("output_compression", "--output-compression"), ("moderation", "--moderation"))


class ImagesOptions(NamedTuple):
    """The Images API options a chat completion has no place for (``moderation``: OpenAI's only)."""

    quality: str | None = None
    output_format: str | None = None
    background: str | None = None
    output_compression: int | None = None
    moderation: str | None = None

    def record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"api": "images", "quality": self.quality, "output_format": self.output_format,
                  "background": self.background}
        record.update({name: value for name, value in (("output_compression", self.output_compression),
                                                       ("moderation", self.moderation)) if value is not None})
        return record


class Prepared(NamedTuple):
    plan: plans.GenerationPlan
    options: ImagesOptions | None  # None: chat completions
    enhance_model: str | None  # set when the prompt is to be enhanced first


def images_options(request: Any, provider: str = "openrouter") -> ImagesOptions | None:
    """The Images API options: OpenRouter's with ``api images``, OpenAI's always; None for chat.

    The options are refused where they cannot be honoured (OpenRouter chat, Google) rather than
    dropped: an image silently made without the asked-for transparency is worse than an error that
    names the fix.
    """
    given = [flag for name, flag in OPTION_FLAGS if getattr(request, name, None) is not None]
    if request.moderation is not None and provider != "openai":
        check_openai_options(request, provider)
    if provider == "google":
        if request.api == "images" or given:
            named = ", ".join(given) or "--api images"
            raise UsageError(f"{named} {'is' if len(given) < 2 else 'are'} not offered by Google's Gemini API",
                             details="drop " + ", ".join(given or ["--api images"]) + ", or use --provider openai "
                                     "or OpenRouter's --api images for them")
        return None
    if request.api != "images" and provider != "openai":
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise UsageError(f"{', '.join(given)} only {verb} to the Images API",
                             details="add --api images, or drop " + ", ".join(given))
        return None
    options = ImagesOptions(request.quality, request.output_format, request.background, request.output_compression,
                            request.moderation)
    if options.background == "transparent" and options.output_format == "jpeg":
        raise UsageError("--background transparent cannot be saved as JPEG",
                         details="use --output-format png or webp (or leave it out)")
    check_openai_options(options, provider)
    return options


def check_openai_options(options: Any, provider: str) -> None:
    """--moderation is OpenAI's alone, and so are raster formats only; --output-compression needs a lossy
    --output-format (openai-python: "only supported ... with the webp or jpeg output formats")."""
    if getattr(options, "moderation", None) is not None and provider != "openai":
        raise UsageError("--moderation is offered by OpenAI's Images API only",
                         details="add --provider openai (with a gpt-image model), or drop --moderation")
    if options.output_format == "svg" and provider == "openai":
        raise UsageError("OpenAI's Images API makes png, jpeg or webp, not svg",
                         details="choose one of those, or a vector model through OpenRouter's --api images")
    if options.output_compression is not None and options.output_format not in ("jpeg", "webp"):
        raise UsageError("--output-compression applies to jpeg or webp output only",
                         details="add --output-format jpeg or webp, or drop --output-compression")


def adapt_for_images_api(plan: plans.GenerationPlan, options: ImagesOptions, upsampling_flag: bool | None) -> None:
    """Record the options, and say what the Images API cannot take."""
    if plan.system_message:
        plan.warnings.append("the Images API takes no system message; it was not sent (use --api chat for it)")
        plan.system_message = None
    if upsampling_flag is not None:
        plan.warnings.append("the Images API takes no prompt_upsampling; the flag was ignored")
    plan.upsampling = None
    plan.extra_result.update(options.record())


def prepare(request: GenerateRequest, *, show_hints: bool = False, quiet: bool = True) -> Prepared:
    """Every check a run makes before sending, touching no provider (the same at enqueue and run time)."""
    if request.provider == "google":
        images_options(request, "google")  # refused before any file is read
    try:
        plan = plans.build(request)
    except ImageGenError as error:
        notify_hints(error.extra.get("clarify_hints") or [], show_hints)
        raise
    options = images_options(request, plan.provider)
    if plan.provider != "openrouter":
        from . import direct

        direct.adapt(plan, options)
    elif options is not None:
        adapt_for_images_api(plan, options, request.prompt_upsampling)
    notify_hints([hint.to_dict() for hint in plan.clarify_hints], show_hints)
    if request.request_id:
        plan.extra_result["request_id"] = request.request_id
    check_parameters(plan, options)
    return Prepared(plan, options, request.enhance_model if request.enhance else None)


def check_parameters(plan: plans.GenerationPlan, options: ImagesOptions | None) -> None:
    """Refuse (exit 2, before paying) a value the live catalogue says the model's endpoints do not take.

    Without a fresh catalogue the built-in capabilities alone are checked; a model the catalogue
    does not list is sent with a warning that its parameters could not be checked.
    """
    from .. import config

    if plan.provider != "openrouter" or not config.catalogue_path().exists():
        return  # the live catalogue is OpenRouter's
    from ..models import catalogue

    parameters = catalogue.supported_parameters(plan.spec.id)
    if parameters is None:
        live = catalogue.fresh()  # a model it lists without parameters (discovery was down) is still listed
        if live is not None and plan.spec.id not in live.models:
            plan.warnings.append(f"{plan.spec.id} is not in the live catalogue: its parameters were not checked")
        return
    from ..providers.openrouter_images import RESOLUTIONS

    asked: list[tuple[str, Any, str]] = [("aspect_ratio", plan.aspect_ratio, "--aspect-ratio"),
                                         ("resolution", RESOLUTIONS.get(plan.size, plan.size), "--size")]
    references = len(plan.input_images) + len(plan.style_refs) + (1 if plan.baseline else 0)
    if references:
        asked.append(("input_references", references, "reference and input images"))
    if plan.seed is not None:
        asked.append(("seed", None, "--seed"))
    if options is not None:
        asked += [(name, value, flag) for (name, flag), value in zip(OPTION_FLAGS, options) if value is not None]
        if plan.count > 1:
            asked.append(("n", plan.count, "--n"))
    for name, value, flag in asked:
        descriptor = parameters.get(name)
        if descriptor is None and value is not None and name in ("aspect_ratio", "resolution"):
            continue  # chat sends these to every model; a model that ignores them is not refused for them
        if not catalogue.accepts(descriptor, value):
            _refuse(plan.spec.id, name, value, flag, descriptor, catalogue.models_supporting(name, value))


def _refuse(model: str, name: str, value: Any, flag: str, descriptor: Any, others: list[str]) -> None:
    shown = f" {value}" if value is not None and name != "seed" else ""
    allowed = ""
    if isinstance(descriptor, dict) and descriptor.get("type") == "enum":
        allowed = "it takes " + ", ".join(map(str, descriptor.get("values") or [])) + "; "
    elif isinstance(descriptor, dict) and descriptor.get("type") == "range":
        allowed = f"it takes {descriptor.get('min')} to {descriptor.get('max')}; "
    suggestion = ("models that do: " + ", ".join(others[:6])) if others else "drop " + flag
    raise UsageError(f"{model} does not support {name}{shown} ({flag}), according to the live catalogue",
                     details=allowed + suggestion, kind="unsupported", extra={"parameter": name})


def image_calls(plan: plans.GenerationPlan, options: ImagesOptions | None) -> list[Call]:
    """The calls that make the plan's images: one chat call per image, or one Images API call for all."""
    if plan.provider != "openrouter":
        from . import direct

        return direct.image_calls(plan, options)
    if options is None:
        from ..providers import openrouter_chat

        body = openrouter_chat.body(plan.spec, plan.final_prompt, image_urls=plan.image_urls(),
                                    system_message=plan.system_message, aspect_ratio=plan.aspect_ratio,
                                    size=plan.size, seed=plan.seed, upsampling=plan.upsampling)
        return [openrouter_chat.call(body)] * plan.count
    from ..providers import openrouter_images

    references = [image.data_url() for image in plan.input_images + plan.style_refs]
    body = openrouter_images.body(
        plan.spec, plan.final_prompt, reference_urls=references, aspect_ratio=plan.aspect_ratio,
        resolution=plan.size, n=plan.count, quality=options.quality, output_format=options.output_format,
        background=options.background, seed=plan.seed, output_compression=options.output_compression,
    )
    return [openrouter_images.call(body)]


def dry_run(prepared: Prepared, writer: ImageWriter, paid: PaidRun) -> dict[str, Any]:
    """What :func:`run` would send (with the spending limits it would meet); nothing is sent."""
    plan = prepared.plan
    budget = paid.authorize(plan.estimate_usd, model=plan.spec.alias, count=plan.count)
    enhance_request = None
    if prepared.enhance_model:
        from . import enhance

        enhance_request = enhance.dry_run_request(plan, prepared.enhance_model)
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
        from . import enhance

        enhance.enhance_plan(plan, paid, prepared.enhance_model)
    calls = image_calls(plan, options)
    label = f"waiting for {plan.spec.alias}" + (" (Images API)" if options is not None else "")
    one_call = options is not None  # the Images APIs make every image in one call
    estimate_each = plan.estimate_usd if one_call else plan.estimate_each_usd
    outcomes, elapsed_ms = timed(lambda: paid.send_all(calls, model=plan.spec.id, estimate_each=estimate_each,
                                                       label=label, spool_dir=writer.target_dir()))
    replies = [o for o in outcomes if not isinstance(o, ImageGenError)]
    failures = [o for o in outcomes if isinstance(o, ImageGenError)]
    if not replies:
        raise failures[0]
    result = save_replies(plan, replies, paid.client(), writer, elapsed_ms, keep_response=keep_response)
    if plan.provider == "openrouter":  # GET /generation and the catalogue are OpenRouter's
        _look_up_missing_costs(replies, result, paid)
        _refresh_stale_catalogue(result, paid)
    for failure in failures:
        result["warnings"].append(f"one of {plan.count} calls failed: {failure.kind}: {failure.message}")
    if options is not None and result["image_count"] < plan.count:
        result["warnings"].append(f"asked for {plan.count} images, the Images API returned {result['image_count']}")
    result["warnings"] += paid.warnings
    return result


COST_LOOKUP_TIMEOUT = 5.0  # seconds for each GET /generation; the images are already saved
COST_LOOKUP_TRIES = 3
COST_LOOKUP_WAIT = 0.5  # times the back-off base: OpenRouter records a cost a little after the reply


def _look_up_missing_costs(replies: list[Any], result: dict[str, Any], paid: PaidRun) -> None:
    """Fill in the cost of replies without ``usage.cost`` from ``GET /generation`` (best effort: a lookup
    that fails leaves the cost unknown, counted at its estimate, and says so)."""
    missing = [r for r in replies if r.cost_usd is None and isinstance(r.generation_id, str) and r.generation_id]
    if not missing:
        return
    import time

    from ..config import retry_base_seconds
    from ..http.client import HttpClient
    from ..providers import openrouter_account

    client = HttpClient(timeout=COST_LOOKUP_TIMEOUT, retries=0, secrets=paid.client().secrets, verbose=False)
    found = 0
    for reply in missing:
        for attempt in range(COST_LOOKUP_TRIES):
            try:
                cost = openrouter_account.generation_cost(client, reply.generation_id)
            except ImageGenError:
                cost = None
            if cost is not None:
                reply.usage = {**reply.usage, "cost": cost}
                found += 1
                break
            if attempt + 1 < COST_LOOKUP_TRIES:
                time.sleep(COST_LOOKUP_WAIT * retry_base_seconds())
    costs = [r.cost_usd for r in replies if r.cost_usd is not None]
    result["cost_usd"] = round(sum(costs), 6) if costs else None
    if found:
        result["cost_usd_source"] = "generation lookup"
    if found < len(missing):
        result["warnings"].append(f"the cost of {len(missing) - found} call(s) is not known yet (the reply did not "
                                  "say and GET /generation had no answer); the ledger counts them at their estimate")


STALE_AFTER_SECONDS = 24 * 3600
REFRESH_TIMEOUT = 10.0


def _refresh_stale_catalogue(result: dict[str, Any], paid: PaidRun) -> None:
    """Refresh a cached catalogue older than a day, after the images are saved (best effort, bounded)."""
    from .. import config

    path = config.catalogue_path()
    try:
        import time

        if time.time() - path.stat().st_mtime < STALE_AFTER_SECONDS:
            return
    except OSError:
        return  # no cache: the user has not asked for live data (models.py --refresh does)
    from ..http.client import HttpClient
    from ..providers import openrouter_account

    client = HttpClient(timeout=REFRESH_TIMEOUT, retries=0, secrets=paid.client().secrets, verbose=False)
    try:
        openrouter_account.refresh_catalogue(client, with_key=True)
    except ImageGenError as error:
        result["warnings"].append(f"the model catalogue is over a day old and could not be refreshed "
                                  f"({error.kind}: {error.message})")


def run_request(request: GenerateRequest, paid: PaidRun, fields: dict[str, Any]) -> dict[str, Any]:
    """A whole generation from its request: plan, then describe (dry run) or make and save the images.
    ``fields`` learns the model, for an error document."""
    if request.review_loop():
        from . import review_loop

        return review_loop.run_request(request, paid, fields)
    fields["model"] = request.model
    prepared = prepare(request, show_hints=paid.options.show_hints)
    fields["model"] = prepared.plan.spec.id
    notify_warnings(prepared.plan.warnings, paid.options.quiet)
    writer = writer_for(request, prepared.plan.spec.slug)
    if paid.options.dry_run:
        return dry_run(prepared, writer, paid)
    return run(prepared, writer, paid)


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

