"""The generation plan: a request resolved against its preset and model, every check made, nothing sent.

:func:`build` runs the same rules whoever asks (generate.py, edit.py's OpenRouter mode, a queue
at enqueue time and again at run time): usage, capabilities, baseline rules, edit intent, strict
clarify. It touches no provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import config
from ..errors import UsageError
from ..images import files
from ..models import registry
from ..models.table import DEFAULT_MODEL, DIRECT_ROUTES, RETIRED_NOTES, ModelSpec
from . import choices, steering
from .compose import compose

if TYPE_CHECKING:  # presets, baselines and rails load only for the runs that use them
    from ..requests import GenerateRequest
    from . import clarify, intent, presets
    from .baseline import Baseline
    from .rails import Rails

DEFAULT_ASPECT_RATIO = "1:1"
DEFAULT_SIZE = "2K"


class GenerationPlan:
    """Everything a generation needs, validated; building it touches no network."""

    def __init__(self, spec: ModelSpec, prompt: str, aspect_ratio: str, size: str, *, count: int = 1,
                 seed: int | None = None, preset: presets.Preset | None = None) -> None:
        self.spec = spec
        self.prompt = prompt
        self.final_prompt = prompt
        self.aspect_ratio = aspect_ratio
        self.size = size
        self.count = count
        self.seed = seed
        self.preset = preset
        self.system_message: str | None = None
        self.upsampling: bool | None = None
        self.style_refs: list[files.InputImage] = []
        self.input_images: list[files.InputImage] = []
        self.instructions: list[str] = []  # rails and tooling text, composed before the scene
        self.warnings: list[str] = []
        self.extra_result: dict[str, Any] = {}
        self.baseline: Baseline | None = None
        self.rails: Rails | None = None
        self.edit_intent: intent.IntentMatch | None = None
        self.clarify_hints: list[clarify.Hint] = []
        self.scene: str | None = None  # the prompt as rewritten by --enhance, when that worked
        self.enhancement: dict[str, Any] | None = None
        self.batch = False  # made by the provider's batch engine (a queue job --via batch): batch prices
        self._estimates: dict[tuple[Any, ...], registry.Estimate] = {}

    def expected_size(self) -> tuple[int, int] | None:
        frame = self.extra_result.get("openai_size")  # the frame OpenAI was asked for
        if isinstance(frame, str) and "x" in frame:
            width, _, height = frame.partition("x")
            return int(width), int(height)
        return registry.pixels(self.aspect_ratio, self.size)

    @property
    def enhanced_prompt(self) -> str | None:
        return self.final_prompt if self.final_prompt != self.prompt else None

    @property
    def estimate(self) -> registry.Estimate:
        return self._estimate(self.count)

    @property
    def estimate_usd(self) -> float | None:
        return self.estimate.usd

    @property
    def estimate_each_usd(self) -> float | None:
        return self._estimate(1).usd

    def _estimate(self, count: int) -> registry.Estimate:
        """The table's price, or what the provider recently charged when that disagrees (never for a
        batch: its lines are priced apart). Made once: a result reports the estimate made before sending."""
        made = (count, self.batch, self.spec.id, self.aspect_ratio, self.size)
        if made not in self._estimates:
            table = registry.estimate(self.spec, self.aspect_ratio, self.size, count, batch=self.batch)
            if not self.batch:
                from ..spending import observed

                table = observed.correct(table, self.price_key(), count)
            self._estimates[made] = table
        return self._estimates[made]

    def price_key(self) -> Any:
        """What this plan's price depends on (``spending.observed.PriceKey``): provider, model, pixel size."""
        from ..spending.observed import PriceKey

        frame = self.expected_size()
        return PriceKey(self.provider, self.spec.id, f"{frame[0]}x{frame[1]}" if frame else self.size)

    @property
    def provider(self) -> str:
        return self.spec.provider

    @property
    def takes_images(self) -> bool:
        """Whether images go with the prompt (a model in its place must accept them too)."""
        return bool(self.baseline or self.input_images or self.style_refs)

    def image_urls(self) -> list[str]:
        """Every image sent, in order: the baseline first, then input images, then style references."""
        first = [self.baseline.request_url()] if self.baseline else []
        return first + [image.data_url() for image in self.input_images + self.style_refs]

    def summary(self) -> dict[str, Any]:
        return summary(self)

    def request_record(self) -> dict[str, Any]:
        """What the sidecar keeps of the request (no image bytes, no secrets)."""
        return {
            "prompt": self.prompt,
            "enhanced_prompt": self.enhanced_prompt,
            "model": self.spec.id,
            "model_alias": self.spec.model_alias,
            "api_provider": self.spec.provider,
            "preset": self.preset.shown if self.preset else None,
            "preset_file": str(self.preset.path) if self.preset else None,
            "aspect_ratio": self.aspect_ratio,
            "size": self.size,
            "seed": self.seed,
            "system_message": self.system_message,
            "prompt_upsampling": self.upsampling,
            "input_images": [_image_record(i) for i in self.input_images],
            "style_refs": [_image_record(i) for i in self.style_refs],
            "baseline": self.baseline.record() if self.baseline else None,
            **self.diagnostics(),
            **self.extra_result,
        }

    def diagnostics(self) -> dict[str, Any]:
        """How the request was read and steered: edit intent, baseline, rails, hints, added text."""
        return {
            "edit_intent_detected": self.edit_intent is not None,
            "edit_intent_phrase": self.edit_intent.phrase if self.edit_intent else None,
            "baseline_applied": self.baseline is not None,
            "baseline_source": self.baseline.source if self.baseline else None,
            "baseline_source_kind": self.baseline.source_kind if self.baseline else None,
            "baseline_resolution_policy": choices.BASELINE_RESOLUTION_POLICY,
            "rails_applied": self.rails.record() if self.rails else None,
            "clarify_hints": [hint.to_dict() for hint in self.clarify_hints],
            "instructions": list(self.instructions),
            "prompt_enhancement": self.enhancement,
        }


