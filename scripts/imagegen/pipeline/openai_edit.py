"""OpenAI image edits (``POST {OPENAI_BASE_URL}/images/edits``): mask inpainting with gpt-image models.

The multipart form is built by one pure function (:func:`edit_form`) that the run and --dry-run
share. ``response_format`` is never sent: gpt-image models answer it with HTTP 400 and always
return base64 anyway. Replies are read by ``response.parse_b64_list`` and saved by
``generation.save_replies``, so sidecars and results look like every other run's.
"""

from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .. import config
from ..images import files as images, masks
from ..http import multipart
from ..models import registry
from ..spending import guard as spending
from ..http.client import HttpClient
from .edit import parent_record
from ..errors import UsageError
from .generate import client_from_args, save_replies
from ..images.writer import ImageWriter
from ..progress import Ticker
from ..providers.replies import ProviderReply, parse_b64_list

DEFAULT_MODEL = "gpt-image-1"
MAX_IMAGES = 16
MAX_IMAGE_MB = 50
EDIT_FORMATS = ("png", "jpeg", "webp")
SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
FIDELITIES = ("high", "low")
_SIZE = re.compile(r"^(auto|[1-9]\d{1,4}x[1-9]\d{1,4})$")

# USD per million tokens (text in, image in, image out), from OpenAI's price list.
RATES = {"gpt-image-1": (5.0, 10.0, 40.0), "gpt-image-1-mini": (2.0, 2.5, 8.0)}
# Output tokens per image by quality and size, from OpenAI's image generation guide.
OUTPUT_TOKENS = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}


def openai_size(text: str) -> str:
    """argparse type for --openai-size: 1024x1024, 1536x1024, 1024x1536, auto (or WxH for newer models)."""
    value = text.strip().lower()
    if not _SIZE.match(value):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT or auto, got {text!r}; e.g. {', '.join(SIZES)}")
    return value


@dataclass
class OpenAIEditPlan:
    """A checked OpenAI edit request; building it touches no network."""

    prompt: str
    model: str
    images: list[images.InputImage]
    mask: masks.Mask | None = None
    size: str | None = None
    quality: str | None = None
    count: int = 1
    output_format: str | None = None
    background: str | None = None
    input_fidelity: str | None = None
    request_id: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() else "-" for c in self.model.lower()).strip("-") + "-edit"

    @property
    def estimate_usd(self) -> float | None:
        rates = RATES.get(self.model)
        size = self.size if self.size in ("1024x1024", "1536x1024", "1024x1536") else self._nearest_size()
        tokens = OUTPUT_TOKENS["high" if self.quality in (None, "auto") else self.quality].get(size)
        if rates is None or tokens is None:
            return None
        return round(rates[2] * tokens / 1_000_000 * self.count, 4)

    def _nearest_size(self) -> str:
        first = self.images[0]
        if not first.width or not first.height:
            return "1024x1024"
        ratio = first.width / first.height
        return "1536x1024" if ratio > 1.2 else "1024x1536" if ratio < 1 / 1.2 else "1024x1024"

    def form(self) -> tuple[list[tuple[str, str]], list[multipart.FilePart]]:
        return edit_form(self.prompt, self.model, self.images, self.mask, size=self.size, quality=self.quality,
                         n=self.count, output_format=self.output_format, background=self.background,
                         input_fidelity=self.input_fidelity)

    def request_record(self) -> dict[str, Any]:
        return {
            "mode": "openai",
            "prompt": self.prompt,
            "model": self.model,
            "size": self.size,
            "quality": self.quality,
            "n": self.count,
            "output_format": self.output_format,
            "background": self.background,
            "input_fidelity": self.input_fidelity,
            "input_images": [{"path": str(i.path), "sha256": i.sha256, "format": i.format} for i in self.images],
            "mask": self.mask.record() if self.mask else None,
            "parent": parent_record(self.images[0]),
            **self._request_id(),
        }

    def _request_id(self) -> dict[str, Any]:
        return {"request_id": self.request_id} if self.request_id else {}

    def summary(self) -> dict[str, Any]:
        estimate = self.estimate_usd
        return {
            "mode": "openai",
            "model": self.model,
            "prompt": self.prompt,
            "size": self.size,
            "quality": self.quality,
            "output_format": self.output_format,
            "background": self.background,
            "input_fidelity": self.input_fidelity,
            "input_images": [str(i.path) for i in self.images],
            "parent": parent_record(self.images[0]),
            "mask_path": str(self.mask.path) if self.mask and self.mask.path else None,
            "mask": self.mask.record() if self.mask else None,
            "cost_estimate": registry.format_estimate(estimate),
            "cost_estimate_usd": estimate,
            "cost_estimate_is_guess": True,
            **self._request_id(),
        }


