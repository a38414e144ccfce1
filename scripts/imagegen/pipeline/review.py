"""review.py's work: which prompt to judge by, the rubric for a manual review, auto and compared
reviews through ``vision``, and the ``<image>.review.json`` record later tools read.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .. import __version__
from ..images import files as images
from ..providers import bodies as payload
from . import rubric as review, vision
from ..spending import guard as spending
from ..http.client import HttpClient
from ..errors import UsageError
from ..fsutil import now_iso, write_json_atomic

MAX_IMAGE_MB = 50


def load_image(path: str, flag: str = "--image") -> images.InputImage:
    return images.load_input_image(path, role="image", max_mb=MAX_IMAGE_MB, flag=flag)


def sidecar_prompt(image: images.InputImage) -> str | None:
    """The prompt recorded in the ``<image>.json`` sidecar that generate.py or edit.py wrote, if any."""
    sidecar = image.path.with_name(image.path.name + ".json")
    try:
        document = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    request = document.get("request") if isinstance(document, dict) else None
    prompt = request.get("prompt") if isinstance(request, dict) else None
    return prompt.strip() if isinstance(prompt, str) and prompt.strip() else None


def resolve_prompt(given: str | None, candidates: list[images.InputImage]) -> tuple[str, str]:
    """(prompt, source): --original-prompt, else the first sidecar that records one."""
    if given is not None:
        if not given.strip():
            raise UsageError("--original-prompt is empty", details="give the prompt the image was made from")
        return given.strip(), "flag"
    for image in candidates:
        found = sidecar_prompt(image)
        if found:
            return found, f"sidecar {image.path.name}.json"
    raise UsageError("--original-prompt is missing and no sidecar records one",
                     details=f"pass --original-prompt \"...\"; images made by generate.py or edit.py carry it in "
                             f"{candidates[0].path.name}.json unless --no-sidecar was used")


def image_info(image: images.InputImage) -> dict[str, Any]:
    return {"path": str(image.path), "format": image.format, "width": image.width, "height": image.height,
            "bytes": len(image.data)}


def manual(targets: list[images.InputImage], prompt: str, source: str) -> dict[str, Any]:
    """Everything an agent needs to review the image itself: rubric, prompts, and the path (never the bytes)."""
    result: dict[str, Any] = {"mode": "manual"}
    if len(targets) == 1:
        result.update(image=str(targets[0].path), image_info=image_info(targets[0]))
        instructions = review.manual_instructions()
    else:
        result.update(compare=True, images=[str(t.path) for t in targets],
                      image_info=[image_info(t) for t in targets])
        instructions = (review.manual_instructions().replace("the image at `image`", "each image in `images`")
                        + " The better image is the one with the higher score (then higher prompt_adherence).")
    result.update(
        original_prompt=prompt, original_prompt_source=source, rubric=review.RUBRIC,
        verdict_rule=review.VERDICT_RULE, system_prompt=review.SYSTEM_PROMPT,
        user_message=review.user_message(prompt), instructions=instructions,
    )
    return result


def _estimates(requests: list[vision.VisionRequest], targets: list[images.InputImage],
               prompt: str) -> tuple[list[float | None], float | None]:
    each = [vision.estimate_usd(r, t, prompt) for r, t in zip(requests, targets)]
    return each, (None if None in each else round(sum(e for e in each if e is not None), 6))


def check_spending(requests: list[vision.VisionRequest], targets: list[images.InputImage], prompt: str,
                   spend: spending.Spend) -> tuple[list[float | None], dict[str, Any], list[str]]:
    """The spending limits a review meets (BudgetError before sending): estimates, the state, notes."""
    each, total = _estimates(requests, targets, prompt)
    model = requests[0].model
    state = spending.check(total, spend.max_cost, model=model, count=len(requests))
    notes = []
    if total is None and "daily_budget_usd" in state:
        notes.append(f"the price of a review by {model} is not known beforehand: it counted as $0 against "
                     "IMAGEGEN_DAILY_BUDGET_USD (the ledger keeps the cost the provider reports)")
    return each, state, notes


def dry_run(targets: list[images.InputImage], prompt: str, provider: str, model: str,
            spend: spending.Spend) -> dict[str, Any]:
    requests = [vision.build_request(provider, model, t, prompt) for t in targets]
    _, budget, notes = check_spending(requests, targets, prompt, spend)
    shown = [{"method": "POST", "url": r.url, "body": payload.redact_for_display(r.body)} for r in requests]
    key = "request" if len(shown) == 1 else "requests"
    return {"mode": "auto", "dry_run": True, key: shown[0] if len(shown) == 1 else shown, "provider": provider,
            "model": model, "original_prompt": prompt, "images": [str(t.path) for t in targets],
            "cost_estimate_usd": budget["estimate_usd"], "budget": budget, "warnings": notes}


def auto(targets: list[images.InputImage], prompt: str, source: str, provider: str, model: str,
         client: HttpClient, *, spend: spending.Spend | None = None, write_files: bool = True) -> dict[str, Any]:
    """Review one image, or two against the same prompt (in parallel), and record each review.
    Spending limits are checked before anything is sent; each call joins the ledger."""
    spend = spend or spending.Spend.default()
    requests = [vision.build_request(provider, model, t, prompt) for t in targets]
    each, budget, notes = check_spending(requests, targets, prompt, spend)
    recorders = [spending.CallRecorder(spend, model, estimate) for estimate in each]
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        reviews = list(pool.map(lambda pair: vision.send(pair[0], client, pair[1]), zip(requests, recorders)))
    warnings: list[str] = notes + [w for r in recorders for w in r.warnings]
    for index, (target, found) in enumerate(zip(targets, reviews)):
        other = targets[1 - index] if len(targets) == 2 else None
        found["review_file"] = _write_review_file(target, found, prompt, other, warnings) if write_files else None
    common = {"original_prompt": prompt, "original_prompt_source": source, "provider": provider,
              "model": reviews[0]["model"], "cost_estimate_usd": budget["estimate_usd"], "warnings": warnings}
    if len(targets) == 1:
        return {"mode": "auto", **reviews[0], "image": str(targets[0].path), **common}
    winner = review.pick_winner(reviews[0], reviews[1])
    costs = [r["cost_usd"] for r in reviews if r["cost_usd"] is not None]
    return {
        "mode": "auto",
        "compare": True,
        "winner": str(targets[winner].path) if winner is not None else None,
        "winner_index": winner,
        "tie": winner is None,
        "reviews": [{"image": str(t.path), **r} for t, r in zip(targets, reviews)],
        "cost_usd": round(sum(costs), 6) if costs else None,
        **common,
    }


def review_file_path(image: images.InputImage) -> Path:
    return image.path.with_name(image.path.name + ".review.json")


def _write_review_file(image: images.InputImage, found: dict[str, Any], prompt: str,
                       other: images.InputImage | None, warnings: list[str]) -> str | None:
    """``<image>.review.json`` beside the image, replaced whole; a warning (not a failure) if it cannot be."""
    target = review_file_path(image)
    record = {
        "image": image.path.name,
        "image_sha256": image.sha256,
        "reviewed_at": now_iso(),
        "image_gen_version": __version__,
        "original_prompt": prompt,
        **{k: found[k] for k in (*review.SCORE_FIELDS, "verdict", "critique", "suggested_refinement",
                                 "provider", "model")},
        "compared_with": str(other.path) if other is not None else None,
    }
    try:
        write_json_atomic(target, record)
    except OSError as error:
        warnings.append(f"the review of {image.path.name} could not be saved to {target}: {error.strerror or error}")
        return None
    return str(target)
