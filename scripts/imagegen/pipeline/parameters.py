"""The live catalogue's word on a model's parameters: a value OpenRouter's endpoints for the model
do not take is refused (exit 2) before paying."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import UsageError

if TYPE_CHECKING:
    from ..prompt.plan import GenerationPlan
    from .images_options import ImagesOptions


def check_parameters(plan: GenerationPlan, options: ImagesOptions | None) -> None:
    """Refuse (exit 2, before paying) a value the live catalogue says the model's endpoints do not take.

    Without a fresh catalogue the built-in capabilities alone are checked; a model the catalogue
    does not list is sent with a warning that its parameters could not be checked (one warning: an
    alias whose models are all unlisted has its own, from ``models.chains.choose``).
    """
    from .. import config
    from .images_options import OPTION_FLAGS

    if not config.catalogue_path().exists():
        return  # no catalogue cached: the user has not asked for live data
    from ..models import catalogue

    parameters = catalogue.supported_parameters(plan.spec.id)
    if parameters is None:
        live = catalogue.fresh()  # a model it lists without parameters (discovery was down) is still listed
        # An alias's or default's model is unlisted only when its whole chain is: chains.choose said so.
        if live is not None and plan.spec.id not in live.models and plan.spec.requested is None:
            plan.warnings.append(f"{plan.spec.id} is not in the live catalogue: its parameters were not checked")
        return
    from ..providers.openrouter_images import RESOLUTIONS

    asked: list[tuple[str, Any, str]] = [("aspect_ratio", plan.aspect_ratio, "--aspect-ratio"),
                                         ("resolution", RESOLUTIONS.get(plan.size, plan.size), "--size")]
    references = len(plan.input_images) + len(plan.style_refs) + (1 if plan.baseline else 0)
    if references:
        asked.append(("input_references", references, "reference and input images"))
    if plan.seed is not None:
        asked.append(("seed", None, "--seed"))
    if options is not None:
        asked += [(name, getattr(options, name), flag) for name, flag in OPTION_FLAGS
                  if getattr(options, name) is not None]
        if plan.count > 1:
            asked.append(("n", plan.count, "--n"))
    for name, value, flag in asked:
        descriptor = parameters.get(name)
        if descriptor is None and value is not None and name in ("aspect_ratio", "resolution"):
            continue  # chat sends these to every model; a model that ignores them is not refused for them
        if not catalogue.accepts(descriptor, value):
            _refuse(plan.spec.id, name, value, flag, descriptor, catalogue.models_supporting(name, value),
                    plan.spec.provider)


def _refuse(model: str, name: str, value: Any, flag: str, descriptor: Any, others: list[str], route: str) -> None:
    shown = f" {value}" if value is not None and name != "seed" else ""
    allowed = ""
    if isinstance(descriptor, dict) and descriptor.get("type") == "enum":
        allowed = "it takes " + ", ".join(map(str, descriptor.get("values") or [])) + "; "
    elif isinstance(descriptor, dict) and descriptor.get("type") == "range":
        allowed = f"it takes {descriptor.get('min')} to {descriptor.get('max')}; "
    suggestion = ("models that do: " + ", ".join(others[:6])) if others else "drop " + flag
    refusal = UsageError(f"{model} does not support {name}{shown} ({flag}), according to the live catalogue",
                         details=allowed + suggestion, kind="unsupported",
                         extra={"parameter": name, "fallback_models": others[:6]})
    from ..models.alternatives import with_fallbacks  # a refusal only

    raise with_fallbacks(refusal, route, model)
