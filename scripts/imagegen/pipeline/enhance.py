"""Prompt enhancement as a paid call: a cheap text model rewrites the prompt before the images are made.

Any provider failure falls back to the original prompt with a warning: enhancement may improve a
run, never break it. The run's spending check has already passed (``PaidRun.authorize``), so a run
its limits refuse is refused before the enhancer is paid. The enhancer's own price is unknown
beforehand; its call joins the ledger with the cost the provider reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ImageGenError
from ..progress import note
from ..prompt import enhance as words
from ..providers import openrouter_text

if TYPE_CHECKING:
    from ..prompt.plan import GenerationPlan
    from .paid_call import PaidRun

MAX_TOKENS = 800
TEMPERATURE = 0.3


def request_body(plan: GenerationPlan, model: str) -> dict[str, Any]:
    edit = plan.baseline is not None or bool(plan.input_images)
    text = words.request_text(plan.prompt, plan.spec, edit=edit)
    return openrouter_text.rewrite_body(model, words.SYSTEM, text, max_tokens=MAX_TOKENS, temperature=TEMPERATURE)


def enhance_plan(plan: GenerationPlan, paid: PaidRun, model: str) -> None:
    """Rewrite the plan's scene; on a provider failure keep the prompt and add a warning."""
    call = openrouter_text.call(request_body(plan, model))
    outcome = words.Outcome(model)
    (reply,) = paid.send_text([call], model=model, estimate_each=None, label=f"enhancing the prompt with {model}")
    if isinstance(reply, ImageGenError):
        outcome.warning = f"prompt enhancement failed ({reply.kind}: {reply.message}); the original prompt was used"
    else:
        outcome = words.judge(plan.prompt, model, reply.text)
        outcome.cost_usd, outcome.generation_id = reply.cost_usd, reply.generation_id
    plan.enhancement = outcome.record()
    if outcome.scene:
        plan.scene = outcome.scene
        from ..prompt.plan import compose_prompt

        compose_prompt(plan)
    for warning in [outcome.warning] if outcome.warning else []:
        plan.warnings.append(warning)
        note("warning: " + warning, paid.quiet)


def dry_run_request(plan: GenerationPlan, model: str) -> dict[str, Any]:
    """The enhancer request --dry-run shows instead of sending it."""
    plan.enhancement = {"requested": True, "applied": False, "model": model, "cost_usd": None,
                        "generation_id": None, "error": None}
    return openrouter_text.call(request_body(plan, model)).display()