def upload_name(image: images.InputImage) -> str:
    """The file's own name, with the extension of its real format (OpenAI trusts the extension)."""
    path = image.path
    real = images.EXTENSIONS[image.format]
    allowed = (".jpg", ".jpeg") if image.format == "jpeg" else (real,)
    return path.name if path.suffix.lower() in allowed else path.stem + real


def edit_form(prompt: str, model: str, inputs: list[images.InputImage], mask: masks.Mask | None, *,
              size: str | None = None, quality: str | None = None, n: int = 1, output_format: str | None = None,
              background: str | None = None, input_fidelity: str | None = None,
              ) -> tuple[list[tuple[str, str]], list[multipart.FilePart]]:
    """The fields and files of an /images/edits form. Options left as None are not sent."""
    fields = [("prompt", prompt), ("model", model), ("n", str(n))]
    optional = (("size", size), ("quality", quality), ("output_format", output_format),
                ("background", background), ("input_fidelity", input_fidelity))
    fields += [(name, value) for name, value in optional if value is not None]
    image_field = "image" if len(inputs) == 1 else "image[]"
    files = [multipart.FilePart(image_field, upload_name(i), i.mime, i.data) for i in inputs]
    if mask is not None:
        name = mask.path.name if mask.path else "mask.png"
        files.append(multipart.FilePart("mask", name, "image/png", mask.data))
    return fields, files


def plan_from_args(args: argparse.Namespace) -> OpenAIEditPlan:
    """Load and check the images and the mask before anything is uploaded."""
    prompt = (args.prompt or "").strip()
    if not prompt:
        raise UsageError("--prompt is empty", details="describe what should appear in the masked area")
    if len(args.input_image) > MAX_IMAGES:
        raise UsageError(f"{len(args.input_image)} input images given; OpenAI edits take at most {MAX_IMAGES}")
    if args.background == "transparent" and args.output_format == "jpeg":
        raise UsageError("--background transparent cannot be saved as JPEG", details="use --output-format png or webp")
    inputs = [images.load_input_image(p, allowed=EDIT_FORMATS, max_mb=MAX_IMAGE_MB) for p in args.input_image]
    plan = OpenAIEditPlan(prompt=prompt, model=args.openai_model or DEFAULT_MODEL, images=inputs,
                          size=args.openai_size, quality=args.quality, count=args.n, output_format=args.output_format,
                          background=args.background, input_fidelity=args.input_fidelity)
    plan.mask = _mask_from_args(args, inputs[0], plan.warnings)
    return plan


def _mask_from_args(args: argparse.Namespace, image: images.InputImage, warnings: list[str]) -> masks.Mask | None:
    if args.mask and args.mask_rect:
        raise UsageError("--mask and --mask-rect cannot be combined",
                         details="give a mask file or rectangles, not both")
    if args.mask_invert and not args.mask_rect:
        raise UsageError("--mask-invert needs --mask-rect",
                         details="it keeps the rectangles and edits the rest; invert a mask file in an image editor")
    if args.mask:
        loaded = images.load_input_image(args.mask, role="mask", max_mb=MAX_IMAGE_MB, flag="--mask")
        if image.width is None:
            warnings.append(f"could not read the size of {image.path.name}; the mask size was not checked")
        return masks.check_mask(loaded, image)
    if args.mask_rect:
        if not image.width or not image.height:
            raise UsageError(f"could not read the size of {image.path}, so --mask-rect cannot be drawn",
                             details="convert the image to PNG, or give a mask file with --mask", kind="mask")
        return masks.draw_mask(image.width, image.height, args.mask_rect, invert=args.mask_invert)
    return None


