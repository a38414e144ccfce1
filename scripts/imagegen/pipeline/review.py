"""review.py's work: which prompt to judge by, the rubric for a manual review, auto and compared
reviews by a vision model (Anthropic Messages or OpenRouter), the limits checked before sending,
and the ``<image>.review.json`` record later tools read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__, config
from ..errors import ConfigError, ImageGenError, ProviderError, UsageError
from ..fsutil import now_iso, write_json_atomic
from ..images import blank, files
from ..images.files import InputImage
from ..models.alternatives import with_fallbacks
from ..progress import note
from ..prompt import choices
from ..requests import ReviewRequest
from . import rubric
from .review_routes import ReviewModel, review_route

if TYPE_CHECKING:
    from ..providers.call import Call
    from ..providers.replies import ProviderReply
    from .paid_call import PaidRun

PROVIDERS = choices.REVIEW_PROVIDERS
MAX_REPLY_TOKENS = 1024  # what payload's review requests allow the model to answer with


def choose_provider(requested: str | None, *, need_key: bool = True) -> str:
    """--provider as given; else anthropic when its key is set, else openrouter."""
    if requested:
        return requested
    if config.key_variable("anthropic"):
        return "anthropic"
    if need_key and not config.key_variable("openrouter"):
        raise ConfigError(
            "no key for a review model: ANTHROPIC_API_KEY and OPENROUTER_API_KEY_IMAGES are both unset",
            details="export ANTHROPIC_API_KEY=sk-ant-... or OPENROUTER_API_KEY_IMAGES=sk-or-..., "
                    "or run review.py without --auto and review the image yourself",
            kind="missing_key",
        )
    return "openrouter"


def check_limits(provider: str, image: InputImage) -> None:
    """Refuse (exit 2) what the provider would reject, before spending an upload on it."""
    review_route(provider).check_limits(image)


MAX_IMAGE_MB = 50


def load_image(path: str, flag: str = "--image") -> InputImage:
    return files.load_input_image(path, role="image", max_mb=MAX_IMAGE_MB, flag=flag)


def sidecar_prompt(image: files.InputImage) -> str | None:
    """The prompt recorded in the ``<image>.json`` sidecar that generate.py or edit.py wrote, if any."""
    sidecar = image.path.with_name(image.path.name + ".json")
    from ..localjson import read_json_or_skip

    document = read_json_or_skip(sidecar, "sidecar")
    request = document.get("request") if isinstance(document, dict) else None
    prompt = request.get("prompt") if isinstance(request, dict) else None
    return prompt.strip() if isinstance(prompt, str) and prompt.strip() else None


def resolve_prompt(given: str | None, candidates: list[files.InputImage]) -> tuple[str, str]:
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


def image_info(image: files.InputImage) -> dict[str, Any]:
    return {"path": str(image.path), "format": image.format, "width": image.width, "height": image.height,
            "bytes": len(image.data)}


def manual(targets: list[files.InputImage], prompt: str, source: str) -> dict[str, Any]:
    """Everything an agent needs to review the image itself: rubric, prompts, and the path (never the bytes)."""
    result: dict[str, Any] = {"mode": "manual"}
    if len(targets) == 1:
        result.update(image=str(targets[0].path), image_info=image_info(targets[0]))
        instructions = rubric.manual_instructions()
    else:
        result.update(compare=True, images=[str(t.path) for t in targets],
                      image_info=[image_info(t) for t in targets])
        instructions = (rubric.manual_instructions().replace("the image at `image`", "each image in `images`")
                        + " The better image is the one with the higher score (then higher prompt_adherence).")
    result.update(
        original_prompt=prompt, original_prompt_source=source, rubric=rubric.RUBRIC,
        verdict_rule=rubric.VERDICT_RULE, system_prompt=rubric.SYSTEM_PROMPT,
        user_message=rubric.user_message(prompt), instructions=instructions,
    )
    colours = [blank_colour(target) for target in targets]
    result["warnings"] = [blank.warning(t.path.name, c) + " (rejected: there is nothing to review)"
                          for t, c in zip(targets, colours, strict=True) if c]
    if len(targets) == 1 and colours[0]:  # the verdict is known: nothing for the agent to judge
        found = blank_review(targets[0], colours[0], "none", "none")
        result.update({k: found[k] for k in (*rubric.SCORE_FIELDS, "verdict", "critique", "suggested_refinement",
                                             "looks_blank")})
        result["instructions"] = "The image looks blank (one flat colour): it is rejected as it is; generate it again."
    return result


def estimate_usd(provider: str, model: str, image: InputImage, original_prompt: str) -> float | None:
    """An upper bound for one review (the whole reply allowance counted), or None for a model whose
    price is not known here."""
    route = review_route(provider)
    rates = route.rates.get(model)
    if rates is None:
        return None
    text = (len(rubric.SYSTEM_PROMPT) + len(rubric.user_message(original_prompt))) // 3
    tokens_in = text + route.image_tokens(image)
    return round((tokens_in * rates[0] + MAX_REPLY_TOKENS * rates[1]) / 1_000_000, 6)


RATES_AS_OF = "2026-12-01"  # when the review models' list rates (RATES in the two endpoint modules) were read


def estimate_basis(provider: str, model: str) -> str:
    """Where a review's estimate comes from, or why there is none."""
    rates = review_route(provider).rates.get(model)
    if rates is None:
        return f"price unknown ({model} is not in the built-in table of review rates); the ledger keeps the " \
               "cost the provider reports"
    return (f"an upper bound: the image and prompt tokens at ${rates[0]:g}/M in and the whole {MAX_REPLY_TOKENS}-token "
            f"reply allowance at ${rates[1]:g}/M out (built-in table of {RATES_AS_OF})")


