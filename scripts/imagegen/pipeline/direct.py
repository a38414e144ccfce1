"""Generation on a provider called directly (``--provider google|openai``): what the plan becomes at
Google's generateContent or OpenAI's /images/generations. The same plan, presets, checks, writer,
sidecar, ledger and budget apply as through OpenRouter; only the calls differ."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..prompt.plan import GenerationPlan
    from ..providers.call import Call
    from .generate import ImagesOptions


def adapt(plan: GenerationPlan, options: ImagesOptions | None) -> None:
    """Fit the plan to the provider: OpenAI's frames and prices by quality; no images Google cannot take."""
    if plan.provider == "openai":
        _adapt_openai(plan, options)
    else:
        _adapt_google(plan)
    if options is not None:
        plan.extra_result.update(options.record())
        plan.extra_result["api"] = "images/generations"


def _adapt_openai(plan: GenerationPlan, options: ImagesOptions | None) -> None:
    from ..models import direct, frames
    from ..models.direct_specs import openai_pricing

    quality = options.quality if options is not None else None
    if direct.flexible(plan.spec.id):
        try:
            frame = frames.flexible_frame(plan.aspect_ratio, plan.size)
        except ValueError as error:
            raise UsageError(f"{plan.spec.id} cannot make --aspect-ratio {plan.aspect_ratio} at --size {plan.size}: "
                             f"{error}", details="choose another ratio or size", kind="unsupported") from None
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


def _adapt_google(plan: GenerationPlan) -> None:
    if plan.baseline is not None and plan.baseline.url is not None:
        raise UsageError("Google's Gemini API takes images inline, not by link: the baseline is a URL",
                         details="download the baseline image and pass its path, or use --provider openrouter")


def image_calls(plan: GenerationPlan, options: ImagesOptions | None) -> list[Call]:
    """One generateContent call per image (Gemini makes one per call), or one /images/generations call."""
    if plan.provider == "openai":
        from ..providers import openai_images

        from .generate import ImagesOptions

        extra = options or ImagesOptions()
        body = openai_images.generation_body(plan.spec.id, plan.final_prompt, size=plan.extra_result["openai_size"],
                                             n=plan.count, quality=extra.quality, output_format=extra.output_format,
                                             background=extra.background,
                                             output_compression=extra.output_compression,
                                             moderation=extra.moderation)
        return [openai_images.generation_call(body)]
    from ..providers import gemini

    return [gemini.call(plan.spec.id, gemini_body(plan), plan.estimate_each_usd)] * plan.count


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
