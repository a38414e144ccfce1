"""Generation: turn resolved options into a request, send it, save what comes back."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .. import __version__, config
from ..prompt import clarify, intent, presets, compose as prompting, steering
from ..images import files as images
from ..providers import bodies as payload
from ..models import registry
from ..spending import guard as spending
from ..prompt import rails as rails_
from ..prompt import baseline as baselines
from ..fsutil import now_iso
from ..errors import ImageGenError, ProviderError, UsageError
from ..http.b64stream import omit_images
from ..images.writer import ImageWriter
from ..progress import Ticker, note

if TYPE_CHECKING:  # the network modules load only when something is sent (start-up stays fast)
    from ..http.client import HttpClient
    from ..images.writer import SavedImage
    from ..providers.replies import ProviderReply

DEFAULT_ASPECT_RATIO = "1:1"
DEFAULT_SIZE = "2K"
MAX_PARALLEL_CALLS = 4


@dataclass
class GenerationPlan:
    """Everything a generation needs, validated; building it touches no network."""

    spec: registry.ModelSpec
    prompt: str
    final_prompt: str
    aspect_ratio: str
    size: str
    count: int = 1
    seed: int | None = None
    preset: presets.Preset | None = None
    system_message: str | None = None
    upsampling: bool | None = None
    style_refs: list[images.InputImage] = field(default_factory=list)
    input_images: list[images.InputImage] = field(default_factory=list)
    instructions: list[str] = field(default_factory=list)  # rails and tooling text, composed before the scene
    warnings: list[str] = field(default_factory=list)
    extra_result: dict[str, Any] = field(default_factory=dict)
    baseline: baselines.Baseline | None = None
    rails: rails_.Rails | None = None
    edit_intent: intent.IntentMatch | None = None
    clarify_hints: list[clarify.Hint] = field(default_factory=list)
    scene: str | None = None  # the prompt as rewritten by --enhance, when that worked
    enhancement: dict[str, Any] | None = None

    @property
    def enhanced_prompt(self) -> str | None:
        return self.final_prompt if self.final_prompt != self.prompt else None

    @property
    def estimate(self) -> registry.Estimate:
        return registry.estimate(self.spec, self.aspect_ratio, self.size, self.count)

    @property
    def estimate_usd(self) -> float | None:
        return self.estimate.usd

    @property
    def estimate_each_usd(self) -> float | None:
        return registry.estimate_usd(self.spec, self.aspect_ratio, self.size, 1)

    def image_urls(self) -> list[str]:
        """Every image sent, in order: the baseline first, then input images, then style references."""
        first = [self.baseline.request_url()] if self.baseline else []
        return first + [image.data_url() for image in self.input_images + self.style_refs]

    def request_body(self) -> dict[str, Any]:
        urls = self.image_urls()
        return payload.chat_request(
            self.spec, self.final_prompt, image_urls=urls, system_message=self.system_message,
            aspect_ratio=self.aspect_ratio, size=self.size, seed=self.seed, upsampling=self.upsampling,
        )

    def summary(self) -> dict[str, Any]:
        return summary(self)

    def request_record(self) -> dict[str, Any]:
        """What the sidecar keeps of the request (no image bytes, no secrets)."""
        return {
            "prompt": self.prompt,
            "enhanced_prompt": self.enhanced_prompt,
            "model": self.spec.id,
            "preset": self.preset.name if self.preset else None,
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
            "baseline_resolution_policy": baselines.RESOLUTION_POLICY,
            "rails_applied": self.rails.record() if self.rails else None,
            "clarify_hints": [hint.to_dict() for hint in self.clarify_hints],
            "instructions": list(self.instructions),
            "prompt_enhancement": self.enhancement,
        }


def _image_record(image: images.InputImage) -> dict[str, Any]:
    return {"path": str(image.path), "sha256": image.sha256, "format": image.format}


def plan_from_args(args: argparse.Namespace, *, default_model: str = registry.DEFAULT_MODEL,
                   instructions: list[str] | tuple[str, ...] = ()) -> GenerationPlan:
    """Resolve CLI > preset > built-in defaults and make every check a run makes before sending.

    Raises the same typed errors a run would (usage, baseline rules, edit intent, strict clarify),
    touching no provider, so a queue can refuse a job at enqueue time exactly as generate.py
    would. ``instructions`` are extra lines from the caller (a queue's "Variant 2 of 4" note):
    they are sent and recorded but never read by the edit-intent or clarify checks.
    ``args.input_image`` may be one path or a list of paths (edit.py takes several).
    """
    prompt = (args.prompt or "").strip()
    if not prompt:
        raise UsageError("--prompt is empty", details="describe the image to generate")
    baseline_given = getattr(args, "baseline_image", None)
    if baseline_given is not None and not str(baseline_given).strip():
        raise UsageError("--baseline-image is empty", details="give a workspace file or an https URL, or leave it out")
    preset = presets.load(args.preset) if getattr(args, "preset", None) else None
    defaults = preset.defaults if preset else {}
    fallback = getattr(args, "fallback_model", None) or default_model
    spec = registry.resolve(args.model or defaults.get("model") or fallback)
    plan = GenerationPlan(
        spec=spec,
        prompt=prompt,
        final_prompt=prompt,
        aspect_ratio=args.aspect_ratio or defaults.get("aspect_ratio") or DEFAULT_ASPECT_RATIO,
        size=args.size or defaults.get("size") or DEFAULT_SIZE,
        count=getattr(args, "n", None) or 1,
        seed=args.seed,
        preset=preset,
    )
    if preset:
        plan.warnings += preset.warnings
    _check_capabilities(plan)
    _resolve_system_message(plan, getattr(args, "system_prompt", None))
    _resolve_upsampling(plan, getattr(args, "prompt_upsampling", None))
    _load_images(plan, args)
    steering.apply_rails(plan, args)
    plan.instructions += [line for line in instructions if line]
    steering.check_prompt(plan, args)
    compose_prompt(plan)
    return plan


def compose_prompt(plan: GenerationPlan) -> None:
    style = plan.preset.style if plan.preset else {}
    plan.final_prompt = prompting.compose(
        plan.spec, plan.scene or plan.prompt, style, reference_count=len(plan.style_refs),
        instructions=plan.instructions, after_baseline=plan.baseline is not None,
    )


def _check_capabilities(plan: GenerationPlan) -> None:
    spec = plan.spec
    if plan.aspect_ratio not in spec.ratios:
        raise UsageError(f"{spec.alias} does not support aspect ratio {plan.aspect_ratio}",
                         details="supported: " + ", ".join(spec.ratios), kind="unsupported")
    if plan.size not in spec.sizes:
        raise UsageError(f"{spec.alias} does not support size {plan.size}",
                         details="supported: " + ", ".join(spec.sizes), kind="unsupported")


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


def _load_images(plan: GenerationPlan, args: argparse.Namespace) -> None:
    spec = plan.spec
    given = getattr(args, "input_image", None)
    inputs = [p for p in (given if isinstance(given, (list, tuple)) else [given]) if p is not None]
    refs = list(getattr(args, "style_ref", []) or [])
    preset_refs = [str(p) for p in plan.preset.reference_images] if plan.preset else []
    given_baseline = getattr(args, "baseline_image", None)
    total = len(inputs) + len(refs) + len(preset_refs) + (1 if given_baseline else 0)
    if total and not spec.image_input:
        raise UsageError(f"{spec.alias} does not accept input, baseline or reference images",
                         details="use flux.2-pro, gpt-5-image or a nanobanana model for reference-guided work",
                         kind="unsupported")
    if total > spec.max_refs:
        raise UsageError(f"{total} images given but {spec.alias} accepts at most {spec.max_refs}",
                         details="drop some --style-ref images (preset reference_images count too)", kind="unsupported")
    if given_baseline:
        plan.baseline = steering.load_baseline(args)
    plan.input_images = [images.load_input_image(p, flag="--input-image") for p in inputs]
    plan.style_refs = [images.load_input_image(p, role="style reference", flag="--style-ref") for p in refs]
    plan.style_refs += [images.load_input_image(p, role="preset reference image", flag="the preset's reference_images")
                        for p in preset_refs]


def openrouter_headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-OpenRouter-Title": "image-gen", "X-Title": "image-gen"}


def dry_run_result(plan: GenerationPlan, writer: ImageWriter, url: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "dry_run": True,
        "request": {"method": "POST", "url": url, "body": payload.redact_for_display(body)},
        "target_paths": [str(writer.planned_name(i)) for i in range(plan.count)],
        **summary(plan),
    }


def summary(plan: GenerationPlan) -> dict[str, Any]:
    """The fields every generation result carries, whatever happened."""
    estimate = plan.estimate
    return {
        "model": plan.spec.id,
        "prompt": plan.prompt,
        "enhanced_prompt": plan.enhanced_prompt,
        "preset": plan.preset.name if plan.preset else None,
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


def run_chat(plan: GenerationPlan, client: HttpClient, writer: ImageWriter, *, quiet: bool = False,
             url: str | None = None, key: str | None = None, spend: spending.Spend | None = None,
             keep_response: bool = False) -> dict[str, Any]:
    """Send the plan's request ``plan.count`` times (at most 4 at once) and save every image.

    The spending guard runs before anything is sent; every call the provider receives joins the ledger.
    ``keep_response`` is passed to :func:`save_replies`.
    """
    spend = spend or spending.Spend.default()
    url = url or config.base_url("openrouter") + "/chat/completions"
    headers = openrouter_headers(key or config.api_key("openrouter"))
    writer.check_before_request(plan.count)
    spending.check(plan.estimate_usd, spend.max_cost, model=plan.spec.alias, count=plan.count)
    body = plan.request_body()
    started = time.monotonic()
    recorder = spending.CallRecorder(spend, plan.spec.id, plan.estimate_each_usd)

    from ..providers.replies import ProviderReply, parse_chat

    spool = writer.target_dir()

    def one_call(_: int) -> ProviderReply:
        return recorder.call(lambda: parse_chat(client.post_json(url, body, headers, spool_dir=spool)))

    with Ticker(f"waiting for {plan.spec.alias}", quiet=quiet):
        if plan.count == 1:
            outcomes: list[ProviderReply | ImageGenError] = [one_call(0)]
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(plan.count, MAX_PARALLEL_CALLS)) as pool:
                outcomes = list(pool.map(_capture(one_call), range(plan.count)))
    replies = [o for o in outcomes if isinstance(o, ProviderReply)]
    failures = [o for o in outcomes if isinstance(o, ImageGenError)]
    if not replies:
        raise failures[0]
    elapsed_ms = int((time.monotonic() - started) * 1000)
    result = save_replies(plan, replies, client, writer, elapsed_ms, keep_response=keep_response)
    for failure in failures:
        result["warnings"].append(f"one of {plan.count} calls failed: {failure.kind}: {failure.message}")
    result["warnings"] += recorder.warnings
    return result


def _capture(function):  # type: ignore[no-untyped-def]
    def wrapper(index: int) -> Any:
        try:
            return function(index)
        except ImageGenError as error:
            return error
    return wrapper


class SavablePlan(Protocol):
    """What save_replies needs of a plan: a GenerationPlan, or another request (the OpenAI edit plan)."""

    warnings: list[str]

    def request_record(self) -> dict[str, Any]: ...

    def summary(self) -> dict[str, Any]: ...


def save_replies(plan: SavablePlan, replies: list[ProviderReply], client: HttpClient, writer: ImageWriter,
                 elapsed_ms: int, *, keep_response: bool = False) -> dict[str, Any]:
    """Save every image of ``replies`` and build the result (paths, the plan's summary, cost, warnings).

    ``keep_response`` adds ``provider_response``: each reply's JSON, one per call, with every inline
    image replaced by its size and sha256 (``inline.omit_images``), for callers that keep records.
    """
    saved: list[SavedImage] = []
    broken: list[ProviderError] = []
    texts: list[str] = []
    documents: list[Any] = []
    costs = [r.cost_usd for r in replies if r.cost_usd is not None]
    for reply in replies:
        if reply.text:
            texts.append(reply.text)
        written: dict[str, tuple[int, str]] = {}
        for source in reply.images:
            metadata = {
                "image_gen_version": __version__,
                "created": now_iso(),
                "request": plan.request_record(),
                "result": {"generation_id": reply.generation_id, "provider": reply.provider,
                           "model": reply.model, "cost_usd": reply.cost_usd, "generation_time_ms": elapsed_ms},
            }
            try:
                image = writer.save(source.chunks(client), len(saved), metadata)
            except ImageGenError as error:
                # The call was answered (and maybe billed): say which generation the failure belongs to,
                # and which images of this run are already on disk.
                error.extra.setdefault("generation_id", reply.generation_id)
                error.extra.setdefault("cost_usd", reply.cost_usd)
                if saved:
                    error.extra.setdefault("saved_paths", [str(s.path.resolve()) for s in saved])
                if not isinstance(error, ProviderError):
                    raise  # the disk failed: the next image would fail the same way
                broken.append(error)  # this image is broken; the others may still be good
                continue
            finally:
                source.close()
            saved.append(image)
            if source.inline is not None:
                written[source.inline.placeholder] = (image.bytes, image.sha256)
        if keep_response:
            documents.append(omit_images(reply.document, written))
    if not saved:
        raise broken[0]
    first = saved[0]
    warnings = list(plan.warnings)
    warnings += [f"an image of this run could not be saved: {e.kind}: {e.message}" for e in broken]
    for image in saved:
        warnings += image.warnings
    result = {
        "path": str(first.path.resolve()),
        "all_paths": [str(s.path.resolve()) for s in saved],
        **plan.summary(),
        "cost_usd": round(sum(costs), 6) if costs else None,
        "generation_time_ms": elapsed_ms,
        "image_count": len(saved),
        "generation_id": replies[0].generation_id,
        "provider": replies[0].provider,
        "format": first.format,
        "width": first.width,
        "height": first.height,
        "sidecar": str(first.sidecar.resolve()) if first.sidecar else None,
        "text_response": "\n\n".join(texts) or None,
        "warnings": warnings,
    }
    if keep_response:
        result["provider_response"] = documents
    return result


def writer_from_args(args: argparse.Namespace, spec: registry.ModelSpec) -> ImageWriter:
    return writer_for_slug(args, spec.slug)


def writer_for_slug(args: argparse.Namespace, slug: str) -> ImageWriter:
    """The writer the output flags (cli.add_output_args) ask for, naming files ``<stamp>-<slug>``."""
    output_file = Path(args.output_file).expanduser() if args.output_file else None
    return ImageWriter(Path(args.output_dir).expanduser(), output_file, slug,
                       overwrite=args.overwrite, sidecars=args.sidecar)


def client_from_args(args: argparse.Namespace, *providers: str) -> HttpClient:
    secrets = [config.api_key(p) for p in providers if config.key_variable(p)]
    from ..http.client import HttpClient

    return HttpClient(timeout=args.timeout, retries=args.retries, secrets=secrets, verbose=not args.quiet)


def notify_warnings(plan: GenerationPlan, quiet: bool) -> None:
    for warning in plan.warnings:
        note("warning: " + warning, quiet)


def notify_hints(hints: list[dict[str, str]], args: argparse.Namespace) -> None:
    """Print clarify hints on stderr when --clarify-hints asked for them (even under --quiet)."""
    if getattr(args, "clarify_hints", False):
        for hint in hints:
            note(clarify.hint_line(hint))