def build_call(provider: str, model: str, image: InputImage, original_prompt: str) -> Call:
    """The exact request for one review (what --dry-run shows and the run sends)."""
    return review_route(provider).call(model, image, rubric.SYSTEM_PROMPT, rubric.user_message(original_prompt),
                                       MAX_REPLY_TOKENS)


def scores_of(reply: ProviderReply, provider: str, model: str) -> dict[str, Any]:
    """The parsed scores with verdict, plus model, usage and cost."""
    try:
        scores = rubric.parse_reply(reply.text)
    except ProviderError as error:
        if reply.finish_reason in ("max_tokens", "length"):
            error.details = f"the reply was cut off (stop reason {reply.finish_reason}); run again"
        raise
    return {**scores, "provider": provider, "model": reply.model or model, "usage": reply.usage or None,
            "cost_usd": reply.cost_usd}


def check_spending(provider: str, model: str, targets: list[InputImage], prompt: str,
                   paid: PaidRun) -> tuple[list[float | None], dict[str, Any], list[str]]:
    """The spending limits a review meets (BudgetError before sending): estimates, the state, notes."""
    each = [estimate_usd(provider, model, t, prompt) for t in targets]
    total = None if None in each else round(sum(e for e in each if e is not None), 6)
    state = paid.authorize(total, model=model, count=len(targets))
    notes = []
    if total is None and "daily_budget_usd" in state:
        notes.append(f"the price of a review by {model} is not known beforehand: it counted as $0 against "
                     "IMAGEGEN_DAILY_BUDGET_USD (the ledger keeps the cost the provider reports)")
    return each, state, notes


def dry_run(targets: list[InputImage], prompt: str, provider: str, model: str, paid: PaidRun) -> dict[str, Any]:
    calls = [build_call(provider, model, t, prompt) for t in targets]
    _, budget, notes = check_spending(provider, model, targets, prompt, paid)
    notes += [blank.warning(t.path.name, colour) + " (it would be rejected without a paid review)"
              for t in targets if (colour := blank_colour(t))]
    shown = [c.display() for c in calls]
    key = "request" if len(shown) == 1 else "requests"
    return {"mode": "auto", "dry_run": True, key: shown[0] if len(shown) == 1 else shown, "provider": provider,
            "model": model, "original_prompt": prompt, "images": [str(t.path) for t in targets],
            "cost_estimate_usd": budget["estimate_usd"], "cost_estimate_basis": estimate_basis(provider, model),
            "budget": budget, "warnings": notes}


