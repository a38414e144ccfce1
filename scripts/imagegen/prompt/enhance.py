"""Prompt enhancement: a cheap text model expands a terse prompt into the target model's shape.

Off by default (``--enhance``). The user's prompt is kept; the rewrite becomes the scene that the
rest of the prompt (preset style, rails) is composed around. Any provider failure -- an HTTP
error, an empty reply, a rewrite that drops the user's quoted words -- falls back to the original
prompt with a warning: enhancement may improve a run, never break it. A spending limit is the
exception: a run its limits refuse is refused before the enhancer is paid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import choices, wording
from ..errors import ImageGenError
from ..models.registry import ModelSpec

if TYPE_CHECKING:
    from ..http.client import HttpClient
    from ..pipeline.generate import GenerationPlan
    from ..spending.guard import CallRecorder, Spend

DEFAULT_MODEL = choices.DEFAULT_ENHANCE_MODEL
MAX_TOKENS = 800
MAX_CHARS = 4000

SYSTEM = (
    "You rewrite prompts for image-generation models. Expand the user's prompt into the shape the target "
    "model follows best. Keep every fact the user gave: subject, counts, names, colours, setting, and any "
    "quoted words exactly as written, still in double quotes. Add only visual detail that fits and "
    "contradicts nothing the user said. Do not add words to be rendered unless the user asked for text. "
    "Reply with the rewritten prompt only: no preamble, no markdown, no quotes around it."
)
SHAPES = {
    "flux_json": "Target: FLUX. Write one concise paragraph of at most 80 words. Put the subject first, then "
                 "action, setting, medium or style, lighting and camera. Give colours as HEX codes such as "
                 "#1E3A5F. State what should be there, never what should not.",
    "natural": "Target: GPT-5 Image. Write explicit, complete natural-language sentences. Name the medium and "
               "the layout. Put every word to be rendered in double quotes and say where it goes.",
    "structured": "Target: Gemini. Write a short structured narrative: one or two sentences on the subject and "
                  "scene, then one line each for style or medium, composition, lighting and mood, and any text "
                  "to render (in double quotes).",
}
EDIT_NOTE = ("The prompt tells the model how to change an attached image. Keep it an instruction about what to "
             "change; do not describe a new scene.")
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_LABEL = re.compile(r"^(?:enhanced |rewritten )?prompt\s*:\s*", re.I)


def request_body(prompt: str, spec: ModelSpec, *, model: str = DEFAULT_MODEL, edit: bool = False) -> dict[str, Any]:
    """The OpenRouter chat body asking ``model`` to rewrite ``prompt`` for ``spec``."""
    shape = SHAPES.get(spec.prompt_format, SHAPES["natural"])
    parts = [shape] + ([EDIT_NOTE] if edit else []) + [f"Prompt: {prompt}"]
    return {
        "model": model,
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n\n".join(parts)}],
        "max_tokens": MAX_TOKENS,
        "temperature": 0.3,
    }


def clean(text: str) -> str:
    """The prompt inside a reply that wrapped it in fences, a label or quotes anyway."""
    text = _FENCE.sub("", text.strip()).strip()
    text = _LABEL.sub("", text).strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'" and text.count(text[0]) == 2:
        text = text[1:-1].strip()
    return text


def missing_quotes(original: str, enhanced: str) -> list[str]:
    """Quoted words of ``original`` that ``enhanced`` no longer contains verbatim."""
    return [q for q in wording.quoted_spans(original) if q not in enhanced]


@dataclass
class Outcome:
    """What enhancement produced: the new scene, or None and the reason it was not used."""

    model: str
    scene: str | None = None
    warning: str | None = None
    cost_usd: float | None = None
    generation_id: str | None = None

    def record(self) -> dict[str, Any]:
        return {"requested": True, "applied": self.scene is not None, "model": self.model,
                "cost_usd": self.cost_usd, "generation_id": self.generation_id, "error": self.warning}


def run(prompt: str, spec: ModelSpec, client: HttpClient, url: str, headers: dict[str, str], *,
        model: str = DEFAULT_MODEL, edit: bool = False, recorder: CallRecorder | None = None) -> Outcome:
    """Ask the enhancer; never raises for a provider failure (the Outcome carries a warning).
    ``recorder`` puts the call in the spending ledger."""
    from ..providers.replies import parse_chat_text

    outcome = Outcome(model)
    body = request_body(prompt, spec, model=model, edit=edit)

    def send() -> Any:
        return parse_chat_text(client.post_json(url, body, headers))

    try:
        reply = recorder.call(send) if recorder is not None else send()
    except ImageGenError as error:
        outcome.warning = f"prompt enhancement failed ({error.kind}: {error.message}); the original prompt was used"
        return outcome
    outcome.cost_usd, outcome.generation_id = reply.cost_usd, reply.generation_id
    text = clean(reply.text or "")
    if not text:
        outcome.warning = "prompt enhancement returned nothing usable; the original prompt was used"
    elif len(text) > MAX_CHARS:
        outcome.warning = (f"prompt enhancement returned {len(text)} characters (limit {MAX_CHARS}); "
                           "the original prompt was used")
    elif missing_quotes(prompt, text):
        lost = ", ".join(f'"{q}"' for q in missing_quotes(prompt, text))
        outcome.warning = f"prompt enhancement dropped the quoted text {lost}; the original prompt was used"
    else:
        outcome.scene = text
    return outcome


def enhance_plan(plan: GenerationPlan, client: HttpClient, *, spend: Spend | None = None,
                 model: str = DEFAULT_MODEL, url: str | None = None, key: str | None = None,
                 quiet: bool = False) -> None:
    """Rewrite the plan's scene with the enhancer; on a provider failure keep the prompt and add a warning.

    The run's spending limits are checked first, against the image estimate (BudgetError, nothing
    sent): a rewrite is not worth paying for when the images would be refused. The enhancer's own
    price is unknown beforehand; its call joins the ledger with the cost the provider reports.
    """
    from .. import config
    from ..spending import guard as spending
    from ..pipeline.generate import compose_prompt, openrouter_headers
    from ..progress import Ticker, note

    spend = spend or spending.Spend.default()
    spending.check(plan.estimate_usd, spend.max_cost, model=plan.spec.alias, count=plan.count)
    url = url or config.base_url("openrouter") + "/chat/completions"
    headers = openrouter_headers(key or config.api_key("openrouter"))
    edit = plan.baseline is not None or bool(plan.input_images)
    recorder = spending.CallRecorder(spend, model, None)
    with Ticker(f"enhancing the prompt with {model}", quiet=quiet):
        outcome = run(plan.prompt, plan.spec, client, url, headers, model=model, edit=edit, recorder=recorder)
    plan.enhancement = outcome.record()
    if outcome.scene:
        plan.scene = outcome.scene
        compose_prompt(plan)
    for warning in ([outcome.warning] if outcome.warning else []) + recorder.warnings:
        plan.warnings.append(warning)
        note("warning: " + warning, quiet)


def dry_run_request(plan: GenerationPlan, model: str, url: str | None = None) -> dict[str, Any]:
    """The enhancer request --dry-run shows instead of sending it."""
    from .. import config

    url = url or config.base_url("openrouter") + "/chat/completions"
    edit = plan.baseline is not None or bool(plan.input_images)
    plan.enhancement = {"requested": True, "applied": False, "model": model, "cost_usd": None,
                        "generation_id": None, "error": None}
    return {"method": "POST", "url": url, "body": request_body(plan.prompt, plan.spec, model=model, edit=edit)}
