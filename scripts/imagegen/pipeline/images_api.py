"""OpenRouter's Images API (``POST /images``): the alternative to chat completions.

A GenerationPlan is sent here instead of through ``generation.run_chat`` when ``--api images`` is
given. The body comes from ``payload.images_request``; the reply is read by
``response.parse_b64_list`` and saved by ``generation.save_replies``, so the result and the sidecar
have the same shape whichever endpoint made the image.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import config
from ..spending import guard as spending
from ..providers import bodies as payload
from ..errors import UsageError
from .generate import GenerationPlan, openrouter_headers, save_replies
from ..images.writer import ImageWriter
from ..progress import Ticker

if TYPE_CHECKING:
    from ..http.client import HttpClient

OPTION_FLAGS = (("quality", "--quality"), ("output_format", "--output-format"), ("background", "--background"))


@dataclass(frozen=True)
class ImagesOptions:
    """The Images API options a chat completion has no place for."""

    quality: str | None = None
    output_format: str | None = None
    background: str | None = None

    def record(self) -> dict[str, Any]:
        return {"api": "images", "quality": self.quality, "output_format": self.output_format,
                "background": self.background}


def options_from_args(args: argparse.Namespace) -> ImagesOptions | None:
    """The Images API options for ``--api images``; None for ``--api chat``.

    The options are refused with ``--api chat`` rather than dropped: chat completions cannot
    honour them, and an image silently made without the asked-for transparency is worse than
    an error that names the fix.
    """
    given = [flag for name, flag in OPTION_FLAGS if getattr(args, name, None) is not None]
    if getattr(args, "api", "chat") != "images":
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            raise UsageError(f"{', '.join(given)} only {verb} to the Images API",
                             details="add --api images, or drop " + ", ".join(given))
        return None
    options = ImagesOptions(args.quality, args.output_format, args.background)
    if options.background == "transparent" and options.output_format == "jpeg":
        raise UsageError("--background transparent cannot be saved as JPEG",
                         details="use --output-format png or webp (or leave it out)")
    return options


def apply(plan: GenerationPlan, options: ImagesOptions, upsampling_flag: bool | None) -> None:
    """Adapt a chat-shaped plan to the Images API: record the options, warn about what it cannot take."""
    if plan.system_message:
        plan.warnings.append("the Images API takes no system message; it was not sent (use --api chat for it)")
        plan.system_message = None
    if upsampling_flag is not None:
        plan.warnings.append("the Images API takes no prompt_upsampling; the flag was ignored")
    plan.upsampling = None
    plan.extra_result.update(options.record())


def url() -> str:
    return config.base_url("openrouter") + "/images"


def request_body(plan: GenerationPlan, options: ImagesOptions) -> dict[str, Any]:
    references = [image.data_url() for image in plan.input_images + plan.style_refs]
    return payload.images_request(
        plan.spec, plan.final_prompt, reference_urls=references, aspect_ratio=plan.aspect_ratio,
        resolution=plan.size, n=plan.count, quality=options.quality, output_format=options.output_format,
        background=options.background, seed=plan.seed,
    )


def run(plan: GenerationPlan, options: ImagesOptions, client: HttpClient, writer: ImageWriter, *,
        quiet: bool = False, spend: spending.Spend | None = None, keep_response: bool = False) -> dict[str, Any]:
    """One Images API call for all ``plan.count`` images; save them like a chat generation."""
    spend = spend or spending.Spend.default()
    headers = openrouter_headers(config.api_key("openrouter"))
    target = url()
    writer.check_before_request(plan.count)
    spending.check(plan.estimate_usd, spend.max_cost, model=plan.spec.alias, count=plan.count)
    recorder = spending.CallRecorder(spend, plan.spec.id, plan.estimate_usd)
    body = request_body(plan, options)
    started = time.monotonic()
    with Ticker(f"waiting for {plan.spec.alias} (Images API)", quiet=quiet):
        from ..providers.replies import parse_b64_list

        reply = recorder.call(lambda: parse_b64_list(client.post_json(target, body, headers,
                                                                           spool_dir=writer.target_dir())))
    elapsed_ms = int((time.monotonic() - started) * 1000)
    result = save_replies(plan, [reply], client, writer, elapsed_ms, keep_response=keep_response)
    if result["image_count"] < plan.count:
        result["warnings"].append(f"asked for {plan.count} images, the Images API returned {result['image_count']}")
    result["warnings"] += recorder.warnings
    return result


def execute(plan: GenerationPlan, options: ImagesOptions | None, writer: ImageWriter,
            args: argparse.Namespace, spend: spending.Spend | None = None) -> dict[str, Any]:
    """Send ``plan`` through the endpoint ``--api`` chose (None: chat), or describe it under --dry-run
    (with the spending limits it would meet)."""
    from .generate import client_from_args, dry_run_result, run_chat

    if args.dry_run:
        budget = spending.check(plan.estimate_usd, spend.max_cost if spend else None, model=plan.spec.alias,
                                count=plan.count)
        if options is not None:
            return {**dry_run_result(plan, writer, url(), request_body(plan, options)), "budget": budget}
        chat = config.base_url("openrouter") + "/chat/completions"
        return {**dry_run_result(plan, writer, chat, plan.request_body()), "budget": budget}
    client = client_from_args(args, "openrouter")
    if options is not None:
        return run(plan, options, client, writer, quiet=args.quiet, spend=spend)
    return run_chat(plan, client, writer, quiet=args.quiet, spend=spend)