def _send(targets: list[InputImage], prompt: str, provider: str, model: str, alias: str | None,
          each: list[float | None], paid: PaidRun) -> list[ProviderReply]:
    calls = [build_call(provider, model, t, prompt) for t in targets]
    outcomes = paid.send_text(calls, model=model, estimate_each=each[0], label=f"reviewing with {model}",
                              alias=alias)
    failures = [o for o in outcomes if isinstance(o, Exception)]
    if failures:
        raise failures[0]
    return outcomes  # type: ignore[return-value]


def _send_with_fallback(targets: list[InputImage], prompt: str, provider: str, chosen: ReviewModel,
                        each: list[float | None], paid: PaidRun) -> tuple[list[ProviderReply], str]:
    """The replies and the model that gave them: a default model its provider says is gone gives way,
    once, to the next in its chain; a named one fails with ``fallback_models``."""
    try:
        return _send(targets, prompt, provider, chosen.id, chosen.alias, each, paid), chosen.id
    except ImageGenError as error:
        if error.kind != "model_unavailable" or not chosen.rest:
            raise with_fallbacks(error, provider, chosen.id, role="review") from None
        following = chosen.rest[0]
        warning = (f"the default review model {chosen.id} is gone ({error.message}); "
                   f"tried {following} instead")
        paid.warnings.append(warning)
        note("warning: " + warning, paid.quiet)
    each = [estimate_usd(provider, following, t, prompt) for t in targets]
    try:
        return _send(targets, prompt, provider, following, chosen.alias, each, paid), following
    except ImageGenError as error:
        error.extra["model"] = following  # the document names the model that failed last
        raise with_fallbacks(error, provider, following, role="review", exclude=(chosen.id,)) from None


def blank_colour(image: InputImage) -> str | None:
    """The one colour of an image that looks blank (PNG only: other formats are not decoded here)."""
    return blank.flat_colour(image.data) if image.format == "png" else None


def blank_review(image: InputImage, colour: str, provider: str, model: str) -> dict[str, Any]:
    """The review of a blank image, made here: nothing to send a model, nothing to pay."""
    return {**{name: 1 for name in rubric.SCORE_FIELDS}, "verdict": "reject",
            "critique": blank.warning(image.path.name, colour).split(";")[0] + ".",
            "suggested_refinement": "Generate the image again; if it comes back blank again, rephrase the prompt.",
            "provider": provider, "model": model, "usage": None, "cost_usd": 0.0, "looks_blank": colour}


