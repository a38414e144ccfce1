"""Steering a generation plan: its baseline image, rails, edit-intent and clarify checks.

These run inside ``generation.plan_from_args`` and touch no provider; each refusal is a typed
error with the plan's diagnostics attached, so every caller reports it the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .. import config
from ..errors import ClarifyError, EditIntentError
from . import clarify, intent

if TYPE_CHECKING:
    from ..requests import GenerateRequest
    from .baseline import Baseline
    from .plan import GenerationPlan


RAIL_FLAGS = ("variation_strength", "lock_palette", "lock_composition")  # None: not given (False is given)


def load_baseline(request: GenerateRequest) -> Baseline:
    assert request.baseline_image is not None
    from . import baseline

    root = Path(request.workspace_root) if request.workspace_root else None
    return baseline.load(
        request.baseline_image, source_kind=request.baseline_source_kind, workspace_root=root,
        max_mb=request.max_baseline_mb, consent=request.confirm_external_upload, upload_host=upload_host(),
    )


def upload_host() -> str:
    """The host a baseline file would be sent to, for the consent message."""
    from urllib.parse import urlsplit

    return urlsplit(config.base_url("openrouter")).hostname or "the provider"


def apply_rails(plan: GenerationPlan, request: GenerateRequest) -> None:
    asked = request.must_keep or any(getattr(request, name) is not None for name in RAIL_FLAGS)
    if plan.baseline is None and not asked:
        return  # no baseline and no rail asked for: nothing to hold the result to
    from . import rails

    plan.rails = rails.from_request(request, plan.baseline is not None)
    if plan.rails is None:
        return
    plan.instructions += plan.rails.instructions()
    # FLUX's upsampler rewrites the prompt, which adds drift a low-variation edit does not want.
    if plan.spec.upsampling and request.prompt_upsampling is None \
            and plan.rails.variation_strength == "low":
        plan.upsampling = False
        plan.rails.provider_parameters["prompt_upsampling"] = False


def output_format(request: GenerateRequest) -> str | None:
    suffix = Path(request.output_file).suffix.lower() if request.output_file else ""
    return {".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp"}.get(suffix)


def check_prompt(plan: GenerationPlan, request: GenerateRequest) -> None:
    """Edit intent and clarify hints, read from the user's prompt alone; refuse as the flags say."""
    plan.edit_intent = intent.detect(plan.prompt)
    has_image = plan.baseline is not None or bool(plan.input_images)
    plan.clarify_hints = clarify.check(clarify.PromptFacts(
        prompt=plan.prompt, spec=plan.spec, aspect_ratio=plan.aspect_ratio, output_format=output_format(request),
        has_style=bool(plan.preset and plan.preset.style) or bool(plan.style_refs), has_image_input=has_image,
        upsampling=plan.upsampling, enhance=request.enhance,
    ))
    if plan.edit_intent and not has_image:
        phrase = plan.edit_intent.phrase
        if not request.allow_no_baseline_on_edit_intent:
            raise EditIntentError(
                f'the prompt asks to change an existing image ("{phrase}") but no --baseline-image was given',
                details="pass the image with --baseline-image PATH|URL and --baseline-source-kind (look for it in "
                        "the current message, then in the replied-to message, else ask the user), or pass "
                        "--allow-no-baseline-on-edit-intent to make a new image anyway",
                extra={"model": plan.spec.id, **plan.diagnostics()},
            )
        plan.warnings.append(f'the prompt reads as an edit ("{phrase}") but there is no baseline image; '
                             "a new image will be generated")
    if request.strict_clarify and plan.clarify_hints:
        codes = ", ".join(hint.code for hint in plan.clarify_hints)
        raise ClarifyError(f"the prompt needs clarifying before generating ({codes})",
                           details=" ".join(f"{h.code}: {h.fix}." for h in plan.clarify_hints),
                           extra={"model": plan.spec.id, **plan.diagnostics()})
