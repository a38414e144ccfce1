"""Prompt enhancement as a paid call: a cheap text model rewrites the prompt before the images are made
(what it is asked and which rewrite is kept: ``prompt.enhance_text``).

Any provider failure falls back to the original prompt with a warning: enhancement may improve a
run, never break it. The run's spending check has already passed (``PaidRun.authorize``), so a run
its limits refuse is refused before the enhancer is paid. The enhancer's own price is unknown
beforehand; its call joins the ledger with the cost the provider reports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ImageGenError
from ..progress import note
from ..prompt import enhance_text
from ..providers import openrouter_text

if TYPE_CHECKING:
    from ..prompt.plan import GenerationPlan
    from .paid_call import PaidRun

MAX_TOKENS = 800
TEMPERATURE = 0.3


def request_body(plan: GenerationPlan, model: str) -> dict[str, Any]:
    edit = plan.baseline is not None or bool(plan.input_images)
    text = enhance_text.request_text(plan.prompt, plan.spec, edit=edit)
    return openrouter_text.rewrite_body(model, enhance_text.SYSTEM, text, max_tokens=MAX_TOKENS,
                                        temperature=TEMPERATURE)


DEFAULT_ALIAS = "enhance-default"  # the model_alias of a model taken from the default chain


def candidates(model: str) -> tuple[tuple[str, ...], str | None]:
    """The models to try for ``model`` (the default chain's head stands for the chain, resolved now;
    a named model alone) and the alias they come from."""
    from ..models import chains

    chain = chains.default_chain("enhance", "openrouter")
    if chain and model == chain[0]:
        choice = chains.choose(chain, "openrouter", DEFAULT_ALIAS, models="text")
        return (choice.id,) + choice.rest[:1], DEFAULT_ALIAS
    return (model,), None


def enhance_plan(plan: GenerationPlan, paid: PaidRun, model: str) -> None:
    """Rewrite the plan's scene; on a provider failure keep the prompt and add a warning. A default
    model its provider says is gone gives way, once, to the next in its chain."""
    tried, alias = candidates(model)
    reply = None
    for index, name in enumerate(tried):
        outcome = enhance_text.Outcome(name)
        (answer,) = paid.send_text([openrouter_text.call(request_body(plan, name))], model=name, estimate_each=None,
                                   label=f"enhancing the prompt with {name}", alias=alias)
        if not isinstance(answer, ImageGenError):
            reply = answer
            break
        outcome.warning = f"prompt enhancement failed ({answer.kind}: {answer.message}); the original prompt was used"
        if answer.kind != "model_unavailable" or index + 1 == len(tried):
            break
        moved = f"the default enhancement model {name} is gone; tried {tried[index + 1]} instead"
        plan.warnings.append(moved)
        note("warning: " + moved, paid.quiet)
    if reply is not None:
        outcome = enhance_text.judge(plan.prompt, outcome.model, reply.text)
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
