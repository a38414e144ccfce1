"""Prompt enhancement's words: what a cheap text model is asked to expand a terse prompt into the target
model's shape, and which rewrite is kept (``pipeline.enhance_call`` makes the paid call).

Off by default (``--enhance``). The user's prompt is kept; the rewrite becomes the scene that the
rest of the prompt (preset style, rails) is composed around. Any provider failure -- an HTTP
error, an empty reply, a rewrite that drops the user's quoted words -- falls back to the original
prompt with a warning: enhancement may improve a run, never break it. A spending limit is the
exception: a run its limits refuse is refused before the enhancer is paid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..models.table import ModelSpec
from . import choices, wording

DEFAULT_MODEL = choices.DEFAULT_ENHANCE_MODEL
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


def request_text(prompt: str, spec: ModelSpec, *, edit: bool = False) -> str:
    """The user turn asking for ``prompt`` to be rewritten for ``spec``."""
    shape = SHAPES.get(spec.prompt_format, SHAPES["natural"])
    return "\n\n".join([shape] + ([EDIT_NOTE] if edit else []) + [f"Prompt: {prompt}"])


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


def judge(prompt: str, model: str, text: str | None) -> Outcome:
    """Whether a rewrite may replace ``prompt``: the Outcome holds the scene, or why it was not used."""
    outcome = Outcome(model)
    text = clean(text or "")
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