def _image_record(image: files.InputImage) -> dict[str, Any]:
    return {"path": str(image.path), "sha256": image.sha256, "format": image.format}


def build(request: GenerateRequest, *, default_model: str = DEFAULT_MODEL,
          role: str = "generate") -> GenerationPlan:
    """Resolve flags > preset > built-in defaults and make every check a run makes before sending.

    Raises the same typed errors a run would (usage, baseline rules, edit intent, strict clarify),
    so a queue can refuse a job at enqueue time exactly as generate.py would. The request's
    ``instructions`` (a queue's "Variation 2 of 4" note) are sent and recorded but never read by
    the edit-intent or clarify checks.
    """
    prompt = request.prompt.strip()
    if not prompt:
        raise UsageError("--prompt is empty", details="describe the image to generate")
    if request.baseline_image is not None and not request.baseline_image.strip():
        raise UsageError("--baseline-image is empty", details="give a workspace file or an https URL, or leave it out")
    preset = None
    if request.preset_set and not request.preset:
        raise UsageError("--preset-set changes a preset, and no --preset was given",
                         details="start from one: --preset default (or a preset of your own)", kind="preset")
    if request.preset:
        from . import presets

        preset = presets.load(request.preset, request.preset_set)
    defaults = preset.defaults if preset else {}
    fallback = config.default_model(role, request.fallback_model or default_model)  # $IMAGEGEN_MODEL and friends
    notes: list[str] = []
    spec = _resolve_model(request, defaults, fallback, notes)
    plan = GenerationPlan(
        spec, prompt,
        aspect_ratio=(request.aspect_ratio or _preset_value(spec, "aspect_ratio", defaults, notes)
                      or DEFAULT_ASPECT_RATIO),
        size=request.size or _preset_value(spec, "size", defaults, notes) or _default_size(spec),
        count=request.n, seed=request.seed, preset=preset,
    )
    plan.warnings += notes + list(spec.notes)
    if preset:
        plan.warnings += preset.warnings
        if preset.changed:
            plan.extra_result["preset_changed"] = list(preset.changed)
    if spec.id in RETIRED_NOTES:
        plan.warnings.append(RETIRED_NOTES[spec.id])
    _check_capabilities(plan)
    _resolve_system_message(plan, request.system_prompt)
    _resolve_upsampling(plan, request.prompt_upsampling)
    _load_images(plan, request)
    if plan.baseline is not None and not request.aspect_ratio and not defaults.get("aspect_ratio"):
        _keep_baseline_frame(plan)
    elif plan.input_images and not request.aspect_ratio and not defaults.get("aspect_ratio"):
        first = plan.input_images[0]  # the image to work from keeps its frame too, as edit.py's does
        if first.width and first.height:
            from .baseline import nearest_ratio

            plan.aspect_ratio = nearest_ratio(first.width, first.height, plan.spec.ratios)
    steering.apply_rails(plan, request)
    plan.instructions += [line for line in request.instructions if line]
    steering.check_prompt(plan, request)
    compose_prompt(plan)
    return plan