def auto(targets: list[InputImage], prompt: str, source: str, provider: str, model: str | ReviewModel,
         paid: PaidRun, *, write_files: bool = True) -> dict[str, Any]:
    """Review one image, or two against the same prompt (in parallel), and record each review.
    Spending limits are checked before anything is sent; each call joins the ledger. An image that
    looks blank (one flat colour) is rejected here, without a paid review."""
    chosen = model if isinstance(model, ReviewModel) else ReviewModel(model)
    colours = [blank_colour(target) for target in targets]
    sent = [target for target, colour in zip(targets, colours, strict=True) if colour is None]
    budget: dict[str, Any] = {"estimate_usd": 0.0}
    notes: list[str] = []
    replies: list[ProviderReply] = []
    model = chosen.id
    if sent:
        each, budget, notes = check_spending(provider, chosen.id, sent, prompt, paid)
        replies, model = _send_with_fallback(sent, prompt, provider, chosen, each, paid)
    paid_reviews = iter([scores_of(reply, provider, model) for reply in replies])
    reviews = [blank_review(target, colour, provider, model) if colour else next(paid_reviews)
               for target, colour in zip(targets, colours, strict=True)]
    warnings: list[str] = notes + list(paid.warnings)
    warnings += [blank.warning(t.path.name, c) + " (rejected without a paid review)"
                 for t, c in zip(targets, colours, strict=True) if c]
    for index, (target, found) in enumerate(zip(targets, reviews, strict=True)):
        other = targets[1 - index] if len(targets) == 2 else None
        found["review_file"] = _write_review_file(target, found, prompt, other, warnings) if write_files else None
    common = {"original_prompt": prompt, "original_prompt_source": source, "provider": provider,
              "model": reviews[0]["model"], "model_alias": chosen.alias, "cost_estimate_usd": budget["estimate_usd"],
              "cost_estimate_basis": estimate_basis(provider, model), "warnings": warnings}
    if len(targets) == 1:
        return {"mode": "auto", **reviews[0], "image": str(targets[0].path), **common}
    winner = rubric.pick_winner(reviews[0], reviews[1])
    costs = [r["cost_usd"] for r in reviews if r["cost_usd"] is not None]
    return {
        "mode": "auto",
        "compare": True,
        "winner": str(targets[winner].path) if winner is not None else None,
        "winner_index": winner,
        "tie": winner is None,
        "reviews": [{"image": str(t.path), **r} for t, r in zip(targets, reviews, strict=True)],
        "cost_usd": round(sum(costs), 6) if costs else None,
        **common,
    }


def choose_model(provider: str, named: str | None) -> ReviewModel:
    """--review-model, else $IMAGEGEN_REVIEW_MODEL when it suits ``provider``, else its default chain."""
    return review_route(provider).model(named, config.default_model("review", ""))


def default_review_model(provider: str) -> str:
    """$IMAGEGEN_REVIEW_MODEL when it suits the provider (OpenRouter ids hold a "/"), else the head of
    the provider's default chain as resolved now."""
    return review_route(provider).model(None, config.default_model("review", "")).id


def run(request: ReviewRequest, paid: PaidRun, context_fields: dict[str, Any]) -> dict[str, Any]:
    """A whole review.py run: load the images, find the prompt, then a manual or an automatic review.
    ``context_fields`` learns the provider and model, for an error document."""
    targets = [load_image(request.image)]
    if request.compare:
        targets.append(load_image(request.compare, flag="--compare"))
        if targets[0].path == targets[1].path:
            raise UsageError("--compare names the same file as --image", details="give a second, different image")
    prompt, source = resolve_prompt(request.original_prompt, targets)
    if not request.auto:
        return manual(targets, prompt, source)
    provider = choose_provider(request.provider, need_key=not paid.options.dry_run)
    chosen = choose_model(provider, request.review_model)
    context_fields.update(provider=provider, model=chosen.id)
    for target in targets:
        check_limits(provider, target)
    if paid.options.dry_run:
        return {**dry_run(targets, prompt, provider, chosen.id, paid), "model_alias": chosen.alias}
    return auto(targets, prompt, source, provider, chosen, paid, write_files=request.review_file)


def review_file_path(image: files.InputImage) -> Path:
    return image.path.with_name(image.path.name + ".review.json")


def _write_review_file(image: files.InputImage, found: dict[str, Any], prompt: str,
                       other: files.InputImage | None, warnings: list[str]) -> str | None:
    """``<image>.review.json`` beside the image, replaced whole; a warning (not a failure) if it cannot be."""
    target = review_file_path(image)
    record = {
        "image": image.path.name,
        "image_sha256": image.sha256,
        "reviewed_at": now_iso(),
        "image_gen_version": __version__,
        "original_prompt": prompt,
        **{k: found[k] for k in (*rubric.SCORE_FIELDS, "verdict", "critique", "suggested_refinement",
                                 "provider", "model")},
        "compared_with": str(other.path) if other is not None else None,
    }
    try:
        write_json_atomic(target, record)
    except OSError as error:
        warnings.append(f"the review of {image.path.name} could not be saved to {target}: {error.strerror or error}")
        return None
    return str(target)
