"""What edit.py decides before sending: which mode, which flags fit it, the OpenRouter edit plan, lineage.

OpenRouter edits are generations with the image to edit in ``plan.input_images``: they go through
``generation.plan_from_args`` and are sent by ``generation.run_chat`` or ``images_api.run``, never
by a second chat path. OpenAI mask edits live in ``openai_edit``.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from . import generate as generation
from ..images import files as images
from ..errors import UsageError
from .generate import GenerationPlan

DEFAULT_EDIT_MODEL = "gpt-5-image"
EDIT_WITH_REFERENCES = ("The first attached image is the image to edit; change only what the instruction below "
                        "asks. The other attached images are references.")

# (argparse dest, flag) pairs that only make sense in one mode.
OPENAI_ONLY = (("mask", "--mask"), ("mask_rect", "--mask-rect"), ("mask_invert", "--mask-invert"),
               ("openai_model", "--openai-model"), ("openai_size", "--openai-size"),
               ("input_fidelity", "--input-fidelity"))
OPENROUTER_ONLY = (("model", "--model"), ("aspect_ratio", "--aspect-ratio"), ("size", "--size"),
                   ("seed", "--seed"), ("preset", "--preset"), ("style_ref", "--style-ref"),
                   ("system_prompt", "--system-prompt"))

OPENAI_EQUIVALENT = {"--model": "--openai-model", "--size": "--openai-size"}


def resolve_mode(args: argparse.Namespace) -> str:
    """--mode as given; without it, openai when a mask is asked for, else openrouter. Checks the flags fit."""
    mode = args.mode or ("openai" if args.mask or args.mask_rect else "openrouter")
    if mode == "openrouter":
        wrong = [flag for dest, flag in OPENAI_ONLY if _given(getattr(args, dest, None))]
        if wrong:
            raise UsageError(f"{', '.join(wrong)} only {_verb(wrong)} with --mode openai (mask inpainting)",
                             details="use --mode openai with OPENAI_API_KEY, or drop " + ", ".join(wrong))
    else:
        wrong = [flag for dest, flag in OPENROUTER_ONLY if _given(getattr(args, dest, None))]
        if args.api == "images":
            wrong.append("--api images")
        if wrong:
            instead = [f"{OPENAI_EQUIVALENT[flag]} instead of {flag}" for flag in wrong if flag in OPENAI_EQUIVALENT]
            hint = f" (use {', '.join(instead)})" if instead else ""
            raise UsageError(f"{', '.join(wrong)} only {_verb(wrong)} with --mode openrouter{hint}",
                             details="drop " + ", ".join(wrong) + ", or use --mode openrouter")
    return mode


def _verb(flags: list[str]) -> str:
    return "works" if len(flags) == 1 else "work"


def _given(value: Any) -> bool:
    """Whether a flag was used: ``--seed 0`` counts, an unused list or store_true does not."""
    return value is not None and value is not False and value != []


def parent_record(image: images.InputImage) -> dict[str, Any]:
    """The edited image as the sidecar remembers it, so edits form a lineage back to the original."""
    return {"path": str(image.path), "sha256": image.sha256, "format": image.format,
            "width": image.width, "height": image.height}


def closest_ratio(width: int, height: int, ratios: tuple[str, ...]) -> str:
    """The aspect ratio in ``ratios`` nearest to width:height (compared on a log scale)."""
    def distance(ratio: str) -> float:
        across, down = (float(part) for part in ratio.split(":"))
        return abs(math.log((width / height) / (across / down)))

    return min(ratios, key=distance)


def plan_openrouter_edit(args: argparse.Namespace) -> GenerationPlan:
    """A generation plan whose first input image is the one to edit.

    Without --aspect-ratio (and a preset that sets one) the ratio nearest the input image's is
    asked for, so a 16:9 photo is not returned square.
    """
    plan = generation.plan_from_args(args, default_model=DEFAULT_EDIT_MODEL)
    first = plan.input_images[0]
    preset_ratio = plan.preset.defaults.get("aspect_ratio") if plan.preset else None
    if not args.aspect_ratio and not preset_ratio:
        if first.width and first.height:
            plan.aspect_ratio = closest_ratio(first.width, first.height, plan.spec.ratios)
        else:
            plan.warnings.append(f"could not read the size of {first.path.name}; asking for {plan.aspect_ratio} "
                                 "(pass --aspect-ratio to choose)")
    if plan.style_refs or len(plan.input_images) > 1:
        plan.instructions.append(EDIT_WITH_REFERENCES)
        generation.compose_prompt(plan)
    plan.extra_result.update(mode="openrouter", parent=parent_record(first))
    return plan