def _keep_baseline_frame(plan: GenerationPlan) -> None:
    """A variation or edit of a baseline asks for the ratio the model takes nearest the baseline's,
    so an 84x48 banner is not redrawn square; a link's size is unknown, and the run says so."""
    assert plan.baseline is not None
    frame = plan.baseline.frame()
    if frame is None:
        plan.warnings.append(f"the baseline's size is not known here; asking for {plan.aspect_ratio} "
                             "(pass --aspect-ratio to keep its frame)")
        return
    from .baseline import nearest_ratio

    plan.aspect_ratio = nearest_ratio(*frame, plan.spec.ratios)


def _resolve_model(request: GenerateRequest, defaults: dict[str, Any], fallback: str,
                   notes: list[str]) -> ModelSpec:
    """--model, else the preset's, else the default, for --provider (None: OpenRouter, or the provider a
    bare model id names). On a direct provider a preset's or default model it does not serve gives way
    to the provider's default, with a note; a --model it does not serve is refused."""
    provider = request.provider
    if request.model:
        return registry.resolve(request.model, provider)
    for source, name in (("the preset's model", defaults.get("model")), ("the default model", fallback)):
        if name and registry.serves(provider, name):
            return registry.resolve(name, provider)
        if name and source == "the preset's model":
            notes.append(f"{source} {name} is not served by --provider {provider}; "
                         f"using {registry.default_for(provider)}")
    return registry.resolve(registry.default_for(provider), provider)


def switch_to_successor(plan: GenerationPlan) -> None:
    """Put the next candidate of the plan's model chain in its place (its provider said the model is
    gone); the same alias and prompt, the candidate's capabilities and price: an aspect ratio it does
    not make becomes the nearest one it does, a size it does not make its own default, each with a
    warning. A retired model's note of the move to come is dropped: the move itself is warned."""
    retired = RETIRED_NOTES.get(plan.spec.id)
    plan.warnings[:] = [warning for warning in plan.warnings if warning != retired]
    plan.spec = registry.successor(plan.spec)
    if plan.spec.ratios and plan.aspect_ratio not in plan.spec.ratios:
        from .baseline import nearest_ratio

        across, down = (float(part) for part in plan.aspect_ratio.split(":"))
        ratio = nearest_ratio(across, down, plan.spec.ratios)
        plan.warnings.append(f"{plan.spec.id} does not make aspect ratio {plan.aspect_ratio}: {ratio}, the "
                             "nearest it makes, was asked for instead")
        plan.aspect_ratio = ratio
    if plan.size not in plan.spec.sizes:
        size = _default_size(plan.spec)
        plan.warnings.append(f"{plan.spec.id} does not make size {plan.size}: {size} was asked for instead")
        plan.size = size


def _preset_value(spec: ModelSpec, name: str, defaults: dict[str, Any], notes: list[str]) -> Any:
    """A preset's aspect ratio or size, unless a direct provider's model lacks it (then its default, noted)."""
    value = defaults.get(name)
    allowed = spec.ratios if name == "aspect_ratio" else spec.sizes
    if value and spec.provider in DIRECT_ROUTES and value not in allowed:
        notes.append(f"{spec.id} has no {name.replace('_', ' ')} {value} (the preset's); its default is used")
        return None
    return value


def _default_size(spec: ModelSpec) -> str:
    if spec.provider == "openai":  # OpenAI bills by the pixel: its 1K frames unless a larger size is asked for
        return spec.sizes[0]
    return DEFAULT_SIZE if DEFAULT_SIZE in spec.sizes else spec.sizes[-1]


