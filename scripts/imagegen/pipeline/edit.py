"""What edit.py decides before sending: which mode, which fields fit it, the OpenRouter edit plan, lineage.

OpenRouter edits are generations with the image to edit in ``plan.input_images``: they are planned
by ``prompt.plan.build`` and sent by ``pipeline.generation.run``, never by a second chat path.
OpenAI mask edits live in ``pipeline.mask_edit``.
"""

from __future__ import annotations

from typing import Any

from ..errors import UsageError
from ..prompt.plan import GenerationPlan, build, compose_prompt
from ..requests import EditRequest, GenerateRequest
from .lineage import parent_record

DEFAULT_EDIT_MODEL = "gpt-5-image"
EDIT_WITH_REFERENCES = ("The first attached image is the image to edit; change only what the instruction below "
                        "asks. The other attached images are references.")

# (request field, flag) pairs that only make sense in one mode.
OPENAI_ONLY = (("mask", "--mask"), ("mask_rects", "--mask-rect"), ("mask_invert", "--mask-invert"),
               ("keep_unmasked", "--keep-unmasked"), ("markup", "--markup"),
               ("openai_model", "--openai-model"), ("openai_size", "--openai-size"),
               ("input_fidelity", "--input-fidelity"))
# --size and --aspect-ratio also pick gpt-image-2's frame in openai mode (mask_edit.frame_from_request).
OPENROUTER_ONLY = (("model", "--model"),
                   ("seed", "--seed"), ("preset", "--preset"), ("style_refs", "--style-ref"),
                   ("system_prompt", "--system-prompt"))

OPENAI_EQUIVALENT = {"--model": "--openai-model"}


def resolve_mode(request: EditRequest) -> str:
    """The mode as given; without it, openai when a mask is asked for, else openrouter. Checks the fields fit."""
    mode = request.mode or ("openai" if request.mask or request.mask_rects else "openrouter")
    if mode == "openrouter":
        wrong = [flag for name, flag in OPENAI_ONLY if request.given(name)]
        if wrong:
            raise UsageError(f"{', '.join(wrong)} only {_verb(wrong)} with --mode openai (mask inpainting)",
                             details="use --mode openai with OPENAI_API_KEY, or drop " + ", ".join(wrong))
    else:
        wrong = [flag for name, flag in OPENROUTER_ONLY if request.given(name)]
        if request.api == "images":
            wrong.append("--api images")
        if wrong:
            instead = [f"{OPENAI_EQUIVALENT[flag]} instead of {flag}" for flag in wrong if flag in OPENAI_EQUIVALENT]
            hint = f" (use {', '.join(instead)})" if instead else ""
            raise UsageError(f"{', '.join(wrong)} only {_verb(wrong)} with --mode openrouter{hint}",
                             details="drop " + ", ".join(wrong) + ", or use --mode openrouter")
    return mode


def _verb(flags: list[str]) -> str:
    return "works" if len(flags) == 1 else "work"


def closest_ratio(width: int, height: int, ratios: tuple[str, ...]) -> str:
    """The aspect ratio in ``ratios`` nearest to width:height."""
    from ..prompt.baseline import nearest_ratio

    return nearest_ratio(width, height, ratios)


def as_generation(request: EditRequest) -> GenerateRequest:
    """The generation an OpenRouter edit is: the images to edit as input images, edit's default model."""
    shared = {field.name for field in GenerateRequest.FIELDS} & {field.name for field in EditRequest.FIELDS}
    values = {name: getattr(request, name) for name in shared - {"fallback_model"}}
    return GenerateRequest(**values, fallback_model=request.fallback_model or DEFAULT_EDIT_MODEL)


def plan_openrouter_edit(request: EditRequest) -> GenerationPlan:
    """A generation plan whose first input image is the one to edit.

    Without an aspect ratio (from the request or its preset) the ratio nearest the input image's
    is asked for, so a 16:9 photo is not returned square.
    """
    plan = build(as_generation(request), role="edit")
    first = plan.input_images[0]
    preset_ratio = plan.preset.defaults.get("aspect_ratio") if plan.preset else None
    if not request.aspect_ratio and not preset_ratio:
        if first.width and first.height:
            plan.aspect_ratio = closest_ratio(first.width, first.height, plan.spec.ratios)
        else:
            plan.warnings.append(f"could not read the size of {first.path.name}; asking for {plan.aspect_ratio} "
                                 "(pass --aspect-ratio to choose)")
    if plan.style_refs or len(plan.input_images) > 1:
        plan.instructions.append(EDIT_WITH_REFERENCES)
        compose_prompt(plan)
    plan.extra_result.update(mode="openrouter", parent=parent_record(first))
    if request.request_id:
        plan.extra_result["request_id"] = request.request_id
    return plan


def prepare_openrouter_edit(request: EditRequest) -> Any:
    """The OpenRouter edit as a prepared generation (chat, or the Images API with its options)."""
    from .generation import Prepared
    from .routes import route

    options = route("openrouter").options(request)
    plan = plan_openrouter_edit(request)
    route(plan.provider).adapt(plan, options, None)
    return Prepared(plan, options, None)


def run_request(request: EditRequest, paid: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """A whole edit from its request, in the mode it resolves to; ``fields`` learns the mode, the model
    and a drawn mask's path, for an error document."""
    from . import generation

    mode = resolve_mode(request)
    fields["mode"] = mode
    if mode == "openai":
        from . import mask_edit

        plan = mask_edit.plan_from_request(request)
        fields["model"] = plan.model
        writer = generation.writer_for(request, plan.slug)
        generation.notify_warnings(plan.warnings, paid.options.quiet)
        if paid.options.dry_run:
            return mask_edit.dry_run(plan, writer, paid)
        return mask_edit.run(plan, writer, paid, on_mask=lambda path: fields.__setitem__("mask_path", path))
    prepared = prepare_openrouter_edit(request)
    fields["model"] = prepared.plan.spec.id
    generation.notify_warnings(prepared.plan.warnings, paid.options.quiet)
    writer = generation.writer_for(request, prepared.plan.spec.slug + "-edit")
    if paid.options.dry_run:
        return generation.dry_run(prepared, writer, paid)
    return generation.run(prepared, writer, paid)