def write_generated_mask(plan: OpenAIEditPlan, writer: ImageWriter) -> str | None:
    """Save a drawn mask beside the planned output (after checking the folder); its path, or None."""
    if plan.mask is None or not plan.mask.generated:
        return None
    writer.check_before_request()
    return str(masks.save_beside(plan.mask, writer.planned_name(0)))


def url() -> str:
    return config.base_url("openai") + "/images/edits"


def check_spending(plan: OpenAIEditPlan, spend: spending.Spend) -> dict[str, Any]:
    """The spending limits this edit meets; BudgetError (nothing sent) when one refuses it."""
    return spending.check(plan.estimate_usd, spend.max_cost, model=plan.model, count=plan.count)


def dry_run_result(plan: OpenAIEditPlan, writer: ImageWriter, spend: spending.Spend) -> dict[str, Any]:
    fields, files = plan.form()
    ext = images.EXTENSIONS.get(plan.output_format or "png", ".png")
    planned_mask = None
    if plan.mask is not None and plan.mask.generated:
        planned_mask = str(masks.name_beside(writer.planned_name(0)))
    files_shown = [{"field": f.field, "filename": f.filename, "content_type": f.content_type, "bytes": len(f.data)}
                   for f in files]
    return {
        "dry_run": True,
        "request": {"method": "POST", "url": url(), "content_type": "multipart/form-data",
                    "fields": dict(fields), "files": files_shown},
        "target_paths": [str(writer.planned_name(i, ext)) for i in range(plan.count)],
        **plan.summary(),
        "mask_path": planned_mask or (str(plan.mask.path) if plan.mask and plan.mask.path else None),
        "warnings": plan.warnings,
        "budget": check_spending(plan, spend),
    }


def cost_from_usage(model: str, usage: dict[str, Any]) -> float | None:
    """The price of a reply from its token counts, where the model's rates are known."""
    rates = RATES.get(model)
    details = usage.get("input_tokens_details") if isinstance(usage.get("input_tokens_details"), dict) else {}
    counts = (details.get("text_tokens"), details.get("image_tokens"), usage.get("output_tokens"))
    if rates is None or not all(isinstance(c, int) for c in counts):
        return None
    return round(sum(rate * count for rate, count in zip(rates, counts)) / 1_000_000, 6)  # type: ignore[misc]


def run(plan: OpenAIEditPlan, client: HttpClient, writer: ImageWriter, *, quiet: bool = False,
        spend: spending.Spend | None = None) -> dict[str, Any]:
    """Upload the form once (n images in one call) and save what comes back.

    The spending guard runs before anything is sent; the call joins the ledger.
    """
    spend = spend or spending.Spend.default()
    headers = {"Authorization": f"Bearer {config.api_key('openai')}"}
    target = url()
    writer.check_before_request()
    check_spending(plan, spend)
    recorder = spending.CallRecorder(spend, plan.model, plan.estimate_usd)
    content_type, chunks, length = multipart.encode(*plan.form())

    def send() -> ProviderReply:
        reply = parse_b64_list(client.post_multipart(target, content_type, chunks, length, headers,
                                                        spool_dir=writer.target_dir()))
        reply.provider = reply.provider or "OpenAI"
        reply.model = reply.model or plan.model
        cost = cost_from_usage(plan.model, reply.usage)
        if cost is not None:
            reply.usage = {**reply.usage, "cost": cost}
        return reply

    started = time.monotonic()
    with Ticker(f"waiting for {plan.model}", quiet=quiet):
        reply = recorder.call(send)
    elapsed_ms = int((time.monotonic() - started) * 1000)
    result = save_replies(plan, [reply], client, writer, elapsed_ms)
    if reply.cost_usd is not None:
        result["cost_usd_basis"] = "token usage at OpenAI list prices"
    result["warnings"] += recorder.warnings
    return result


def execute(plan: OpenAIEditPlan, writer: ImageWriter, args: argparse.Namespace,
            spend: spending.Spend | None = None) -> dict[str, Any]:
    """Describe the request under --dry-run (with the spending limits it would meet), otherwise send it."""
    spend = spend or spending.Spend.default()
    if args.dry_run:
        return dry_run_result(plan, writer, spend)
    return run(plan, client_from_args(args, "openai"), writer, quiet=args.quiet, spend=spend)

