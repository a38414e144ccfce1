"""One round of the review loop, as plain values: its price, how its candidates rank, the revision
its review asks for, what the result shows of it, and its images when a killed attempt saved them.

:mod:`pipeline.review_loop` runs the rounds; the queue prices a ``--review`` job with
:func:`loop_estimate` when it is enqueued.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from . import review, rubric

if TYPE_CHECKING:
    from ..requests import GenerateRequest


def review_estimate(plan: Any, provider: str, model: str, count: int) -> float | None:
    """The reviews of one round's ``count`` candidates, priced on the size the plan asks for."""
    width, height = plan.expected_size() or (1024, 1024)
    stand_in: Any = SimpleNamespace(width=width, height=height)  # a review is priced on its size alone
    each = review.estimate_usd(provider, model, stand_in, plan.prompt)
    return None if each is None else round(each * count, 6)


def round_estimate(plan: Any, provider: str, model: str, count: int) -> float | None:
    """One round: its images and their reviews (a review model of unknown price counts as $0; the
    ledger keeps what it really cost, and the loop counts that before the next round)."""
    images = plan.estimate_usd
    return None if images is None else round(images + (review_estimate(plan, provider, model, count) or 0.0), 6)


def loop_estimate(request: GenerateRequest, plan: Any) -> tuple[float | None, float | None]:
    """(one round, every round run) for a request planned as ``plan`` (the queue's estimate; no key needed)."""
    provider = review.choose_provider(request.review_provider, need_key=False)
    model = request.review_model or review.default_review_model(provider)
    each = round_estimate(plan, provider, model, request.best_of)
    rounds = request.max_rounds if request.review else 1
    return each, None if each is None else round(each * rounds, 6)


def loop_basis(request: GenerateRequest, plan: Any) -> str:
    """Where :func:`loop_estimate`'s whole-loop figure comes from, as a result's ``cost_estimate_basis`` says."""
    provider = review.choose_provider(request.review_provider, need_key=False)
    model = request.review_model or review.default_review_model(provider)
    rounds = request.max_rounds if request.review else 1
    capped = f", at most --max-cost {request.max_cost:g}" if request.max_cost is not None else ""
    return (f"every round the loop may run ({rounds}){capped}: each round's {request.best_of} image(s) at "
            f"{plan.estimate.basis}, and their reviews at {review.estimate_basis(provider, model)}")


def rank(verdict: dict[str, Any]) -> tuple[int, int, int]:
    """How good a reviewed candidate is (the order of ``review.py --compare``); a blank one is last."""
    if verdict.get("score") is None:
        return (0, 0, 0)
    return (verdict["score"], verdict.get("prompt_adherence") or 0,
            sum(verdict.get(name) or 0 for name in rubric.SCORE_FIELDS))


def revision_for(entry: dict[str, Any], *, fresh_model: bool = False) -> str:
    """The line the next round adds to the prompt, from this round's review."""
    suggestion = (entry.get("suggested_refinement") or "").strip()
    critique = (entry.get("critique") or "").strip()
    if entry["verdict"] == "refine":
        return f"Refinement from the previous review: {suggestion or critique}"
    if entry.get("score") is None:
        return "The previous attempt came back blank: draw the complete scene with clear subjects and detail."
    if fresh_model:
        return f"Avoid what failed before ({critique})" + (f"; {suggestion}" if suggestion else "")
    return (f"Rework from scratch; the previous attempt was rejected: {critique}"
            + (f" Instead: {suggestion}" if suggestion else ""))


def shown_prompt(prompt: str, revision: str | None) -> str:
    return prompt if not revision else f"{prompt}\n\n{revision}"


def round_view(entry: dict[str, Any]) -> dict[str, Any]:
    view = {key: entry.get(key) for key in ("round", "path", "prompt", "revision", "model", "score", "verdict",
                                            "cost_usd", "critique", "suggested_refinement", "review_file")}
    view["blank"] = entry.get("score") is None
    if len(entry["candidates"]) > 1:
        view["candidates"] = [{key: c.get(key) for key in ("path", "score", "verdict", "cost_usd", "blank",
                                                           "review_file")} for c in entry["candidates"]]
    return view


def adopted(writer: Any, count: int, job_id: str | None, number: int) -> dict[str, Any] | None:
    """The round's images an attempt killed after saving them left, whole with their sidecars naming this
    job and round; None when any is missing (the round is made again)."""
    from ..images.writer import read_png_metadata
    from ..localjson import read_json

    if writer.output_file is None:
        return None
    paths = [writer.planned_name(i) for i in range(count)]
    records = []

    def ours(record: Any) -> bool:
        request = record.get("request") if isinstance(record, dict) else None
        return isinstance(request, dict) and request.get("job_id") == job_id and request.get("review_round") == number

    for path in paths:
        try:
            record = read_json(Path(str(path) + ".json"), follow_links=True)
        except (OSError, ValueError):
            record = None
        if not ours(record) and path.exists():  # killed between the image and its sidecar
            record = read_png_metadata(path)
            if ours(record):
                assert record is not None
                writer.adopt(path, record)
        if not ours(record):
            return None
        records.append(record)
    first = records[0]
    image = first.get("image") if isinstance(first.get("image"), dict) else {}
    costs = [r["result"].get("cost_usd") for r in records if isinstance(r.get("result"), dict)]
    known = [c for c in costs if isinstance(c, (int, float)) and not isinstance(c, bool)]
    return {"path": str(paths[0].resolve()), "all_paths": [str(p.resolve()) for p in paths],
            "model": first["request"].get("model"), "prompt": first["request"].get("prompt"),
            "format": image.get("format"), "width": image.get("width"), "height": image.get("height"),
            "sidecar": str(paths[0]) + ".json", "cost_usd": round(sum(known), 6) if known else None,
            "recovered_from_previous_attempt": True,
            "warnings": ["a round's images from an earlier attempt were found complete; no second call was made"]}
