"""The review rubric: the prompts a vision model gets, reading its reply, and the verdict.

The system prompt and user message defined here are the only ones: ``review.py --auto`` sends
them and ``review.py`` without ``--auto`` prints them for the calling agent, so both judge by the
same words. The verdict is computed from the score here, never taken from the model.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..errors import provider_error

SCORE_FIELDS = ("score", "prompt_adherence", "technical_quality", "composition")
ACCEPT_AT = 7  # score >= 7: accept
REFINE_AT = 4  # 4 <= score < 7: refine; below: reject

RUBRIC: dict[str, str] = {
    "prompt_adherence": "1-10: does the image show every subject, attribute, count, setting and style the prompt "
                        "asks for, with any requested text spelled exactly, and nothing the prompt rules out?",
    "technical_quality": "1-10: sharpness, clean edges, believable anatomy and hands, consistent light, shadow and "
                         "perspective, legible lettering, no artefacts, smears or seams.",
    "composition": "1-10: framing, balance, a clear focal point, use of space and fit to the aspect ratio.",
    "score": "1-10 overall, weighing prompt adherence most: an image that misses the prompt cannot score "
             "above 5, however beautiful.",
}
VERDICT_RULE = {"accept": f"score >= {ACCEPT_AT}", "refine": f"{REFINE_AT} <= score <= {ACCEPT_AT - 1}",
                "reject": f"score < {REFINE_AT}"}

REPLY_SHAPE = ('{"score": 1-10, "prompt_adherence": 1-10, "technical_quality": 1-10, "composition": 1-10, '
               '"critique": "two or three sentences: what works, what does not", '
               '"suggested_refinement": "a rewritten prompt or concrete change that would fix the main problem; '
               'empty if none is needed"}')

SYSTEM_PROMPT = (
    "You are a strict art director reviewing an AI-generated image against the prompt that produced it. "
    "Judge only what is visible. Score each criterion with a whole number from 1 (failed) to 10 (flawless):\n"
    + "\n".join(f"- {name}: {text}" for name, text in RUBRIC.items())
    + "\nBe calibrated: 7 means ready to deliver, 4-6 means worth another attempt with a better prompt, "
    "below 4 means start over. Reply with a single JSON object and no other text."
)

USER_MESSAGE = (
    "The prompt that produced the attached image:\n<prompt>\n{prompt}\n</prompt>\n\n"
    "Review the image against this prompt and reply with exactly this JSON shape:\n{shape}"
)


def user_message(original_prompt: str) -> str:
    """The user turn that goes with the image."""
    return USER_MESSAGE.format(prompt=original_prompt.strip(), shape=REPLY_SHAPE)


def verdict(score: int) -> str:
    if score >= ACCEPT_AT:
        return "accept"
    return "refine" if score >= REFINE_AT else "reject"


def manual_instructions() -> str:
    return ("Look at the image at `image` yourself. Use `system_prompt` as your brief and answer `user_message` "
            "with the JSON shape it gives; the verdict follows from the score by `verdict_rule`.")


def _bad(message: str, text: str | None) -> Exception:
    snippet = (text or "")[:300]
    return provider_error("bad_review_reply", message, retryable=True,
                          details="the model did not follow the reply format; run again or choose another "
                                  "--review-model", extra={"reply_text": snippet or None})


def _json_objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object in ``text``, fenced or not, with prose around it ignored."""
    decoder = json.JSONDecoder()
    found = []
    fences = re.findall(r"```(?:json|JSON)?\s*(.*?)```", text, re.S)
    for candidate in fences + [text]:
        position = candidate.find("{")
        while position != -1:
            try:
                value, end = decoder.raw_decode(candidate, position)
            except ValueError:
                position = candidate.find("{", position + 1)
                continue
            if isinstance(value, dict):
                found.append(value)
            position = candidate.find("{", end)
    return found


def _whole_score(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?\s*", value)
        value = float(match[1]) if match else None
    if isinstance(value, (int, float)) and value == value:
        return int(round(value))
    return None


def parse_reply(text: str | None) -> dict[str, Any]:
    """The scores, critique and refinement from a model's reply, plus our verdict.

    Accepts code fences, prose around the JSON and scores written as 7.0 or "7/10"; raises a
    ``bad_review_reply`` error for anything else (no JSON, missing or out-of-range scores).
    """
    if not text or not text.strip():
        raise _bad("the review model returned no text", text)
    candidates = [doc for doc in _json_objects(text) if "score" in doc]
    if not candidates:
        raise _bad("the review model's reply holds no JSON object with a score", text)
    doc = candidates[-1]
    result: dict[str, Any] = {}
    for name in SCORE_FIELDS:
        if name not in doc:
            raise _bad(f"the review reply has no '{name}'", text)
        value = _whole_score(doc[name])
        if value is None or not 1 <= value <= 10:
            raise _bad(f"the review reply's '{name}' is not a whole number from 1 to 10: {doc[name]!r}", text)
        result[name] = value
    critique = doc.get("critique")
    if not isinstance(critique, str) or not critique.strip():
        raise _bad("the review reply has no critique", text)
    refinement = doc.get("suggested_refinement")
    result["verdict"] = verdict(result["score"])
    result["critique"] = critique.strip()
    result["suggested_refinement"] = refinement.strip() if isinstance(refinement, str) else ""
    return result


def pick_winner(first: dict[str, Any], second: dict[str, Any]) -> int | None:
    """0 or 1 for the better of two reviews (score, then prompt adherence, then the sum); None on a tie."""
    def key(review: dict[str, Any]) -> tuple[int, int, int]:
        return review["score"], review["prompt_adherence"], sum(review[name] for name in SCORE_FIELDS)

    if key(first) == key(second):
        return None
    return 0 if key(first) > key(second) else 1