def compose_prompt(plan: GenerationPlan) -> None:
    style = plan.preset.style if plan.preset else {}
    plan.final_prompt = compose(
        plan.spec, plan.scene or plan.prompt, style, reference_count=len(plan.style_refs),
        instructions=plan.instructions, after_baseline=plan.baseline is not None,
    )


def _unsupported(spec: ModelSpec, message: str, details: str, **asked: Any) -> UsageError:
    """The error for what ``spec`` cannot do, with the live models that can (``fallback_models``;
    ``asked``: image_input, aspect_ratio, size)."""
    from ..models.alternatives import fallback_models

    others = fallback_models(spec.provider, exclude=(spec.id,), **asked)
    return UsageError(message, details=details, kind="unsupported", extra={"fallback_models": others})


def _check_capabilities(plan: GenerationPlan) -> None:
    spec = plan.spec
    if plan.aspect_ratio not in spec.ratios:
        raise _unsupported(spec, f"{spec.alias} does not support aspect ratio {plan.aspect_ratio}",
                           "supported: " + ", ".join(spec.ratios), aspect_ratio=plan.aspect_ratio, size=plan.size)
    if plan.size not in spec.sizes:
        raise _unsupported(spec, f"{spec.alias} does not support size {plan.size}",
                           "supported: " + ", ".join(spec.sizes), aspect_ratio=plan.aspect_ratio, size=plan.size)


def _resolve_system_message(plan: GenerationPlan, cli_value: str | None) -> None:
    message = cli_value or (plan.preset.system_message if plan.preset else None)
    if not message:
        return
    if plan.spec.system_message:
        plan.system_message = message
    elif cli_value:
        plan.warnings.append(f"{plan.spec.alias} takes no system message; --system-prompt was ignored")


def _resolve_upsampling(plan: GenerationPlan, cli_value: bool | None) -> None:
    if plan.spec.upsampling:
        plan.upsampling = True if cli_value is None else cli_value
    elif cli_value is not None:
        plan.warnings.append(f"prompt upsampling is a FLUX feature; ignored for {plan.spec.alias}")


def _load_images(plan: GenerationPlan, request: GenerateRequest) -> None:
    spec = plan.spec
    inputs = list(request.input_images)
    refs = list(request.style_refs)
    preset_refs = [str(p) for p in plan.preset.reference_images] if plan.preset else []
    total = len(inputs) + len(refs) + len(preset_refs) + (1 if request.baseline_image else 0)
    if total and not spec.image_input:
        raise _unsupported(spec, f"{spec.alias} does not accept input, baseline or reference images",
                           "use flux.2-pro, gpt-5-image or a nanobanana model for reference-guided work",
                           image_input=True)
    if total > spec.max_refs:
        raise _unsupported(spec, f"{total} images given but {spec.alias} accepts at most {spec.max_refs}",
                           "drop some --style-ref images (preset reference_images count too)", image_input=True)
    if request.baseline_image:
        plan.baseline = steering.load_baseline(request)
    plan.input_images = [files.load_input_image(p, flag="--input-image") for p in inputs]
    plan.style_refs = [files.load_input_image(p, role="style reference", flag="--style-ref") for p in refs]
    plan.style_refs += [files.load_input_image(p, role="preset reference image", flag="the preset's reference_images")
                        for p in preset_refs]


def summary(plan: GenerationPlan) -> dict[str, Any]:
    """The fields every generation result carries, whatever happened."""
    estimate = plan.estimate
    return {
        "model": plan.spec.id,
        "model_alias": plan.spec.model_alias,
        "api_provider": plan.spec.provider,
        "prompt": plan.prompt,
        "enhanced_prompt": plan.enhanced_prompt,
        "preset": plan.preset.shown if plan.preset else None,
        "preset_file": str(plan.preset.path) if plan.preset else None,
        "aspect_ratio": plan.aspect_ratio,
        "size": plan.size,
        "cost_estimate": registry.format_estimate(estimate.usd),
        "cost_estimate_usd": estimate.usd,
        "cost_estimate_is_guess": estimate.guess,
        "cost_estimate_basis": estimate.basis,
        "style_refs": [str(i.path) for i in plan.style_refs],
        "system_message_used": plan.system_message is not None,
        **plan.diagnostics(),
        **plan.extra_result,
    }
