"""Generation on a provider called directly (``--provider google|openai``): what the plan becomes at
Google's generateContent or OpenAI's /images/generations (``pipeline.routes`` chooses). The same
plan, presets, checks, writer, sidecar, ledger and budget apply as through OpenRouter; only the
calls differ."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..models.alternatives import with_fallbacks

if TYPE_CHECKING:
    from ..prompt.plan import GenerationPlan
    from .images_options import ImagesOptions


def adapt_openai(plan: GenerationPlan, options: ImagesOptions | None) -> None:
    """Fit the plan to OpenAI: its frame for the ratio and size, prices by quality, no seed."""
    from ..models import direct_table, frames
    from ..models.direct_resolve import openai_pricing

    quality = options.quality if options is not None else None
    if direct_table.flexible(plan.spec.id):
        try:
            frame = frames.flexible_frame(plan.aspect_ratio, plan.size)
        except ValueError as error:
            refusal = UsageError(f"{plan.spec.id} cannot make --aspect-ratio {plan.aspect_ratio} at --size "
                                 f"{plan.size}: {error}", details="choose another ratio or size", kind="unsupported")
            raise with_fallbacks(refusal, "openai", plan.spec.id) from None
        width, height = (int(side) for side in frame.split("x"))
        if width * height > frames.EXPERIMENTAL_PIXELS:
            plan.warnings.append(f"{frame} is above 2560x1440, which OpenAI calls experimental for {plan.spec.id}")
    else:
        frame = frames.frame_for(plan.aspect_ratio)
        width, height = (int(side) for side in frame.split("x"))
        if _ratio(plan.aspect_ratio) != round(width / height, 2):
            plan.warnings.append(f"{plan.spec.id} makes {frame} for --aspect-ratio {plan.aspect_ratio}: the nearest of "
                                 "the three frames it makes (crop the result for the exact shape)")
    plan.spec = plan.spec._replace(pricing=openai_pricing(plan.spec.id, quality, frame))
    if plan.seed is not None:
        plan.warnings.append(f"OpenAI's Images API takes no seed; --seed {plan.seed} was not sent")
    plan.extra_result["openai_size"] = frame


def _ratio(aspect_ratio: str) -> float:
    width, _, height = aspect_ratio.partition(":")
    return round(float(width) / float(height), 2)


def adapt_google(plan: GenerationPlan) -> None:
    """Google takes images inline only."""
    if plan.baseline is not None and plan.baseline.url is not None:
        raise UsageError("Google's Gemini API takes images inline, not by link: the baseline is a URL",
                         details="download the baseline image and pass its path, or use --provider openrouter")


def gemini_body(plan: GenerationPlan) -> dict[str, Any]:
    """The GenerateContentRequest of one of the plan's images (the batch engine sends the same)."""
    from ..providers import gemini

    return gemini.body(plan.final_prompt, images=inline_images(plan), system_message=plan.system_message,
                       aspect_ratio=plan.aspect_ratio, size=plan.size, seed=plan.seed)


def inline_images(plan: GenerationPlan) -> list[tuple[str, str]]:
    """Every image sent, in the plan's order, as (mime type, base64)."""
    images = ([plan.baseline.image] if plan.baseline is not None and plan.baseline.image is not None else [])
    return [(image.mime, base64.b64encode(image.data).decode("ascii"))
            for image in images + plan.input_images + plan.style_refs]
